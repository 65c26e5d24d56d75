"""Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"): throttled senders that spread out uniformly recover fastest. One formula for every
retry loop of Tumble (producer, connection store, fan-out); pure, the randomness injected."""

from __future__ import annotations

__all__ = ["full_jitter_s"]


def full_jitter_s(attempt: int, draw: float, base_s: float, cap_s: float) -> float:
    """Delay before try `attempt + 1`: `draw` (uniform in [0, 1)) times
    min(cap_s, base_s * 2**attempt); attempt counts from 0."""
    scale: int = 2 ** max(0, attempt)
    return draw * min(cap_s, base_s * scale)
