"""Kinesis batch assembly and partial-failure decisions, with no I/O.

PutRecords takes many records at once but answers per record: a call can half succeed. Keeping
the decisions (what goes in the next call, what is resent, when to give up) pure means they are
tested directly, and the I/O shell in `kinesis.py` only moves bytes."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from messages.backoff import full_jitter_s

__all__ = [
    "MAX_BYTES_PER_CALL",
    "MAX_PARTITION_KEY_LENGTH",
    "MAX_RECORDS_PER_CALL",
    "MAX_RECORD_BYTES",
    "Batcher",
    "Entry",
    "Outcome",
    "RecordTooLarge",
    "RetryPolicy",
    "backoff_s",
    "classify",
]

# Kinesis PutRecords quotas (docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html):
# at most 500 records and 5 MiB per call; a record at most 1 MiB counting data AND partition key.
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
# Partition keys are Unicode strings of 1 to 256 characters (same page).
MAX_PARTITION_KEY_LENGTH = 256


class RecordTooLarge(ValueError):
    """A record Kinesis would refuse whatever we did; it must not enter a batch."""


@dataclass(slots=True)
class Entry:
    """One record on its way to Kinesis; `attempts` counts the calls it has been part of."""

    event_id: str
    partition_key: str
    data: bytes
    enqueued_at: float = 0.0
    attempts: int = 0
    last_error: str = ""

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode())

    def check(self) -> None:
        if not 1 <= len(self.partition_key) <= MAX_PARTITION_KEY_LENGTH:
            raise RecordTooLarge(
                f"partition key of {len(self.partition_key)} characters; "
                f"Kinesis takes 1 to {MAX_PARTITION_KEY_LENGTH}"
            )
        if self.size > MAX_RECORD_BYTES:
            raise RecordTooLarge(
                f"record of {self.size} bytes with its partition key; "
                f"Kinesis takes at most {MAX_RECORD_BYTES}"
            )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded tries, exponential backoff with full jitter (AWS Architecture Blog, "Exponential
    Backoff And Jitter"): a throttled shard recovers fastest when senders spread out."""

    max_attempts: int = 8
    base_s: float = 0.05
    cap_s: float = 2.0


def backoff_s(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Delay before try `attempt + 1`: uniform in [0, min(cap, base * 2**attempt)]."""
    return full_jitter_s(attempt, rng.random(), policy.base_s, policy.cap_s)


@dataclass
class Batcher:
    """Pending records in arrival order, cut into calls by count, size and linger.

    Records due for a resend go back to the FRONT, so for each partition key they still go out
    before anything newer (ordering holds per key, as Kinesis orders per shard)."""

    linger_s: float = 0.05
    max_records: int = MAX_RECORDS_PER_CALL
    max_bytes: int = MAX_BYTES_PER_CALL
    pending: deque[Entry] = field(default_factory=deque)
    pending_bytes: int = 0
    oldest_at: float | None = None

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, entry: Entry, now: float) -> None:
        entry.check()
        self.pending.append(entry)
        self.pending_bytes += entry.size
        if self.oldest_at is None:
            self.oldest_at = now

    def requeue_front(self, entries: Sequence[Entry], now: float) -> None:
        for entry in reversed(entries):
            self.pending.appendleft(entry)
            self.pending_bytes += entry.size
        if entries:
            self.oldest_at = min(now, self.oldest_at) if self.oldest_at is not None else now

    def full(self) -> bool:
        return len(self.pending) >= self.max_records or self.pending_bytes >= self.max_bytes

    def deadline(self) -> float | None:
        """When the oldest pending record has lingered long enough; None when empty."""
        return None if self.oldest_at is None else self.oldest_at + self.linger_s

    def ready(self, now: float, flushing: bool = False) -> bool:
        if not self.pending:
            return False
        deadline = self.deadline()
        return flushing or self.full() or (deadline is not None and now >= deadline)

    def take(self, now: float) -> list[Entry]:
        """The next call's records, in order, within both call limits."""
        batch: list[Entry] = []
        size = 0
        while self.pending and len(batch) < self.max_records:
            entry = self.pending[0]
            if batch and size + entry.size > self.max_bytes:
                break
            batch.append(self.pending.popleft())
            size += entry.size
        self.pending_bytes -= size
        self.oldest_at = now if self.pending else None
        return batch


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one PutRecords answer means for its batch."""

    acked: list[Entry]
    retry: list[Entry]
    dead: list[Entry]

    @property
    def throttled(self) -> bool:
        return bool(self.retry or self.dead)


def classify(
    batch: Sequence[Entry],
    results: Iterable[Mapping[str, Any]] | None,
    policy: RetryPolicy,
    call_error: str = "CallFailed",
) -> Outcome:
    """Split a batch by the PutRecords response (`Records`, in request order), or by a failed
    call when `results` is None: every entry then counts as failed once. Entries out of tries are
    `dead`; the caller spills them where a person can replay them."""
    acked: list[Entry] = []
    retry: list[Entry] = []
    dead: list[Entry] = []
    outcomes: list[Mapping[str, Any] | None] = (
        list(results) if results is not None else [None] * len(batch)
    )
    if len(outcomes) != len(batch):
        # A malformed answer: trust nothing in it, rather than guess which record is which.
        outcomes = [{"ErrorCode": "MalformedResponse"}] * len(batch)
    for entry, result in zip(batch, outcomes, strict=True):
        entry.attempts += 1
        if result is not None and not result.get("ErrorCode"):
            acked.append(entry)
            continue
        entry.last_error = (result or {}).get("ErrorCode") or call_error
        (dead if entry.attempts >= policy.max_attempts else retry).append(entry)
    return Outcome(acked, retry, dead)
