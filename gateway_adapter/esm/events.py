"""The Kinesis event Lambda hands a stream-triggered function, built exactly as AWS builds it
(field names, base64 data, float arrival time, `eventID` as `shardId:sequenceNumber`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "EventSource",
    "StreamRecord",
    "batch_event",
    "event_record",
    "event_record_size",
    "role_arn",
]


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One record read from a shard; `arrival` is ApproximateArrivalTimestamp in epoch seconds."""

    sequence_number: str
    partition_key: str
    data: bytes
    arrival: float

    @property
    def position(self) -> int:
        """Kinesis sequence numbers are decimal strings that order as integers within a shard."""
        return int(self.sequence_number)

    @classmethod
    def from_kinesis(cls, raw: Mapping[str, Any]) -> StreamRecord:
        """From one GetRecords `Records` item as botocore parses it (bytes data, datetime)."""
        arrival = raw.get("ApproximateArrivalTimestamp")
        arrival_s = arrival.timestamp() if isinstance(arrival, datetime) else float(arrival or 0.0)
        return cls(
            sequence_number=str(raw["SequenceNumber"]),
            partition_key=str(raw["PartitionKey"]),
            data=bytes(raw["Data"]),
            arrival=arrival_s,
        )


@dataclass(frozen=True, slots=True)
class EventSource:
    """What every record of one shard's batches shares."""

    shard_id: str
    stream_arn: str
    region: str
    identity_arn: str


def role_arn(account_id: str, service: str, stage: str, region: str) -> str:
    """The execution role the Serverless Framework creates by default; Lambda puts the function's
    role in `invokeIdentityArn`."""
    return f"arn:aws:iam::{account_id}:role/{service}-{stage}-{region}-lambdaRole"


def event_record(record: StreamRecord, source: EventSource) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.partition_key,
            "sequenceNumber": record.sequence_number,
            "data": base64.b64encode(record.data).decode("ascii"),
            "approximateArrivalTimestamp": record.arrival,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{source.shard_id}:{record.sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": source.identity_arn,
        "awsRegion": source.region,
        "eventSourceARN": source.stream_arn,
    }


def event_record_size(record: dict[str, Any]) -> int:
    """Bytes this record adds to the invocation payload (its JSON plus a separating comma)."""
    return len(json.dumps(record, separators=(",", ":"))) + 1


def batch_event(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": list(records)}
