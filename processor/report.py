"""One report of a fan-out's counts, written by every part that counts: the Deliverer adds
each post's outcome to it as it happens, the pipeline its lookups, slices and removals, the
fan-out worker's progress row its slice's counts. The trigger, the WebSocket path and the
worker log it with the same names (`delivered`, `gone`, `slices_pending`...), which the tests,
the race and the cost model read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .store import Lookup

__all__ = ["PROGRESS_COUNTS", "FanoutReport", "timings"]

# The counts a worker adds to its run's row, as FanoutReport names them.
PROGRESS_COUNTS = (
    "delivered",
    "events_delivered",
    "filtered",
    "gone",
    "abandoned",
    "rejected",
    "dropped",
    "closed",
    "post_attempts",
)


@dataclass(slots=True)
class FanoutReport:
    """`delivered` counts frames delivered (@connections POSTs that succeeded, what API Gateway
    bills), `events_delivered` the events those frames carried (a batched frame carries many)."""

    delivered: int = 0
    events_delivered: int = 0
    filtered: int = 0
    gone: int = 0  # connections removed after a 410
    failed: int = 0  # posts that failed for a reason of the endpoint, after retries
    abandoned: int = 0  # 5xx for one connection while the endpoint delivered to others
    rejected: int = 0
    post_attempts: int = 0  # retries included: more than the posts means throttling
    dropped: int = 0  # frames for clients not reading (429) after their brief retries
    closed: int = 0  # connections deleted for never reading
    rejected_codes: dict[str, int] = field(default_factory=dict)
    failed_tags: set[int] = field(default_factory=set)
    lookups: dict[str, Lookup] = field(default_factory=dict)
    # Where an invocation's time went, for the logs and the race benchmark's breakdown.
    lookup_ms: float = 0.0
    deliver_ms: float = 0.0
    read_units: float = 0.0  # DynamoDB read request units this fan-out consumed
    write_units: float = 0.0  # and write request units (removing gone connections)
    gone_ids: set[str] = field(default_factory=set)
    closed_ids: set[str] = field(default_factory=set)
    # A fan-out that split (processor.split): slices sent, delivered by the trigger itself
    # because SQS would not take them, and still pending when its time was up.
    slices: int = 0
    slices_inline: int = 0
    slices_pending: int = 0

    def add_counts(self, counts: Mapping[str, int]) -> None:
        """What the workers counted for their slices (processor.split.PROGRESS_COUNTS)."""
        for name in PROGRESS_COUNTS:
            setattr(self, name, getattr(self, name) + counts.get(name, 0))

    def progress_counts(self) -> dict[str, int]:
        """What a worker adds to its run's progress row."""
        return {name: getattr(self, name) for name in PROGRESS_COUNTS}

    def counts(self) -> dict[str, int]:
        """What the invocation's log line reports, the subscriber lookup's cost included (index
        pages and items read: the fan-out's scaling)."""
        return {
            "delivered": self.delivered,
            "events_delivered": self.events_delivered,
            "filtered": self.filtered,
            "gone": self.gone,
            "failed": self.failed,
            "abandoned": self.abandoned,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "closed": self.closed,
            "post_attempts": self.post_attempts,
            "index_pages": sum(lookup.pages for lookup in self.lookups.values()),
        }

    def summary(self) -> dict[str, Any]:
        """The counts for the invocation's log line, and why @connections refused posts
        (413, 403...) when it did: those are reported, never retried."""
        summary: dict[str, Any] = dict(self.counts())
        if self.slices:
            summary.update(
                slices=self.slices,
                slices_inline=self.slices_inline,
                slices_pending=self.slices_pending,
            )
        if self.rejected_codes:
            summary["rejected_codes"] = dict(self.rejected_codes)
        return summary

    def capacity(self) -> dict[str, float | int]:
        """What the invocation log reports of DynamoDB use: the cost model reads it."""
        return {
            "read_units": self.read_units,
            "write_units": self.write_units,
            "lookups": len(self.lookups),
            "index_items": sum(lookup.items for lookup in self.lookups.values()),
        }


def timings(report: FanoutReport) -> dict[str, float]:
    """Where a fan-out's time went (ms), for the invocation's log line and the race's
    breakdown."""
    return {"lookup_ms": round(report.lookup_ms, 3), "deliver_ms": round(report.deliver_ms, 3)}
