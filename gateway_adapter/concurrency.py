"""Lambda's concurrency limit, as a pure gate: an invocation that would run past a function's
limit is throttled at once (Lambda's TooManyRequestsException, "Rate Exceeded."), never queued.

Queueing was the failure of issue 12: at 1,000 submits/s invocations waited in the thread
pool's unbounded queue until API Gateway's 29 s integration timeout, and were lost without a
word. A throttle answers the client within milliseconds (API Gateway turns a throttled Lambda
into "Internal server error"), so the sender can see it and slow down."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DEFAULT_CONCURRENCY", "REPORT_EVERY_S", "ConcurrencyLimits", "ThrottleReport"]

# Concurrent invocations per function before the next is throttled (Lambda: "Rate Exceeded.",
# TooManyRequestsException). Lambda's account default is 1,000 across functions; a laptop
# cannot run that many, and the in-process runtime has 64 worker threads (the runtime never
# allows more in flight than it can run, so nothing waits in a queue). A function's
# `reservedConcurrency` in serverless.yml sets its own; `--concurrency` sets this one.
DEFAULT_CONCURRENCY = 64

# Throttles are summed into one log line per function at most this often: a flood of them
# must stay a few lines, not one per refused invocation.
REPORT_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class ThrottleReport:
    function: str
    throttled: int
    limit: int

    def line(self) -> str:
        return (
            f"{self.function}: throttled {self.throttled} invocation(s) over its concurrency "
            f"limit of {self.limit} (Rate Exceeded)"
        )


class ConcurrencyLimits:
    """In-flight invocations per function against each function's limit (its
    reservedConcurrency, else `default`)."""

    __slots__ = ("_default", "_in_flight", "_last_report", "_limits", "_throttled")

    def __init__(self, default: int, limits: Mapping[str, int] | None = None) -> None:
        if default < 1:
            raise ValueError(f"the concurrency limit must be at least 1, not {default}")
        self._default = default
        self._limits = dict(limits or {})
        self._in_flight: dict[str, int] = {}
        self._throttled: dict[str, int] = {}
        self._last_report: dict[str, float] = {}

    def limit(self, function: str) -> int:
        return self._limits.get(function, self._default)

    def in_flight(self, function: str) -> int:
        return self._in_flight.get(function, 0)

    def acquire(self, function: str, force: bool = False) -> bool:
        """True when the invocation may start (then `release` it); False: throttled. `force`
        admits it whatever the limit (the emulator's own shutdown, which AWS never has)."""
        running = self._in_flight.get(function, 0)
        if running >= self.limit(function) and not force:
            self._throttled[function] = self._throttled.get(function, 0) + 1
            return False
        self._in_flight[function] = running + 1
        return True

    def release(self, function: str) -> None:
        self._in_flight[function] -= 1

    def report(self, function: str, now: float) -> ThrottleReport | None:
        """The throttles to log for `function` now, or None until REPORT_EVERY_S has passed
        since the last report."""
        throttled = self._throttled.get(function, 0)
        if not throttled or now - self._last_report.get(function, -REPORT_EVERY_S) < (
            REPORT_EVERY_S
        ):
            return None
        self._throttled[function] = 0
        self._last_report[function] = now
        return ThrottleReport(function, throttled, self.limit(function))
