"""The SQS event Lambda hands a queue-triggered function, built from ReceiveMessage's answer
the way Lambda builds it: camelCase record keys, the message's system attributes as strings,
message attributes with both list fields, binary values in base64."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "MessageAttribute",
    "SqsBatchEvent",
    "SqsEventRecord",
    "batch_event",
    "event_record",
    "record_size",
]


class MessageAttribute(TypedDict):
    stringValue: NotRequired[str]
    binaryValue: NotRequired[str]  # base64
    stringListValues: list[str]
    binaryListValues: list[str]  # base64 each
    dataType: str


class SqsEventRecord(TypedDict):
    messageId: str
    receiptHandle: str
    body: str
    attributes: dict[str, str]
    messageAttributes: dict[str, MessageAttribute]
    md5OfBody: str
    md5OfMessageAttributes: NotRequired[str]
    eventSource: Literal["aws:sqs"]
    eventSourceARN: str
    awsRegion: str


class SqsBatchEvent(TypedDict):
    Records: list[SqsEventRecord]


def _b64(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    return str(value)  # already base64 (a client that leaves blobs raw)


def _attribute(raw: Mapping[str, Any]) -> MessageAttribute:
    """Lambda's key order: the value, both lists, the type."""
    attribute: dict[str, Any] = {}
    if "StringValue" in raw:
        attribute["stringValue"] = str(raw["StringValue"])
    if "BinaryValue" in raw:
        attribute["binaryValue"] = _b64(raw["BinaryValue"])
    attribute["stringListValues"] = [str(v) for v in raw.get("StringListValues") or []]
    attribute["binaryListValues"] = [_b64(v) for v in raw.get("BinaryListValues") or []]
    attribute["dataType"] = str(raw["DataType"])
    return attribute  # type: ignore[return-value]


def event_record(message: Mapping[str, Any], queue_arn: str, region: str) -> SqsEventRecord:
    """From one ReceiveMessage `Messages` item (asked with every system and message
    attribute). `md5OfMessageAttributes` is there only when the message has attributes, as
    SQS gives MD5OfMessageAttributes only then."""
    record: dict[str, Any] = {
        "messageId": str(message["MessageId"]),
        "receiptHandle": str(message["ReceiptHandle"]),
        "body": str(message.get("Body", "")),
        "attributes": {k: str(v) for k, v in (message.get("Attributes") or {}).items()},
        "messageAttributes": {
            name: _attribute(value)
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": str(message.get("MD5OfBody", "")),
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = str(message["MD5OfMessageAttributes"])
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = region
    return record  # type: ignore[return-value]


def record_size(record: SqsEventRecord) -> int:
    """Bytes the record adds to the invocation payload: the poller stops filling a batch
    before it passes Lambda's 6 MB synchronous payload limit."""
    return len(json.dumps(record, separators=(",", ":"))) + 1


def batch_event(records: Iterable[SqsEventRecord]) -> SqsBatchEvent:
    return {"Records": list(records)}
