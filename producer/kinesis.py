"""The Kinesis path's I/O: a bounded buffer, one PutRecords call in flight, resends and spills.

One call at a time keeps each partition key in order (a resend goes out before anything newer)
and, with 500-record calls, costs little against a bare put_records loop. The boto3 client is
injected and called in a worker thread, so the event loop keeps taking presses meanwhile.

Order per partition key holds exactly while calls succeed whole. When a call half fails, the
failed entries go out again before anything newer, but an entry of the same key that came after
them in the same call is already in the stream: PutRecords itself gives no more (AWS documents
it as unordered within a call). Consumers dedupe by EventId and may sort by SentAt."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from messages import decode_kinesis_data

from .batching import Batcher, Entry, RecordTooLarge, RetryPolicy, backoff_s, classify
from .deadletter import DeadLetter
from .lifecycle import Warnings, finish_within

__all__ = ["DEFAULT_CAPACITY", "KinesisPath", "KinesisStats"]

# Records buffered before `put` waits: a few calls' worth, so a slow stream pushes back on the
# producer instead of growing memory without bound.
DEFAULT_CAPACITY = 5_000


@dataclass
class KinesisStats:
    sent: int = 0
    retried: int = 0
    spilled: int = 0
    lost: int = 0  # not even the dead-letter file took them; always reported
    calls: int = 0
    failed_calls: int = 0


class KinesisPath:
    def __init__(
        self,
        client: Any,
        stream_name: str,
        *,
        linger_s: float = 0.05,
        capacity: int = DEFAULT_CAPACITY,
        policy: RetryPolicy | None = None,
        dead_letter: DeadLetter | None = None,
        rng: random.Random | None = None,
        on_ack: Callable[[Sequence[Entry], float], None] | None = None,
    ) -> None:
        self.client = client
        self.stream_name = stream_name
        self.batcher = Batcher(linger_s=linger_s)
        self.capacity = max(capacity, 1)
        self.policy = policy or RetryPolicy()
        self.dead_letter = dead_letter
        self.rng = rng or random.Random()
        self.on_ack = on_ack
        self.stats = KinesisStats()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._closing = False
        self._not_before = 0.0
        self._in_flight: list[Entry] = []
        self._task: asyncio.Task[None] | None = None
        self.warnings = Warnings("kinesis")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="kinesis-path")

    async def put(self, entry: Entry) -> None:
        """Queue one record, waiting while the buffer is full (backpressure)."""
        while len(self.batcher) >= self.capacity and not self._closing:
            self._room.clear()
            await self._room.wait()
        try:
            was_empty = not self.batcher.pending
            self.batcher.add(entry, asyncio.get_running_loop().time())
        except RecordTooLarge as error:
            entry.last_error = f"RecordTooLarge: {error}"
            self._spill([entry])
            return
        if was_empty or self.batcher.full() or len(self.batcher) >= self.capacity:
            self._wake.set()
        if self.batcher.full():
            # Let the sender take this call now, so it is on the wire while we keep encoding.
            await asyncio.sleep(0)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if self._closing and not self.batcher.pending:
                return
            # A full buffer doesn't wait out the linger: a producer is blocked on it.
            pressed = self._closing or len(self.batcher) >= self.capacity
            if not self.batcher.ready(now, flushing=pressed):
                deadline = self.batcher.deadline()
                self._wake.clear()
                try:
                    timeout = None if deadline is None else max(0.0, deadline - now)
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
                continue
            if self._not_before > now:
                await asyncio.sleep(self._not_before - now)
            batch = self.batcher.take(loop.time())
            self._room.set()
            await self._send(batch, loop)

    async def _send(self, batch: list[Entry], loop: asyncio.AbstractEventLoop) -> None:
        self._in_flight = batch
        records = [{"Data": e.data, "PartitionKey": e.partition_key} for e in batch]
        results: list[dict[str, Any]] | None = None
        call_error = "CallFailed"
        self.stats.calls += 1
        try:
            response = await asyncio.to_thread(
                self.client.put_records, StreamName=self.stream_name, Records=records
            )
            results = response.get("Records")
        except ClientError as error:
            call_error = error.response.get("Error", {}).get("Code") or type(error).__name__
        except (BotoCoreError, OSError) as error:
            call_error = type(error).__name__
        if results is None:
            self.stats.failed_calls += 1
            self.warnings.once(call_error)
        self._in_flight = []
        outcome = classify(batch, results, self.policy, call_error)
        now = loop.time()
        if outcome.acked:
            self.stats.sent += len(outcome.acked)
            if self.on_ack is not None:
                self.on_ack(outcome.acked, now)
        if outcome.retry:
            self.stats.retried += len(outcome.retry)
            self.batcher.requeue_front(outcome.retry, now)
            worst = max(e.attempts for e in outcome.retry)
            self._not_before = now + backoff_s(worst, self.policy, self.rng)
        if outcome.dead:
            self._spill(outcome.dead)

    async def close(self, timeout_s: float) -> None:
        """Send what is buffered within `timeout_s`; spill whatever is left (with the batch in
        flight, which may also have landed: a replay then makes a duplicate, never a loss)."""
        self._closing = True
        self._wake.set()
        self._room.set()
        await finish_within(self._task, timeout_s)
        leftover = [*self._in_flight, *self.batcher.take(0.0)]
        while self.batcher.pending:
            leftover += self.batcher.take(0.0)
        for entry in leftover:
            entry.last_error = f"FlushTimeout after {entry.attempts} tries ({entry.last_error})"
        self._in_flight = []
        self._spill(leftover)

    def _spill(self, entries: Sequence[Entry]) -> None:
        """To the dead-letter file; if even that fails, the loss is counted and said aloud."""
        if not entries:
            return
        if self.dead_letter is None:
            self.stats.lost += len(entries)
            self.warnings.once("no dead-letter file: records LOST")
            return
        for index, entry in enumerate(entries):
            try:
                self.dead_letter.write(
                    decode_kinesis_data(entry.data),
                    entry.partition_key,
                    entry.last_error,
                    entry.attempts,
                )
            except OSError as error:
                self.stats.lost += len(entries) - index
                self.warnings.once(f"dead-letter file {self.dead_letter.path}: {error}; LOST")
                return
            self.stats.spilled += 1
