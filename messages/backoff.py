"""Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"): throttled senders that spread out uniformly recover fastest. One formula for every
retry loop of Tumble (producer, connection store, fan-out); pure, the randomness injected.

It is not part of the wire contract, yet it lives here on purpose: messages/ is the one Tumble
package that both the producer and the processor may import (tests/test_house_rules.py), and
with processor/ the only one the Lambda artifact ships (serverless.yml package.patterns). In
processor/ the producer could not reach it; in a package of its own it would need a third
entry in the artifact for one function."""

from __future__ import annotations

__all__ = ["full_jitter_s"]


def full_jitter_s(attempt: int, draw: float, base_s: float, cap_s: float) -> float:
    """Delay before try `attempt + 1`: `draw` (uniform in [0, 1)) times
    min(cap_s, base_s * 2**attempt); attempt counts from 0."""
    scale: int = 2 ** max(0, attempt)
    return draw * min(cap_s, base_s * scale)
