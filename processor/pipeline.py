"""Both paths end here: look subscribers up once per event type, plan one frame per matching
connection (on the Kinesis path, one batched frame per invocation for the connections that
asked: processor.batching), post them all concurrently, and remove the connections that
answered 410 or that never read. Only a failure of the lookup (it raises) or of the endpoint
fails a record."""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from messages import Event, Source, Stamp, new_event_id, now_ms

from .batching import BatchPlanner, Indexed, split_batched
from .delivery import Deliverer
from .endpoints import management_endpoint
from .fanout import Plan, Post, plan_posts
from .lookup import SubscriberLookup, ThreadedLookup
from .runtime import LoopThread
from .store import ConnectionStore, Lookup, Subscriber

__all__ = [
    "FanoutReport",
    "Pipeline",
    "record_stamp",
    "remaining_s",
    "request_stamp",
    "timings",
]


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
        if not self.rejected_codes:
            return dict(self.counts())
        return {**self.counts(), "rejected_codes": dict(self.rejected_codes)}

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


class Pipeline:
    """Plain object over injected parts; the handler modules build one while warm."""

    def __init__(
        self,
        store: ConnectionStore,
        deliverer: Deliverer,
        runner: LoopThread,
        environ: Mapping[str, str] = os.environ,
        closers: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
        lookup: SubscriberLookup | None = None,
    ) -> None:
        self.store = store
        self.lookup = lookup or ThreadedLookup(store)
        self.deliverer = deliverer
        self.runner = runner
        self._environ = environ
        self._closers = closers

    def close(self) -> None:
        """Closes the @connections clients (a process that ends; Lambda never calls it)."""
        for close in self._closers:
            self.runner.run(close(), 30)

    def endpoint_of(self, domain_name: str, stage: str) -> str:
        return management_endpoint(domain_name, stage, self._environ)

    def _subscriber_endpoint(self, subscriber: Subscriber) -> str:
        return self.endpoint_of(subscriber.domain_name, subscriber.stage)

    def fan_out(
        self, events: Sequence[tuple[int, Event]], source: Source, timeout_s: float | None = None
    ) -> FanoutReport:
        """`events` are (tag, event) pairs; failed_tags names the ones worth retrying. The
        lookups and the posts run as one coroutine on the processor's loop: one hand-over
        from the handler's thread, however many event types and subscribers."""
        report = self.runner.run(self._fan_out(events, source), timeout_s)
        removed = report.gone_ids | report.closed_ids
        if removed:
            written = self.store.delete_connections(sorted(removed))
            # One consistent key Query per connection (1 unit: its items are small) and
            # one write unit per item deleted (each under 1 KB).
            report.read_units += len(removed)
            report.write_units += written
        return report

    async def _fan_out(self, events: Sequence[tuple[int, Event]], source: Source) -> FanoutReport:
        report = FanoutReport()
        by_type: dict[str, list[Indexed]] = {}
        for position, (tag, event) in enumerate(events):
            by_type.setdefault(event.message_type.value, []).append((position, tag, event))
        started = time.perf_counter()
        # Each event reads the table as it is now: see processor.lookup on why nothing is cached.
        lookups = await asyncio.gather(*(self.lookup.subscribers(kind) for kind in by_type))
        report.lookup_ms = (time.perf_counter() - started) * 1000
        posts: list[Post] = []
        # Only the Kinesis path batches: a submit is its own invocation (see the README).
        batching = (
            BatchPlanner(source, self._subscriber_endpoint) if source is Source.KINESIS else None
        )
        for (event_type, group), lookup in zip(by_type.items(), lookups, strict=True):
            report.lookups[event_type] = lookup
            report.read_units += lookup.read_units
            subscribers: Sequence[Subscriber] = lookup.subscribers
            if batching is not None:
                subscribers, batched = split_batched(subscribers)
                batching.add(group, batched)
            for _, tag, event in group:
                plan: Plan = plan_posts(event, source, subscribers, self._subscriber_endpoint, tag)
                report.filtered += plan.filtered
                posts.extend(plan.posts)
        if batching is not None:
            report.filtered += batching.filtered
            posts.extend(batching.posts())
        if posts:
            started = time.perf_counter()
            delivery = await self.deliverer.deliver(posts)
            report.deliver_ms = (time.perf_counter() - started) * 1000
            report.delivered = delivery.delivered
            report.events_delivered = delivery.events_delivered
            report.failed = delivery.failed
            report.abandoned = delivery.abandoned
            report.rejected = delivery.rejected
            report.post_attempts = delivery.attempts
            report.failed_tags = delivery.failed_tags
            report.rejected_codes = delivery.rejected_codes
            report.dropped = delivery.dropped
            report.gone = len(delivery.gone)
            report.closed = len(delivery.closed)
            report.gone_ids, report.closed_ids = delivery.gone, delivery.closed
        return report

    def reply(self, domain_name: str, stage: str, connection_id: str, frame: str) -> bool:
        """A control frame to one connection (a route without a route response)."""
        post = Post(connection_id, self.endpoint_of(domain_name, stage), frame.encode(), 0)
        delivery = self.runner.run(self.deliverer.deliver([post]))
        if delivery.gone or delivery.closed:
            self.store.delete_connections(sorted(delivery.gone | delivery.closed))
        return delivery.delivered == 1


def request_stamp(request_context: Mapping[str, Any]) -> Stamp:
    """An event's id and send time when its submit frame gave none: API Gateway's own ids for
    the frame (`messageId`, else `requestId`) and the time it received it (epoch ms)."""
    event_id = request_context.get("messageId") or request_context.get("requestId") or ""
    received_ms = request_context.get("requestTimeEpoch")
    return Stamp(
        str(event_id) or new_event_id(),
        int(received_ms) if _finite(received_ms) else now_ms(),
    )


def record_stamp(record: Mapping[str, Any]) -> Stamp:
    """The same for a Kinesis record: `eventID` (shard id and sequence number, unique across
    the stream) and the time Kinesis accepted it (`approximateArrivalTimestamp`, seconds)."""
    kinesis = record.get("kinesis") or {}
    event_id = record.get("eventID") or kinesis.get("sequenceNumber") or ""
    arrival_s = kinesis.get("approximateArrivalTimestamp")
    return Stamp(
        str(event_id) or new_event_id(),
        round(arrival_s * 1000) if _finite(arrival_s) else now_ms(),
    )


def _finite(value: object) -> TypeGuard[int | float]:
    """A usable time from AWS's data (an inf or NaN would overflow the arithmetic)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def remaining_s(context: Any, reserve_s: float = 1.0) -> float | None:
    """How long a fan-out may wait: the Lambda's remaining time less a reserve to answer."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return max(0.1, float(remaining()) / 1000 - reserve_s)
