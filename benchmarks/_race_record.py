"""The race's figures and raw latencies as JSON (benchmarks.results), kept apart from race.py
so its measurement and printing stay as they are."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from benchmarks import results
from messages import Source

__all__ = ["EMBEDDED", "LOCALSTACK", "record_race", "summary"]


class LapLike(Protocol):
    poll_interval: float

    def latencies(self, source: Source) -> list[float]: ...
    def after_ack(self) -> list[float]: ...
    def put_ack(self) -> list[float]: ...


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """mean, p50, p95, p99 and count of one series of milliseconds (empty: count 0 only)."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "mean": statistics.mean(values),
        "p50": _percentile(values, 0.5),
        "p95": _percentile(values, 0.95),
        "p99": _percentile(values, 0.99),
    }


def lap_figures(lap: LapLike) -> tuple[dict[str, Any], dict[str, list[float]]]:
    websocket_path = lap.latencies(Source.WEBSOCKET)
    kinesis_path = lap.latencies(Source.KINESIS)
    after_ack = lap.after_ack()
    figures: dict[str, Any] = {
        "poll_interval_s": lap.poll_interval,
        "websocket": summary(websocket_path),
        "kinesis": summary(kinesis_path),
        "put_ack": summary(lap.put_ack()),
        "after_ack": summary(after_ack),
        "expected_wait_ms": lap.poll_interval * 500,
    }
    if websocket_path and after_ack:
        figures["poll_wait_ms"] = statistics.mean(after_ack) - statistics.mean(websocket_path)
    samples = {"websocket": websocket_path, "kinesis": kinesis_path, "put_ack": lap.put_ack()}
    return figures, samples


# The backend of a lap (its figures' "backend"); embedded laps keep their keys (`poll_1`).
EMBEDDED = "embedded"
LOCALSTACK = "localstack"


def record_race(
    laps: Mapping[float, LapLike],
    parameters: Mapping[str, Any],
    localstack_laps: Mapping[float, LapLike] | None = None,
) -> None:
    """The embedded laps by poll interval, and those on LocalStack (`localstack_poll_1`...)."""
    figures: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    for backend, prefix, by_poll in (
        (EMBEDDED, "", laps),
        (LOCALSTACK, "localstack_", localstack_laps or {}),
    ):
        for poll_interval, lap in by_poll.items():
            key = f"{prefix}poll_{poll_interval:g}"
            figures[key], samples[key] = lap_figures(lap)
            figures[key]["backend"] = backend
    results.record("race", parameters=parameters, figures=figures, samples=samples)
