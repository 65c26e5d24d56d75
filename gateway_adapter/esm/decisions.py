"""Lambda's decisions for Kinesis batches, free of I/O: which records form the next batch, which
partition-key lane a record takes, what happens after an invocation (commit, retry, bisect,
partial retry, discard to OnFailure) and how far the shard's checkpoint may move."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from serverless_model.service import StreamTrigger

from .events import KinesisEventRecord, StreamRecord

__all__ = [
    "CONDITION_RECORD_AGE",
    "CONDITION_RETRIES",
    "GET_RECORDS_LIMIT",
    "ITERATOR_LIFETIME_S",
    "MAX_PAYLOAD_BYTES",
    "MIN_READ_SPACING_S",
    "Batch",
    "CheckpointTracker",
    "Outcome",
    "Pending",
    "decide",
    "failed_index",
    "iterator_request",
    "lane_of",
    "split_expired",
    "take_batch",
]

# Lambda quota: a synchronous invocation payload is at most 6 MB (Lambda quotas page).
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# Kinesis GetRecords returns at most 10,000 records per call (Kinesis API reference).
GET_RECORDS_LIMIT = 10_000
# Kinesis allows 5 GetRecords calls per second per shard (Kinesis quotas): the spacing of reads
# while the poller is behind.
MIN_READ_SPACING_S = 1 / 5
# A Kinesis shard iterator expires 5 minutes after GetShardIterator/GetRecords returned it.
ITERATOR_LIFETIME_S = 300.0
# `requestContext.condition` values of Lambda's OnFailure record for stream sources.
CONDITION_RETRIES = "RetryAttemptsExhausted"
CONDITION_RECORD_AGE = "RecordAgeExceeded"


@dataclass(frozen=True, slots=True)
class Pending:
    """A record read but not yet invoked: its event form and payload size are computed once."""

    record: StreamRecord
    event: KinesisEventRecord
    size: int


def lane_of(partition_key: str, lanes: int) -> int:
    """The concurrent batch a record joins under ParallelizationFactor: a stable hash of its
    partition key, so one key's records stay in one lane and keep their order."""
    if lanes <= 1:
        return 0
    digest = hashlib.md5(partition_key.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % lanes


def take_batch(
    queue: deque[Pending], batch_size: int, max_bytes: int = MAX_PAYLOAD_BYTES
) -> list[Pending]:
    """Pops the next batch: at most batch_size records and max_bytes of payload (always at least
    one record, since a Kinesis record of at most 1 MB fits the 6 MB payload)."""
    batch: list[Pending] = []
    size = len('{"Records":[]}')
    while queue and len(batch) < batch_size:
        item = queue[0]
        if batch and size + item.size > max_bytes:
            break
        batch.append(queue.popleft())
        size += item.size
    return batch


def split_expired(
    batch: Sequence[Pending], now: float, maximum_age_s: float
) -> tuple[list[Pending], list[Pending]]:
    """(expired, fresh): records older than MaximumRecordAgeInSeconds are not invoked."""
    if maximum_age_s < 0:
        return [], list(batch)
    expired = [p for p in batch if now - p.record.arrival > maximum_age_s]
    if not expired:
        return [], list(batch)
    fresh = [p for p in batch if now - p.record.arrival <= maximum_age_s]
    return expired, fresh


def failed_index(result: Any, batch: Sequence[Pending]) -> int | None:
    """Where a ReportBatchItemFailures response says the batch failed: None when it succeeded,
    else the index of the lowest failed sequence number (0 = the whole batch).

    An empty or null response or list is success; a malformed response, or an item whose
    itemIdentifier is null, empty or not in the batch, fails the whole batch (as Lambda does)."""
    if result is None:
        return None
    if not isinstance(result, dict):
        return None if result == "" else 0
    failures = result.get("batchItemFailures")
    if failures is None:
        return None
    if not isinstance(failures, list):
        return 0
    if not failures:
        return None
    index_of = {p.record.sequence_number: i for i, p in enumerate(batch)}
    lowest: int | None = None
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in index_of:
            return 0
        index = index_of[identifier]
        lowest = index if lowest is None else min(lowest, index)
    return lowest


@dataclass(frozen=True, slots=True)
class Batch:
    """Records invoked together, and how many retries of them Lambda has already made."""

    items: tuple[Pending, ...]
    retries: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an invocation leaves: records done (the checkpoint may pass them), records discarded
    (sent to OnFailure, then done as well) and batches to run next, before anything else."""

    done: tuple[Pending, ...] = ()
    discarded: tuple[Pending, ...] = ()
    condition: str | None = None
    retries: int = 0
    next: tuple[Batch, ...] = field(default=())


def _retry(batch: Batch, items: tuple[Pending, ...], trigger: StreamTrigger) -> Outcome:
    """A counted retry, or the discard when MaximumRetryAttempts is used up."""
    limit = trigger.maximum_retry_attempts
    if 0 <= limit <= batch.retries:
        return Outcome(discarded=items, condition=CONDITION_RETRIES, retries=batch.retries)
    return Outcome(next=(Batch(items, batch.retries + 1),))


def decide(batch: Batch, trigger: StreamTrigger, *, error: bool, result: Any = None) -> Outcome:
    """Lambda's answer to one invocation of `batch`.

    - Function error (or a ReportBatchItemFailures response failing the whole batch): with
      BisectBatchOnFunctionError and more than one record, the batch splits in two halves that
      keep the retry count (splits are not retries); otherwise the whole batch is retried,
      counting one retry, until MaximumRetryAttempts is used up and it is discarded.
    - ReportBatchItemFailures (only when the trigger asks for it; otherwise the response is
      ignored): records before the lowest failed one are done; the rest is retried from it
      (with bisection on, the batch is split there instead, which is not a retry)."""
    items = batch.items
    index = (
        0
        if error
        else (failed_index(result, items) if trigger.report_batch_item_failures else None)
    )
    if index is None:
        return Outcome(done=items)
    if index > 0:
        head, rest = items[:index], items[index:]
        if trigger.bisect_batch_on_function_error:
            return Outcome(done=head, next=(Batch(rest, batch.retries),))
        follow = _retry(batch, rest, trigger)
        return Outcome(
            done=head,
            discarded=follow.discarded,
            condition=follow.condition,
            retries=follow.retries,
            next=follow.next,
        )
    if trigger.bisect_batch_on_function_error and len(items) > 1:
        middle = len(items) // 2
        return Outcome(
            next=(Batch(items[:middle], batch.retries), Batch(items[middle:], batch.retries))
        )
    return _retry(batch, items, trigger)


class CheckpointTracker:
    """The highest sequence number the shard's checkpoint may reach: every record up to it is
    done. With several lanes, batches finish out of order; the checkpoint only passes a record
    once all earlier records of the shard are done too."""

    def __init__(self) -> None:
        self._outstanding: deque[str] = deque()
        self._done: set[str] = set()

    def __len__(self) -> int:
        return len(self._outstanding)

    def read(self, sequence_numbers: Iterable[str]) -> None:
        self._outstanding.extend(sequence_numbers)

    def finish(self, sequence_numbers: Iterable[str]) -> str | None:
        """Marks records done; returns the new checkpoint when it moved, else None."""
        self._done.update(sequence_numbers)
        moved: str | None = None
        while self._outstanding and self._outstanding[0] in self._done:
            moved = self._outstanding.popleft()
            self._done.discard(moved)
        return moved


def iterator_request(
    checkpoint: str, starting_timestamp: float | None, last_read: str | None
) -> dict[str, Any] | None:
    """GetShardIterator arguments to (re)start reading: after the last record read, else after
    the checkpoint, else at the lease's starting position. Never LATEST: a LATEST lease keeps the
    time it was created and resumes AT_TIMESTAMP, so records that arrive while no runner holds
    the shard are not skipped. None: the shard was read to its end."""
    position = last_read or checkpoint
    if position == "SHARD_END":
        return None
    if position.isdigit():
        return {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": position}
    if position == "TRIM_HORIZON":
        return {"ShardIteratorType": "TRIM_HORIZON"}
    if position in ("LATEST", "AT_TIMESTAMP") and starting_timestamp is not None:
        return {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": starting_timestamp}
    raise ValueError(f"cannot resume from checkpoint {position!r}")
