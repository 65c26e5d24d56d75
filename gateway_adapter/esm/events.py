"""The Kinesis event Lambda hands a stream-triggered function, built exactly as AWS builds it
(field names, base64 data, float arrival time, `eventID` as `shardId:sequenceNumber`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import Any, Literal, TypedDict

__all__ = [
    "EventSource",
    "KinesisBatchEvent",
    "KinesisData",
    "KinesisEventRecord",
    "StreamRecord",
    "batch_event",
    "event_record",
    "payload_size",
    "raw_kinesis_parsing",
    "role_arn",
]


class KinesisData(TypedDict):
    kinesisSchemaVersion: Literal["1.0"]
    partitionKey: str
    sequenceNumber: str
    data: str  # base64
    approximateArrivalTimestamp: float  # epoch seconds


class KinesisEventRecord(TypedDict):
    kinesis: KinesisData
    eventSource: Literal["aws:kinesis"]
    eventVersion: Literal["1.0"]
    eventID: str  # shardId:sequenceNumber
    eventName: Literal["aws:kinesis:record"]
    invokeIdentityArn: str
    awsRegion: str
    eventSourceARN: str


class KinesisBatchEvent(TypedDict):
    Records: list[KinesisEventRecord]


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """One record read from a shard: its data still base64-encoded (as the event carries it) and
    `arrival`, ApproximateArrivalTimestamp, in epoch seconds."""

    sequence_number: str
    partition_key: str
    data_b64: str
    arrival: float

    @classmethod
    def from_kinesis(cls, raw: Mapping[str, Any]) -> StreamRecord:
        """From one GetRecords `Records` item, parsed by botocore's defaults (bytes, datetime) or
        left raw (base64 text, epoch number: see `raw_kinesis_parsing`)."""
        arrival = raw.get("ApproximateArrivalTimestamp")
        arrival_s = arrival.timestamp() if isinstance(arrival, datetime) else float(arrival or 0.0)
        data = raw["Data"]
        if isinstance(data, bytes | bytearray):
            data = base64.b64encode(data).decode("ascii")
        return cls(
            sequence_number=str(raw["SequenceNumber"]),
            partition_key=str(raw["PartitionKey"]),
            data_b64=str(data),
            arrival=arrival_s,
        )

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.data_b64)


@dataclass(frozen=True, slots=True)
class EventSource:
    """What every record of one shard's batches shares."""

    shard_id: str
    stream_arn: str
    region: str
    identity_arn: str

    @property
    def fixed_size(self) -> int:
        """The JSON bytes of an event record from this source that do not depend on the record:
        everything but partition key, sequence number (twice), data and arrival time."""
        return (
            _FIXED_SIZE
            + len(encode_basestring_ascii(f"{self.shard_id}:"))
            + len(encode_basestring_ascii(self.identity_arn))
            + len(encode_basestring_ascii(self.region))
            + len(encode_basestring_ascii(self.stream_arn))
        )


def role_arn(account_id: str, service: str, stage: str, region: str) -> str:
    """The execution role the Serverless Framework creates by default; Lambda puts the function's
    role in `invokeIdentityArn`."""
    return f"arn:aws:iam::{account_id}:role/{service}-{stage}-{region}-lambdaRole"


def event_record(record: StreamRecord, source: EventSource) -> KinesisEventRecord:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record.partition_key,
            "sequenceNumber": record.sequence_number,
            "data": record.data_b64,
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


def payload_size(record: StreamRecord, fixed_size: int) -> int:
    """Bytes the record's event adds to the invocation payload (its compact JSON plus a
    separating comma), from its source's `fixed_size` without serialising it: the poller sizes
    every record it reads against the 6 MB payload cap."""
    return (
        fixed_size
        + len(encode_basestring_ascii(record.partition_key))
        + 2 * len(record.sequence_number)
        + 2  # the quotes of the sequence number; data is base64 and needs no escapes
        + len(record.data_b64)
        + 2
        + len(repr(record.arrival))
        + 1
    )


def raw_kinesis_parsing(session: Any) -> None:
    """Makes clients of this botocore session leave blobs base64 and timestamps as numbers:
    the event wants base64 anyway, and decoding 10,000 records per GetRecords only to encode
    them again costs more than the poller's own work."""
    factory = session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=_unchanged, blob_parser=_unchanged)


def _unchanged(value: Any) -> Any:
    return value


_EMPTY = {
    "kinesis": {
        "kinesisSchemaVersion": "1.0",
        "partitionKey": "",
        "sequenceNumber": "",
        "data": "",
        "approximateArrivalTimestamp": 0,
    },
    "eventSource": "aws:kinesis",
    "eventVersion": "1.0",
    "eventID": ":",
    "eventName": "aws:kinesis:record",
    "invokeIdentityArn": "",
    "awsRegion": "",
    "eventSourceARN": "",
}
# The compact JSON of a record less its placeholder values (counted per record instead).
_FIXED_SIZE = len(json.dumps(_EMPTY, separators=(",", ":"))) - len('""' * 6 + '":"' + "0")


def batch_event(records: Iterable[KinesisEventRecord]) -> KinesisBatchEvent:
    return {"Records": list(records)}
