"""The talk's own clients against this system, end to end: its race UI's subscription list
(with a viewer token added to the URL) on a real WebSocket, its producer's exact payloads
(`websocket_format` over the real gateway, `kinesis_record` on the stream read by the real
event source mapping), no EventId or SentAt anywhere. Every payload reaches the spectator on
both paths with the frame fields a full envelope gets, stamped from AWS's own ids and times."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import websocket

from tests.conftest import TEST_STREAM
from tests.fixtures.talk.payloads import (
    OTHER_EVENTS,
    PRESSES,
    SUBMIT_DIAGRAM,
    SUBSCRIBE,
    kinesis_format,
    websocket_format,
)

from .conftest import GatewayProcess, make_token

pytestmark = pytest.mark.slow

FRAME_KEYS = {"message_type", "payload", "event_id", "sent_at", "source"}


def _submits() -> list[dict[str, Any]]:
    return [
        *[websocket_format(m) for m in PRESSES],
        SUBMIT_DIAGRAM,
        *[{"action": "submitIotEvent", "event": body} for body in OTHER_EVENTS],
    ]


def _records() -> list[dict[str, Any]]:
    """NESEvent.kinesis_record, and the other producers' records."""
    return [
        *[
            {"Data": kinesis_format(m).encode("utf-8"), "PartitionKey": str(uuid.uuid4())}
            for m in PRESSES
        ],
        *[
            {"Data": json.dumps(b).encode(), "PartitionKey": str(uuid.uuid4())}
            for b in OTHER_EVENTS
        ],
    ]


def _receive(ws: websocket.WebSocket, count: int) -> list[dict[str, Any]]:
    ws.settimeout(10)
    return [json.loads(ws.recv()) for _ in range(count)]


def _drain(ws: websocket.WebSocket) -> None:
    ws.settimeout(0.5)
    try:
        while True:
            ws.recv()
    except websocket.WebSocketTimeoutException:
        pass


def _expected(body: dict[str, Any], source: str) -> tuple[str, dict[str, Any]]:
    message = dict(body["Message"])
    if "source" in message:
        message["source"] = source
    return body["MessageType"], message


def test_the_talks_clients_work_on_both_paths(
    gateway_with_triggers: GatewayProcess, processor_env, aws_client_same_backend
):
    spectator = websocket.create_connection(
        gateway_with_triggers.url(make_token("viewer")), timeout=10
    )
    shipper = websocket.create_connection(
        gateway_with_triggers.url(make_token("shipper")), timeout=10
    )
    kinesis = aws_client_same_backend("kinesis")
    try:
        spectator.send(json.dumps(SUBSCRIBE))
        answer = json.loads(spectator.recv())
        assert answer["status"] == "subscribed"
        assert [s["filter_field"] for s in answer["subscriptions"]] == [
            s["filter_field"] for s in SUBSCRIBE["subscriptions"]
        ]

        # The WebSocket path: the producer's frames, one after the other.
        submits = _submits()
        before_ms = int(time.time() * 1000)
        for submit in submits:
            shipper.send(json.dumps(submit))
        frames = _receive(spectator, len(submits))
        after_ms = int(time.time() * 1000)
        # Each frame is its own invocation, so (as on AWS) they may overtake one another.
        received = sorted(json.dumps([f["message_type"], json.loads(f["payload"])]) for f in frames)
        sent = sorted(json.dumps(_expected(s["event"], "websocket")) for s in submits)
        assert received == sent
        for frame in frames:
            assert set(frame) == FRAME_KEYS
            assert frame["source"] == "websocket"
            assert before_ms - 1000 <= frame["sent_at"] <= after_ms  # requestTimeEpoch
        ids = [f["event_id"] for f in frames]
        assert len(set(ids)) == len(ids)  # API Gateway's messageId, one per frame
        assert all(len(i) == 16 for i in ids)

        # The Kinesis path. The mapping starts at LATEST: probe until it is reading.
        probe = {"Data": kinesis_format(PRESSES[0]).encode(), "PartitionKey": "probe"}
        spectator.settimeout(2)
        for _ in range(15):
            kinesis.put_records(StreamName=TEST_STREAM, Records=[probe])
            try:
                spectator.recv()
                break
            except websocket.WebSocketTimeoutException:
                continue
        else:
            pytest.fail("the event source mapping never delivered a record")
        _drain(spectator)
        records = _records()
        put = kinesis.put_records(StreamName=TEST_STREAM, Records=records)
        assert put["FailedRecordCount"] == 0
        stamped = {f"{r['ShardId']}:{r['SequenceNumber']}": i for i, r in enumerate(put["Records"])}
        frames = _receive(spectator, len(records))
        assert {f["event_id"] for f in frames} == set(stamped)  # eventID: shard and sequence
        for frame in frames:
            body = json.loads(records[stamped[frame["event_id"]]]["Data"])
            assert set(frame) == FRAME_KEYS
            assert frame["source"] == "kinesis"
            assert (frame["message_type"], json.loads(frame["payload"])) == _expected(
                body, "kinesis"
            )
            assert abs(frame["sent_at"] - time.time() * 1000) < 30_000  # arrival time
    finally:
        spectator.close()
        shipper.close()
