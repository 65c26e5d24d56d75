"""Both paths end here: look subscribers up once per event type, plan one frame per matching
connection, post them all concurrently, and remove the connections that answered 410."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from messages import Event, Source, Stamp, new_event_id, now_ms

from .delivery import Deliverer
from .endpoints import management_endpoint
from .fanout import Plan, Post, plan_posts
from .runtime import ClientPool, LoopThread
from .store import ConnectionStore, Lookup, Subscriber

__all__ = ["FanoutReport", "Pipeline", "record_stamp", "remaining_s", "request_stamp"]


@dataclass(slots=True)
class FanoutReport:
    delivered: int = 0
    filtered: int = 0
    gone: int = 0  # connections removed after a 410
    failed: int = 0  # posts that failed for a retryable reason
    rejected: int = 0
    post_attempts: int = 0  # retries included: more than the posts means throttling
    failed_tags: set[int] = field(default_factory=set)
    lookups: dict[str, Lookup] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """What the invocation's log line reports, the subscriber lookup's cost included (index
        pages and items read: the fan-out's scaling)."""
        return {
            "delivered": self.delivered,
            "filtered": self.filtered,
            "gone": self.gone,
            "failed": self.failed,
            "rejected": self.rejected,
            "post_attempts": self.post_attempts,
            "index_pages": sum(lookup.pages for lookup in self.lookups.values()),
            "index_items": sum(lookup.items for lookup in self.lookups.values()),
        }


class Pipeline:
    """Plain object over injected parts; the handler modules build one while warm."""

    def __init__(
        self,
        store: ConnectionStore,
        deliverer: Deliverer,
        runner: LoopThread,
        environ: Mapping[str, str] = os.environ,
        clients: ClientPool | None = None,
    ) -> None:
        self.store = store
        self.deliverer = deliverer
        self.runner = runner
        self._environ = environ
        self._clients = clients

    def close(self) -> None:
        """Closes the @connections clients (a process that ends; Lambda never calls it)."""
        if self._clients is not None:
            self.runner.run(self._clients.close(), 30)

    def endpoint_of(self, domain_name: str, stage: str) -> str:
        return management_endpoint(domain_name, stage, self._environ)

    def _subscriber_endpoint(self, subscriber: Subscriber) -> str:
        return self.endpoint_of(subscriber.domain_name, subscriber.stage)

    def fan_out(
        self, events: Sequence[tuple[int, Event]], source: Source, timeout_s: float | None = None
    ) -> FanoutReport:
        """`events` are (tag, event) pairs; failed_tags names the ones worth retrying."""
        report = FanoutReport()
        by_type: dict[str, list[tuple[int, Event]]] = {}
        for tag, event in events:
            by_type.setdefault(event.message_type.value, []).append((tag, event))
        posts: list[Post] = []
        for event_type, group in by_type.items():
            lookup = self.store.subscribers(event_type)
            report.lookups[event_type] = lookup
            for tag, event in group:
                plan: Plan = plan_posts(
                    event, source, lookup.subscribers, self._subscriber_endpoint, tag
                )
                report.filtered += plan.filtered
                posts.extend(plan.posts)
        if posts:
            delivery = self.runner.run(self.deliverer.deliver(posts), timeout_s)
            report.delivered = delivery.delivered
            report.failed = delivery.failed
            report.rejected = delivery.rejected
            report.post_attempts = delivery.attempts
            report.failed_tags = delivery.failed_tags
            report.gone = len(delivery.gone)
            if delivery.gone:
                self.store.delete_connections(sorted(delivery.gone))
        return report

    def reply(self, domain_name: str, stage: str, connection_id: str, frame: str) -> bool:
        """A control frame to one connection (a route without a route response)."""
        post = Post(connection_id, self.endpoint_of(domain_name, stage), frame.encode(), 0)
        delivery = self.runner.run(self.deliverer.deliver([post]))
        if delivery.gone:
            self.store.delete_connections(delivery.gone)
        return delivery.delivered == 1


def request_stamp(request_context: Mapping[str, Any]) -> Stamp:
    """An event's id and send time when its submit frame gave none: API Gateway's own ids for
    the frame (`messageId`, else `requestId`) and the time it received it (epoch ms)."""
    event_id = request_context.get("messageId") or request_context.get("requestId") or ""
    received_ms = request_context.get("requestTimeEpoch")
    return Stamp(
        str(event_id) or new_event_id(),
        int(received_ms) if isinstance(received_ms, int | float) else now_ms(),
    )


def record_stamp(record: Mapping[str, Any]) -> Stamp:
    """The same for a Kinesis record: `eventID` (shard id and sequence number, unique across
    the stream) and the time Kinesis accepted it (`approximateArrivalTimestamp`, seconds)."""
    kinesis = record.get("kinesis") or {}
    event_id = record.get("eventID") or kinesis.get("sequenceNumber") or ""
    arrival_s = kinesis.get("approximateArrivalTimestamp")
    return Stamp(
        str(event_id) or new_event_id(),
        round(arrival_s * 1000) if isinstance(arrival_s, int | float) else now_ms(),
    )


def remaining_s(context: Any, reserve_s: float = 1.0) -> float | None:
    """How long a fan-out may wait: the Lambda's remaining time less a reserve to answer."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    remaining_ms: float = remaining()
    return max(0.1, remaining_ms / 1000 - reserve_s)
