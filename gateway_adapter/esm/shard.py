"""One shard's poll loop: a reader that calls GetRecords at Lambda's cadence, and one lane per
ParallelizationFactor slot that invokes the function with one batch at a time, retrying it until
it is resolved (so a failing batch blocks its lane, and its shard when the factor is 1)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from serverless_model.service import StreamTrigger

from .decisions import (
    GET_RECORDS_LIMIT,
    ITERATOR_LIFETIME_S,
    MAX_PAYLOAD_BYTES,
    MIN_READ_SPACING_S,
    Batch,
    CheckpointTracker,
    Pending,
    decide,
    iterator_request,
    lane_of,
    split_expired,
    take_batch,
)
from .destinations import Destinations, dropped_line, on_failure_record
from .events import (
    EventSource,
    KinesisBatchEvent,
    StreamRecord,
    batch_event,
    event_record,
    payload_size,
)
from .leases import SHARD_END, Lease, LeaseLost, LeaseTable

__all__ = ["Invoke", "Mapping", "ShardWorker"]

# Kinesis GetRecords returns at most 10 MB per call (Kinesis API reference): the reader holds at
# most two calls' worth of payload ahead of the lanes.
MAX_BUFFERED_BYTES = 2 * 10 * 1024 * 1024

log = logging.getLogger(__name__)

# (function name, event) -> the handler's result; raises on a function error or timeout.
Invoke = Callable[[str, KinesisBatchEvent], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Mapping:
    """One enabled trigger with what its batches need to name it."""

    trigger: StreamTrigger
    function_arn: str
    region: str
    identity_arn: str


class ShardWorker:
    """Reads one leased shard and invokes the function with its batches."""

    def __init__(
        self,
        mapping: Mapping,
        lease: Lease,
        *,
        kinesis: Any,
        leases: LeaseTable,
        destinations: Destinations,
        invoke: Invoke,
        poll_interval: float,
        iterator_lifetime_s: float = ITERATOR_LIFETIME_S,
    ) -> None:
        self.mapping = mapping
        self.trigger = mapping.trigger
        self.lease = lease
        self.kinesis = kinesis
        self.leases = leases
        self.destinations = destinations
        self.invoke = invoke
        self.poll_interval = poll_interval
        self.iterator_lifetime_s = iterator_lifetime_s
        self.source = EventSource(
            shard_id=lease.shard_id,
            stream_arn=self.trigger.stream_arn,
            region=mapping.region,
            identity_arn=mapping.identity_arn,
        )
        self.lanes = [deque[Pending]() for _ in range(self.trigger.parallelization_factor)]
        self.tracker = CheckpointTracker()
        self.ending_sequence: str | None = None  # set once the shard is seen closed
        self.finished = False  # read to its end and SHARD_END committed
        self.lost = False
        self._stopping = asyncio.Event()
        self._changed = asyncio.Event()  # records queued, a batch done, or the reader ended
        self._reader_done = False
        self._last_read: str | None = None
        self._commit_lock = asyncio.Lock()
        self._first_queued: list[float | None] = [None] * len(self.lanes)
        self._buffered_bytes = 0

    @property
    def buffered(self) -> int:
        return len(self.tracker)

    def stop(self) -> None:
        """Ask the loops to end: the batch being invoked finishes, nothing new starts."""
        self._stopping.set()
        self._changed.set()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._read())
                for index in range(len(self.lanes)):
                    group.create_task(self._lane(index))
            if self._reader_done and not self._stopping.is_set() and not len(self.tracker):
                await self._commit(SHARD_END)
                self.finished = True
        except* LeaseLost:
            self.lost = True
            log.warning("lease %s was taken over; stopped reading it", self.lease.key)
        finally:
            self.stop()

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- reading --------------------------------------------------------------------------

    async def _iterator(self) -> str | None:
        request = iterator_request(
            self.lease.checkpoint, self.lease.starting_timestamp, self._last_read
        )
        if request is None:
            return None
        reply = await self.kinesis.get_shard_iterator(
            StreamName=self.trigger.stream_name, ShardId=self.lease.shard_id, **request
        )
        return str(reply["ShardIterator"])

    def _full(self) -> bool:
        """Whether the reader must wait for the lanes: it reads full GetRecords (as Lambda does,
        and each call counts against the shard's 5 reads per second) while the lanes work on
        the previous one, and a blocked lane stops the reading instead of filling memory."""
        return self.buffered > GET_RECORDS_LIMIT or self._buffered_bytes > MAX_BUFFERED_BYTES

    async def _read(self) -> None:
        iterator: str | None = None
        fetched_at = 0.0
        try:
            while not self._stopping.is_set():
                if self._full():
                    self._changed.clear()
                    await self._changed.wait()
                    continue
                started = time.monotonic()
                if iterator is None or started - fetched_at > self.iterator_lifetime_s:
                    iterator = await self._iterator()
                    fetched_at = time.monotonic()
                    if iterator is None:
                        return
                try:
                    reply = await self.kinesis.get_records(
                        ShardIterator=iterator, Limit=GET_RECORDS_LIMIT
                    )
                except ClientError as error:
                    code = error.response["Error"]["Code"]
                    if code == "ExpiredIteratorException":
                        iterator = None  # renewed after the last record read, never LATEST
                        continue
                    log.warning("GetRecords on %s: %s", self.lease.shard_id, error)
                    await self._sleep(self.poll_interval)
                    continue
                except BotoCoreError as error:
                    log.warning("GetRecords on %s: %s", self.lease.shard_id, error)
                    await self._sleep(self.poll_interval)
                    continue
                records = reply.get("Records") or []
                iterator, fetched_at = reply.get("NextShardIterator"), time.monotonic()
                if records:
                    self._queue([StreamRecord.from_kinesis(raw) for raw in records])
                behind = int(reply.get("MillisBehindLatest") or 0) > 0
                if iterator is None or (not records and not behind and self._at_end()):
                    return
                # behind: back-to-back, within the shard's read quota (or faster, when the
                # poll interval asked for is itself shorter than that spacing)
                if behind or len(records) >= GET_RECORDS_LIMIT:
                    spacing = min(MIN_READ_SPACING_S, self.poll_interval)
                else:
                    spacing = self.poll_interval
                await self._sleep(spacing - (time.monotonic() - started))
        finally:
            self._reader_done = True
            self._changed.set()

    def _at_end(self) -> bool:
        """A closed shard with nothing more to read (moto never ends the iterator chain of a
        closed shard with a null NextShardIterator, as Kinesis does, so it is checked here)."""
        if self.ending_sequence is None:
            return False
        position = self._last_read or self.lease.checkpoint
        return not position.isdigit() or int(position) >= int(self.ending_sequence)

    def _queue(self, records: list[StreamRecord]) -> None:
        now = time.monotonic()
        fixed = self.source.fixed_size
        self.tracker.read(r.sequence_number for r in records)
        for record in records:
            event = event_record(record, self.source)
            lane = lane_of(record.partition_key, len(self.lanes))
            size = payload_size(record, fixed)
            self.lanes[lane].append(Pending(record, event, size))
            self._buffered_bytes += size
            if self._first_queued[lane] is None:
                self._first_queued[lane] = now
        self._last_read = records[-1].sequence_number
        self._changed.set()

    # -- invoking -------------------------------------------------------------------------

    async def _lane(self, index: int) -> None:
        queue = self.lanes[index]
        window = self.trigger.maximum_batching_window_s
        while not self._stopping.is_set():
            if not queue:
                if self._reader_done:
                    return
                self._changed.clear()
                await self._changed.wait()
                continue
            first = self._first_queued[index] or time.monotonic()
            wait = first + window - time.monotonic()
            if (
                wait > 0
                and not self._reader_done
                and len(queue) < self.trigger.batch_size
                and sum(p.size for p in queue) < MAX_PAYLOAD_BYTES
            ):
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
                continue
            items = take_batch(queue, self.trigger.batch_size)
            self._buffered_bytes -= sum(p.size for p in items)
            self._first_queued[index] = time.monotonic() if queue else None
            await self._process(Batch(tuple(items)))
            self._changed.set()  # room for the reader

    async def _process(self, first: Batch) -> None:
        """Invokes until the batch is resolved: done, or discarded to OnFailure."""
        pending = deque([first])
        while pending:
            if self._stopping.is_set():
                return  # not committed: these records are read again by the next owner
            batch = pending.popleft()
            if time.time() >= self.lease.expiry:
                raise LeaseLost(self.lease.key)
            expired, fresh = split_expired(
                batch.items, time.time(), self.trigger.maximum_record_age_s
            )
            if expired:
                await self._discard(expired, "RecordAgeExceeded", batch.retries, False)
                await self._done(expired)
            if not fresh:
                continue
            batch = Batch(tuple(fresh), batch.retries)
            event = batch_event(p.event for p in batch.items)
            try:
                result = await self.invoke(self.trigger.function, event)
                error = False
            except asyncio.CancelledError:
                raise
            except Exception as failure:
                log.info("%s failed on %s: %r", self.trigger.function, self.lease.shard_id, failure)
                result, error = None, True
            outcome = decide(batch, self.trigger, error=error, result=result)
            if outcome.discarded:
                await self._discard(outcome.discarded, outcome.condition, outcome.retries, True)
            await self._done(outcome.done + outcome.discarded)
            if outcome.next:
                if outcome.next[0].retries > batch.retries:
                    await self._sleep(self.poll_interval)  # a retry, not a split
                pending.extendleft(reversed(outcome.next))

    async def _discard(
        self,
        items: list[Pending] | tuple[Pending, ...],
        condition: str | None,
        retries: int,
        invoked: bool,
    ) -> None:
        arn = self.trigger.on_failure_arn
        if not arn:
            # Lambda drops them silently; an emulator says which, so they can be found again.
            log.warning(dropped_line(items, self.lease.shard_id, condition, self.trigger.function))
            return
        record = on_failure_record(
            items=items,
            shard_id=self.lease.shard_id,
            stream_arn=self.trigger.stream_arn,
            function_arn=self.mapping.function_arn,
            condition=condition or "RetryAttemptsExhausted",
            invoke_count=retries + 1 if invoked else retries,
            function_error=invoked,
            now=time.time(),
        )
        await self.destinations.send(arn, record)

    async def _done(self, items: list[Pending] | tuple[Pending, ...]) -> None:
        moved = self.tracker.finish(p.record.sequence_number for p in items)
        if moved is not None:
            await self._commit(moved)

    async def _commit(self, checkpoint: str) -> None:
        async with self._commit_lock:
            current = self.lease.checkpoint
            if checkpoint != SHARD_END and current.isdigit() and int(current) >= int(checkpoint):
                return
            await self.leases.checkpoint(self.lease, checkpoint)
