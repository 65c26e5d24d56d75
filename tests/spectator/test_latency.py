from __future__ import annotations

import pytest

from spectator.latency import LatencyWindow, percentile


def test_percentiles_by_nearest_rank() -> None:
    assert percentile([], 99) is None
    assert percentile([5], 99) == 5
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile(range(1, 101), 99) == 99
    assert percentile(range(1, 101), 90) == 90
    assert percentile([1, 2], 0) == 1


def test_window_keeps_the_last_hundred_and_counts_all() -> None:
    window = LatencyWindow()
    for ms in range(1, 151):
        window.add(ms)
    assert window.count == 150
    assert window.summary() == {"p50": 100.5, "p90": 140, "p99": 149}


def test_negative_latency_from_clock_skew_counts_as_zero() -> None:
    window = LatencyWindow()
    window.add(-3.5)
    assert window.summary()["p99"] == pytest.approx(0.0)
