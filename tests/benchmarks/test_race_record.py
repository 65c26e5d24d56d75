"""The race's figures as they go into race.json (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks._race_record import lap_figures, summary
from messages import Source


@dataclass
class FakeLap:
    poll_interval: float = 1.0

    def latencies(self, source: Source) -> list[float]:
        return [10.0, 20.0, 30.0] if source is Source.WEBSOCKET else [510.0, 520.0, 530.0]

    def after_ack(self) -> list[float]:
        return [508.0, 518.0, 528.0]

    def put_ack(self) -> list[float]:
        return [2.0, 2.0, 2.0]


def test_summary_of_a_series_and_of_none():
    assert summary([3.0, 1.0, 2.0]) == {"count": 3, "mean": 2.0, "p50": 2.0, "p95": 3.0, "p99": 3.0}
    assert summary([]) == {"count": 0}


def test_a_lap_gives_its_wait_beside_the_expected_half_poll():
    figures, samples = lap_figures(FakeLap())
    assert figures["expected_wait_ms"] == 500.0
    assert figures["poll_wait_ms"] == 518.0 - 20.0  # after the ack, less the WebSocket path
    assert figures["kinesis"]["p50"] == 520.0
    assert samples["websocket"] == [10.0, 20.0, 30.0]
