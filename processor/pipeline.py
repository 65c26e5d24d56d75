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
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeGuard

from messages import Event, Source, Stamp, new_event_id, now_ms

from .batching import BatchPlanner, Indexed, split_batched
from .delivery import Deliverer
from .endpoints import management_endpoint
from .fanout import Plan, Post, plan_posts
from .lookup import SubscriberLookup, ThreadedLookup
from .removal import GoneRemoval, ThreadedRemoval, remove_logged
from .report import FanoutReport
from .runtime import LoopThread
from .slices import Slice, chunk_events, plan_slices
from .split import SliceQueue
from .store import ConnectionStore, Subscriber

__all__ = [
    "DEFAULT_SLICE_WAIT_S",
    "Pipeline",
    "record_stamp",
    "remaining_s",
    "request_stamp",
]


# How long an invocation without a Lambda context (a shell, a test) waits for its slices, and
# what an invocation keeps of its time to answer after waiting.
DEFAULT_SLICE_WAIT_S = 60.0
SLICE_WAIT_RESERVE_S = 0.5


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
        slices: SliceQueue | None = None,
        removal: GoneRemoval | None = None,
    ) -> None:
        self.store = store
        self.removal = removal or ThreadedRemoval(store)
        self.slices = slices  # the fan-out queue: None, never split
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
        from the handler's thread, however many event types and subscribers; the removal of
        the connections found gone runs in it too."""
        budget_s = timeout_s if timeout_s is not None else DEFAULT_SLICE_WAIT_S
        deadline = time.monotonic() + max(0.0, budget_s - SLICE_WAIT_RESERVE_S)
        return self.runner.run(self._fan_out(events, source, deadline), timeout_s)

    def deliver_slice(self, piece: Slice, timeout_s: float | None = None) -> FanoutReport:
        """A fan-out worker's share of a fan-out that split: the frames planned from the
        slice's events and subscribers exactly as the trigger would have planned them."""
        return self.runner.run(self._deliver_slice(piece), timeout_s)

    async def _deliver_slice(self, piece: Slice) -> FanoutReport:
        report = FanoutReport()
        await self._deliver(_by_type(piece.events), piece.subscribers, piece.source, report)
        await self._remove_gone(report)
        return report

    def count_slice_done(self, piece: Slice, report: FanoutReport) -> bool:
        """Counts a delivered slice in the progress row its trigger waits on; False when it
        was counted before (a redelivery), so nothing is counted twice."""
        if self.slices is None:
            raise RuntimeError("FANOUT_QUEUE is not set: this function has no fan-out queue")
        return self.runner.run(self.slices.progress.count_done(piece, report.progress_counts()))

    def retry_slices_later(self, retries: Sequence[tuple[str, float]]) -> None:
        """Failed slices' messages (receipt handle, seconds) come back after their backoff."""
        if retries and self.slices is not None:
            self.runner.run(self.slices.retry_later(retries), 30)

    async def _remove_gone(self, report: FanoutReport) -> None:
        removed = report.gone_ids | report.closed_ids
        if removed:
            written = await remove_logged(self.removal, sorted(removed))
            if written is not None:
                # One consistent key Query per connection (1 unit: its items are small) and
                # one write unit per item deleted (each under 1 KB).
                report.read_units += len(removed)
                report.write_units += written

    async def _fan_out(
        self, events: Sequence[tuple[int, Event]], source: Source, deadline: float
    ) -> FanoutReport:
        report = FanoutReport()
        by_type = _by_type(events)
        started = time.perf_counter()
        # Each event reads the table as it is now: see processor.lookup on why nothing is cached.
        lookups = await asyncio.gather(*(self.lookup.subscribers(kind) for kind in by_type))
        report.lookup_ms = (time.perf_counter() - started) * 1000
        subscribers: dict[str, Sequence[Subscriber]] = {}
        for event_type, lookup in zip(by_type, lookups, strict=True):
            report.lookups[event_type] = lookup
            report.read_units += lookup.read_units
            subscribers[event_type] = lookup.subscribers
        if self.slices is not None and self._over_budget(by_type, subscribers):
            await self._split(events, subscribers, source, deadline, report)
        else:
            await self._deliver(by_type, subscribers, source, report)
        await self._remove_gone(report)
        return report

    def _over_budget(
        self, by_type: Mapping[str, list[Indexed]], subscribers: Mapping[str, Sequence[Subscriber]]
    ) -> bool:
        """More posts than one slice may hold, counting a batched subscriber as one post per
        type it subscribed to (an upper bound: the slices count it once)."""
        assert self.slices is not None
        limit = self.slices.posts_per_slice
        posts = 0
        for event_type, group in subscribers.items():
            for subscriber in group:
                posts += 1 if subscriber.batched else len(by_type[event_type])
                if posts > limit:
                    return True
        return False

    async def _split(
        self,
        events: Sequence[tuple[int, Event]],
        subscribers: Mapping[str, Sequence[Subscriber]],
        source: Source,
        deadline: float,
        report: FanoutReport,
    ) -> None:
        """The events in rounds that fit a message, each round's subscribers in slices for
        the workers, each round waited for before the next (processor.split says why)."""
        assert self.slices is not None
        queue = self.slices
        started = time.perf_counter()
        reads_before = queue.reads
        for round_events in chunk_events(events):
            per_type = Counter(event.message_type.value for _, event in round_events)
            wanted = {kind: subscribers[kind] for kind in per_type}
            pieces = plan_slices(wanted, per_type, queue.posts_per_slice)
            run = new_event_id()
            round_slices = [
                Slice(run, index, len(pieces), source, list(round_events), dict(piece))
                for index, piece in enumerate(pieces)
            ]
            unsent = await queue.send(round_slices)
            report.slices += len(round_slices)
            report.slices_inline += len(unsent)
            for piece in unsent:  # SQS would not take it: delivered here, once
                await self._deliver(_by_type(piece.events), piece.subscribers, source, report)
            expected = {piece.index for piece in round_slices} - {p.index for p in unsent}
            if expected:
                row = await queue.wait(run, expected, deadline)
                report.slices_pending += len(expected - row.done)
                report.add_counts(row.counts)
        report.read_units += queue.reads - reads_before
        report.deliver_ms = (time.perf_counter() - started) * 1000

    async def _deliver(
        self,
        by_type: Mapping[str, list[Indexed]],
        subscribers: Mapping[str, Sequence[Subscriber]],
        source: Source,
        report: FanoutReport,
    ) -> None:
        """Plans one frame per matching connection (batched ones: one per invocation) and
        posts them all; adds what happened to `report`."""
        posts: list[Post] = []
        # Only the Kinesis path batches: a submit is its own invocation (see the README).
        batching = (
            BatchPlanner(source, self._subscriber_endpoint) if source is Source.KINESIS else None
        )
        for event_type, group in by_type.items():
            receivers = subscribers.get(event_type, ())
            if batching is not None:
                receivers, batched = split_batched(receivers)
                batching.add(group, batched)
            for _, tag, event in group:
                plan: Plan = plan_posts(event, source, receivers, self._subscriber_endpoint, tag)
                report.filtered += plan.filtered
                posts.extend(plan.posts)
        if batching is not None:
            report.filtered += batching.filtered
            posts.extend(batching.posts())
        if posts:
            started = time.perf_counter()
            await self.deliverer.deliver(posts, report)
            report.deliver_ms += (time.perf_counter() - started) * 1000

    def reply(self, domain_name: str, stage: str, connection_id: str, frame: str) -> bool:
        """A control frame to one connection (a route without a route response)."""
        post = Post(connection_id, self.endpoint_of(domain_name, stage), frame.encode(), 0)
        return self.runner.run(self._reply(post))

    async def _reply(self, post: Post) -> bool:
        delivery = await self.deliverer.deliver([post])
        if delivery.gone_ids or delivery.closed_ids:
            await remove_logged(self.removal, sorted(delivery.gone_ids | delivery.closed_ids))
        return delivery.delivered == 1


def _by_type(events: Sequence[tuple[int, Event]]) -> dict[str, list[Indexed]]:
    """The events by type, each with its position in the invocation (the batch's order)."""
    by_type: dict[str, list[Indexed]] = {}
    for position, (tag, event) in enumerate(events):
        by_type.setdefault(event.message_type.value, []).append((position, tag, event))
    return by_type


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
