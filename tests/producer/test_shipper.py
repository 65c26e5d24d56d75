"""The shipper on both paths at once: the embedded backend and a recording WebSocket server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from messages import Event, EventType, Source, decode_event
from producer.kinesis import KinesisPath
from producer.shipper import Shipper, partition_key_for
from producer.simulate import nes_click
from producer.websocket import WebSocketPath

from .conftest import STREAM, RecordingServer, read_stream
from .test_kinesis import client_for
from .test_websocket import QUICK, until


def dash() -> Event:
    return Event.create(EventType.DASH_CLICK, {"event": "toggle-game", "click_type": "SINGLE"})


def test_both_paths_carry_the_same_event_id_and_sent_at(
    kinesis: Any, fresh_aws: str, ws_server: RecordingServer
):
    events = [nes_click("red", "UP"), nes_click("blue", "A"), dash()]

    async def scenario() -> Shipper:
        shipper = Shipper(
            KinesisPath(client_for(fresh_aws), STREAM, linger_s=0.01),
            WebSocketPath(lambda: ws_server.url, policy=QUICK),
        )
        async with shipper:
            for event in events:
                await shipper.submit(event)
            await until(lambda: len(ws_server.frames) == len(events))
        return shipper

    shipper = asyncio.run(scenario())
    over_ws = [json.loads(f) for f in ws_server.frames]
    assert {f["action"] for f in over_ws} == {"submitIotEvent"}
    ws_events = [decode_event(f["event"]) for f in over_ws]
    stream = read_stream(kinesis)
    by_id = {e.event_id: (key, e) for key, e in stream}
    for sent, via_ws in zip(events, ws_events, strict=True):
        _, via_kinesis = by_id[sent.event_id]
        assert via_ws.event_id == via_kinesis.event_id == sent.event_id
        assert via_ws.sent_at == via_kinesis.sent_at == sent.sent_at
    assert ws_events[0].message["source"] == Source.WEBSOCKET
    assert by_id[events[0].event_id][1].message["source"] == Source.KINESIS
    assert [by_id[e.event_id][0] for e in events] == ["red", "blue", "DashClick"]
    summary = shipper.summary()
    assert (summary.submitted, summary.kinesis_sent, summary.websocket_sent) == (3, 3, 3)
    assert "sent: kinesis 3, websocket 3" in summary.lines()
    assert "websocket connects 1 (0 refused)" in summary.lines()
    assert summary.kinesis_calls >= 1 and summary.kinesis_failed_calls == 0


def test_partition_keys():
    assert partition_key_for(nes_click("green", "B")) == "green"
    assert partition_key_for(dash()) == "DashClick"
    keys = {partition_key_for(nes_click("green", "B"), "random") for _ in range(5)}
    assert len(keys) == 5
    with pytest.raises(ValueError, match="partition key mode"):
        partition_key_for(dash(), "shard")
    with pytest.raises(ValueError, match="partition key mode"):
        Shipper(None, None, partition_key="shard")


def test_a_shipper_with_one_path_still_ships(ws_server: RecordingServer):
    async def scenario() -> Shipper:
        shipper = Shipper(None, WebSocketPath(lambda: ws_server.url, policy=QUICK))
        shipper.start()
        await shipper.submit(dash())
        await until(lambda: len(ws_server.frames) == 1)
        await shipper.close(2)
        return shipper

    summary = asyncio.run(scenario()).summary()
    assert (summary.kinesis_sent, summary.websocket_sent, summary.spilled) == (0, 1, 0)
