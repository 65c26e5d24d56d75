"""The Kinesis path: decode and validate each record, fan the batch out with one subscriber
lookup per event type, and report only the records worth retrying."""

from __future__ import annotations

import base64
from typing import Any

from messages import Event, Source, ValidationError, decode_kinesis_data

from ..logs import Invocation
from ..pipeline import record_stamp, remaining_s
from ..wiring import pipeline
from . import BatchItemFailure, BatchResponse

__all__ = ["decode_records", "handle"]


def decode_records(
    records: list[dict[str, Any]],
) -> tuple[list[tuple[int, Event]], list[tuple[str, str]]]:
    """(index, event) for the good records; (sequence number, why) for the poison ones, which
    are never retried: another try cannot make them valid. A record without EventId or SentAt
    gets them from the record itself (see record_stamp)."""
    events: list[tuple[int, Event]] = []
    poison: list[tuple[str, str]] = []
    for index, record in enumerate(records):
        kinesis = record.get("kinesis") if isinstance(record, dict) else None
        kinesis = kinesis if isinstance(kinesis, dict) else {}
        sequence = str(kinesis.get("sequenceNumber", f"#{index}"))
        data = kinesis.get("data") or ""
        if not isinstance(data, str):
            poison.append((sequence, f"data: must be base64 text, not {type(data).__name__}"))
            continue
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError as exc:  # binascii.Error, or a non-ASCII string
            poison.append((sequence, f"data: not base64: {exc}"))
            continue
        try:
            events.append((index, decode_kinesis_data(raw, record_stamp(record))))
        except ValidationError as exc:
            poison.append((sequence, str(exc)))
    return events, poison


def handle(event: dict[str, Any], context: Any) -> BatchResponse:
    log = Invocation("send_iot_message", context)
    try:
        records = event.get("Records") or []
        events, poison = decode_records(records)
        log.add(records=len(records), invalid=len(poison))
        for sequence, reason in poison:
            log.warn("dropped a malformed record", sequence_number=sequence, reason=reason)
        report = pipeline().fan_out(events, Source.KINESIS, remaining_s(context))
        log.add(**report.summary(), **report.capacity())
        failures: list[BatchItemFailure] = [
            {"itemIdentifier": records[tag]["kinesis"]["sequenceNumber"]}
            for tag in sorted(report.failed_tags)
        ]
        log.add(retry=len(failures))
        return {"batchItemFailures": failures}
    finally:
        log.done()
