"""The fan-out worker: one slice of a fan-out that split (processor.slices), from the fan-out
queue's SQS event source mapping. It delivers the slice, counts it done in the progress table
the trigger is waiting on, and reports only the slices worth retrying.

A slice fails, and is retried alone, only when its endpoint failed (the failure the Kinesis
path would retry a record for); a failure of one connection stays with it, as in any fan-out.
A failed slice comes back after a backoff of its own (1, 2, 4... s by its receive count, at
most MAX_RETRY_DELAY_S) rather than the queue's visibility timeout, and after maxReceiveCount
receives SQS moves it to the dead-letter queue. A message that is not a slice is logged and
dropped: another try cannot make it one."""

from __future__ import annotations

from typing import Any

from messages.backoff import full_jitter_s

from ..logs import Invocation
from ..pipeline import remaining_s
from ..slices import SliceError, decode_slice
from ..wiring import pipeline
from . import BatchItemFailure, BatchResponse

__all__ = ["MAX_RETRY_DELAY_S", "handle"]

MAX_RETRY_DELAY_S = 30.0


def retry_delay_s(receive_count: int) -> float:
    """The wait before a failed slice's next try: doubling from 1 s with its receives
    (no jitter: the slices of one endpoint's outage may well come back together)."""
    return full_jitter_s(max(0, receive_count - 1), 1.0, 1.0, MAX_RETRY_DELAY_S)


def handle(event: dict[str, Any], context: Any) -> BatchResponse:
    log = Invocation("fanout_worker", context)
    parts = pipeline()
    failures: list[BatchItemFailure] = []
    retries: list[tuple[str, float]] = []
    try:
        records = event.get("Records") or []
        log.add(records=len(records))
        for record in records:
            message_id = str(record.get("messageId", ""))
            try:
                piece = decode_slice(str(record.get("body", "")))
            except SliceError as exc:
                log.add(invalid=1)
                log.warn("dropped a non-slice", message_id=message_id, reason=str(exc))
                continue
            receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
            log.add(slice=f"{piece.run}/{piece.index}", message_id=message_id, receives=receives)
            report = parts.deliver_slice(piece, remaining_s(context))
            log.add(**report.summary(), **report.capacity(), connections=piece.connections)
            if report.failed_tags:  # the endpoint failed: the whole slice is tried again
                failures.append({"itemIdentifier": message_id})
                retries.append((str(record.get("receiptHandle", "")), retry_delay_s(receives)))
                continue
            if not parts.count_slice_done(piece, report):
                log.add(counted_before=1)  # a redelivered slice: its counts are in already
        parts.retry_slices_later(retries)
        log.add(retry=len(failures))
        return {"batchItemFailures": failures}
    finally:
        log.done()
