"""Latency per path over the last events, the same numbers the race page shows."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence

__all__ = ["LATENCY_WINDOW", "LatencyWindow", "percentile"]

LATENCY_WINDOW = 100


def percentile(samples: Iterable[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); p=50 of an even count takes the two middle ones'
    mean, as the page does."""
    ordered: Sequence[float] = sorted(samples)
    if not ordered:
        return None
    if p == 50:
        mid = len(ordered) // 2
        return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    rank = min(len(ordered), max(1, math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


class LatencyWindow:
    def __init__(self, size: int = LATENCY_WINDOW) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self.count = 0

    def add(self, ms: float) -> None:
        """Clock skew between hosts can make a sample negative; it counts as 0."""
        self._samples.append(max(0.0, ms))
        self.count += 1

    def summary(self) -> dict[str, float | None]:
        return {p: percentile(self._samples, q) for p, q in (("p50", 50), ("p90", 90), ("p99", 99))}
