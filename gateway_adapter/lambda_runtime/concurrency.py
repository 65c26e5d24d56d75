"""Lambda's concurrency, as a pure account pool: every function scales on its own out of one
pool per account and Region; a function with `reservedConcurrency` takes that much out of the
pool for itself alone and never runs more. An invocation past its limit is throttled at once
(TooManyRequestsException, HTTP 429, with Lambda's Reason), never queued.

How it maps onto one machine: admission follows AWS (1,000 in flight by default, across the
functions), but a laptop cannot run 1,000 handlers at once. An admitted invocation therefore
waits for one of its own function's local execution slots (threads in process, sandboxes from
an artifact; `runtime.LambdaRuntime`), each function in its own queue, so a flooded fan-out
queues behind itself and never in front of `$connect`. Lambda would have started another
execution environment instead; locally the invocation is late, not refused. Issue 12's lost
submits (queued 29 s behind one shared pool) stay impossible: the queue is bounded by the
pool, and API Gateway's 29 s integration timeout still cuts every call off."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ACCOUNT_LIMIT",
    "DEFAULT_ACCOUNT_CONCURRENCY",
    "MIN_UNRESERVED_CONCURRENCY",
    "REPORT_EVERY_S",
    "RESERVED_LIMIT",
    "ConcurrencyPool",
    "ThrottleReport",
]

# Lambda quotas: "Concurrent executions: 1,000" per account and Region, adjustable
# (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). `--account-concurrency`
# sets another pool.
DEFAULT_ACCOUNT_CONCURRENCY = 1000
# "You can reserve up to the Unreserved account concurrency value that is shown, minus 100 for
# functions that don't have reserved concurrency"
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html); a deploy that
# reserves more fails with InvalidParameterValueException.
MIN_UNRESERVED_CONCURRENCY = 100
# TooManyRequestsException's Reason values (Lambda API reference, Invoke errors).
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"

# Throttles are summed into one log line per function at most this often: a flood of them
# must stay a few lines, not one per refused invocation.
REPORT_EVERY_S = 1.0


@dataclass(frozen=True, slots=True)
class ThrottleReport:
    function: str
    throttled: int
    limit: int
    reason: str

    def line(self) -> str:
        return (
            f"{self.function}: throttled {self.throttled} invocation(s) over its concurrency "
            f"limit of {self.limit} (TooManyRequestsException, {self.reason})"
        )


class ConcurrencyPool:
    """In-flight invocations per function against the account pool and the reservations.

    A reserved function is capped at its reservation (0 switches it off, as on AWS); the others
    share what the reservations leave of the pool, whichever of them needs it."""

    __slots__ = (
        "_in_flight",
        "_last_report",
        "_reserved",
        "_throttled",
        "_unreserved_in_flight",
        "account",
        "unreserved",
    )

    def __init__(
        self,
        account: int = DEFAULT_ACCOUNT_CONCURRENCY,
        reserved: Mapping[str, int] | None = None,
        min_unreserved: int = MIN_UNRESERVED_CONCURRENCY,
    ) -> None:
        if account < 1:
            raise ValueError(f"the account concurrency must be at least 1, not {account}")
        self._reserved = dict(reserved or {})
        total = sum(self._reserved.values())
        if total and account - total < min_unreserved:
            raise ValueError(
                f"reservedConcurrency of {total} in all leaves {account - total} of the "
                f"account's {account} for the other functions; AWS keeps at least "
                f"{min_unreserved} unreserved (InvalidParameterValueException)"
            )
        self.account = account
        self.unreserved = account - total
        self._in_flight: dict[str, int] = {}
        self._unreserved_in_flight = 0
        self._throttled: dict[str, int] = {}
        self._last_report: dict[str, float] = {}

    def limit(self, function: str) -> int:
        """The most of `function` that can ever run at once."""
        return self._reserved.get(function, self.unreserved)

    def in_flight(self, function: str) -> int:
        return self._in_flight.get(function, 0)

    def acquire(self, function: str, force: bool = False) -> str | None:
        """None when the invocation may start (then `release` it), else the throttle's Reason.
        `force` admits it whatever the limits (the emulator's own shutdown, which AWS never
        has)."""
        running = self._in_flight.get(function, 0)
        reserved = self._reserved.get(function)
        if not force:
            if reserved is not None and running >= reserved:
                self._throttled[function] = self._throttled.get(function, 0) + 1
                return RESERVED_LIMIT
            if reserved is None and self._unreserved_in_flight >= self.unreserved:
                self._throttled[function] = self._throttled.get(function, 0) + 1
                return ACCOUNT_LIMIT
        self._in_flight[function] = running + 1
        if reserved is None:
            self._unreserved_in_flight += 1
        return None

    def release(self, function: str) -> None:
        self._in_flight[function] -= 1
        if function not in self._reserved:
            self._unreserved_in_flight -= 1

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
        reason = RESERVED_LIMIT if function in self._reserved else ACCOUNT_LIMIT
        return ThrottleReport(function, throttled, self.limit(function), reason)
