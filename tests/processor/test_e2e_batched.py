"""Batched frames end to end on the Kinesis path: PutRecords on the stream, the gateway's event
source mapping invokes send_iot_message, a batched spectator and a talk-style one beside it
receive over real WebSockets. The gateway's own invocation log says how many ESM batches there
were and what each delivered."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import websocket

from messages import (
    COLORS,
    FRAMES,
    Event,
    Subscription,
    encode_kinesis_data,
    subscribe_envelope,
    unbatch,
)
from tests.conftest import TEST_STREAM

from .conftest import GatewayProcess, make_token

pytestmark = pytest.mark.slow

NES = [Subscription.from_dict({"event_type": "NESClick"})]
PUTS, PER_PUT = 4, 25  # four PutRecords of 25 presses, the four colours interleaved


def click(color: str) -> Event:
    message = {"color": color, "button": "A", "axis": None, "value": None, "source": "kinesis"}
    return Event.create("NESClick", message)


def spectator(gateway: GatewayProcess, batched: bool) -> websocket.WebSocket:
    ws = websocket.create_connection(gateway.url(make_token("viewer")), timeout=10)
    ws.send(subscribe_envelope(NES, batched=batched))
    answer = json.loads(ws.recv())
    assert (answer["status"], answer["batched"]) == ("subscribed", batched)
    return ws


def drain(ws: websocket.WebSocket, quiet_s: float = 0.7) -> None:
    ws.settimeout(quiet_s)
    while True:
        try:
            ws.recv()
        except websocket.WebSocketTimeoutException:
            return


def wait_until_reading(kinesis: Any, talk: websocket.WebSocket) -> None:
    """The mapping starts at LATEST: probes until one arrives, then it is reading."""
    talk.settimeout(2)
    for _ in range(15):
        put(kinesis, [click("red")])
        try:
            talk.recv()
            return
        except websocket.WebSocketTimeoutException:
            continue
    pytest.fail("the event source mapping never delivered a record")


def put(kinesis: Any, events: list[Event]) -> None:
    records = [{"Data": encode_kinesis_data(e), "PartitionKey": e.message["color"]} for e in events]
    assert kinesis.put_records(StreamName=TEST_STREAM, Records=records)["FailedRecordCount"] == 0


def receive(ws: websocket.WebSocket, events: int, timeout_s: float = 30) -> list[str | bytes]:
    """Raw frames until they hold `events` events."""
    frames: list[str | bytes] = []
    deadline = time.monotonic() + timeout_s
    got = 0
    while got < events:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        frames.append(ws.recv())
        got += len(unbatch(frames[-1]))
    return frames


def invocations(log: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [
        line
        for line in lines
        if line.get("function") == "send_iot_message" and line.get("records", 0) > 0
    ]


def test_a_batched_spectator_gets_one_frame_per_esm_batch_and_the_talk_one_per_event(
    gateway_with_triggers: GatewayProcess, processor_env, aws_client_same_backend
):
    kinesis = aws_client_same_backend("kinesis")
    batched = spectator(gateway_with_triggers, batched=True)
    talk = spectator(gateway_with_triggers, batched=False)
    try:
        wait_until_reading(kinesis, talk)
        time.sleep(1.0)  # the probes' late deliveries, to both
        drain(batched)
        drain(talk)
        seen = len(invocations(gateway_with_triggers.output()))
        colors = list(COLORS)
        sent = [click(colors[n % len(colors)]) for n in range(PUTS * PER_PUT)]
        for start in range(0, len(sent), PER_PUT):
            put(kinesis, sent[start : start + PER_PUT])
            time.sleep(0.3)  # a poll interval or so apart: several ESM batches
        got_batched = receive(batched, len(sent))
        got_talk = receive(talk, len(sent))
        drain(batched, 1.0)  # nothing more, nothing twice
        time.sleep(0.5)  # the last invocation's log line
        batches = invocations(gateway_with_triggers.output())[seen:]
    finally:
        batched.close()
        talk.close()

    events = [f for frame in got_batched for f in unbatch(frame)]
    assert sorted(f["event_id"] for f in events) == sorted(e.event_id for e in sent)
    for color in colors:  # per partition key, the order it was put in
        mine = [e.event_id for e in sent if e.message["color"] == color]
        assert [f["event_id"] for f in events if f["payload"]["color"] == color] == mine
    assert all(FRAMES in json.loads(frame) for frame in got_batched)
    # The talk's client: one plain frame per event, in the stream's order, unchanged.
    assert len(got_talk) == len(sent)
    assert all(FRAMES not in json.loads(frame) for frame in got_talk)
    # At most one frame per ESM batch for the batched spectator: each invocation that carried
    # presses delivered one frame to it and one per press to the talk's client.
    assert sum(b["records"] for b in batches) == len(sent)
    assert len(got_batched) == len(batches) > 1
    for invocation in batches:
        records = invocation["records"]
        assert (invocation["delivered"], invocation["events_delivered"]) == (
            records + 1,
            2 * records,
        )
