"""AWS-shaped events for calling handlers directly, as API Gateway and Lambda's Kinesis event
source mapping build them (see shared/AWS-FACTS.md)."""

from __future__ import annotations

import base64
import time
from typing import Any

from messages import Event, encode_kinesis_data

SEQUENCE_BASE = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000


def websocket_event(
    route: str,
    connection_id: str,
    domain_name: str,
    *,
    body: str | None = None,
    authorizer: dict[str, Any] | None = None,
    stage: str = "test",
) -> dict[str, Any]:
    kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
    now = int(time.time() * 1000)
    context: dict[str, Any] = {
        "routeKey": route,
        "eventType": kind,
        "connectionId": connection_id,
        "domainName": domain_name,
        "stage": stage,
        "apiId": "local",
        "requestId": "r1",
        "extendedRequestId": "r1",
        "requestTimeEpoch": now,
        "connectedAt": now,
        "messageDirection": "IN",
        "identity": {"sourceIp": "127.0.0.1", "userAgent": "test"},
    }
    if authorizer is not None:
        context["authorizer"] = authorizer
    event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
    if body is not None:
        event["body"] = body
    return event


def kinesis_record(data: bytes, index: int) -> dict[str, Any]:
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "pk",
            "sequenceNumber": str(SEQUENCE_BASE + index),
            "data": base64.b64encode(data).decode(),
            "approximateArrivalTimestamp": time.time(),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{SEQUENCE_BASE + index}",
        "eventName": "aws:kinesis:record",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/iot-events",
    }


def kinesis_event(*payloads: Event | bytes) -> dict[str, Any]:
    return {
        "Records": [
            kinesis_record(p if isinstance(p, bytes) else encode_kinesis_data(p), i)
            for i, p in enumerate(payloads)
        ]
    }
