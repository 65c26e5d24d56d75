"""End to end through Kinesis: PutRecords on the stream, the gateway's event source mapping
invokes send_iot_message inside the gateway process, spectators receive over WebSockets."""

from __future__ import annotations

import json

import pytest
import websocket

from messages import Event, Subscription, encode_kinesis_data, subscribe_envelope
from tests.conftest import TEST_STREAM

from .conftest import GatewayProcess, make_token

pytestmark = pytest.mark.slow

CLICK = {"color": "red", "button": "B", "axis": None, "value": None, "source": "kinesis"}


def put(kinesis, *payloads: bytes) -> None:
    response = kinesis.put_records(
        StreamName=TEST_STREAM,
        Records=[{"Data": data, "PartitionKey": "red"} for data in payloads],
    )
    assert response["FailedRecordCount"] == 0


def test_records_reach_spectators_and_poison_does_not_block(
    gateway_with_triggers: GatewayProcess, processor_env, aws_client_same_backend
):
    kinesis = aws_client_same_backend("kinesis")
    spectator = websocket.create_connection(
        gateway_with_triggers.url(make_token("viewer")), timeout=10
    )
    try:
        spectator.send(
            subscribe_envelope(
                [Subscription.from_dict({"event_type": "NESClick", "desired_fields": ["button"]})]
            )
        )
        assert json.loads(spectator.recv())["status"] == "subscribed"
        # The mapping starts at LATEST: send probes until one arrives, then it is reading.
        spectator.settimeout(2)
        for _ in range(15):
            put(kinesis, encode_kinesis_data(Event.create("NESClick", CLICK)))
            try:
                spectator.recv()
                break
            except websocket.WebSocketTimeoutException:
                continue
        else:
            pytest.fail("the event source mapping never delivered a record")
        while True:  # drain probes that arrived late
            try:
                spectator.settimeout(0.5)
                spectator.recv()
            except websocket.WebSocketTimeoutException:
                break
        first, second = (Event.create("NESClick", CLICK) for _ in range(2))
        put(kinesis, encode_kinesis_data(first), b"poison", encode_kinesis_data(second))
        spectator.settimeout(10)
        frames = [json.loads(spectator.recv()) for _ in range(2)]
        assert [f["event_id"] for f in frames] == [first.event_id, second.event_id]
        assert {f["source"] for f in frames} == {"kinesis"}
        assert json.loads(frames[0]["payload"]) == {"button": "B"}
    finally:
        spectator.close()
