"""Behaviour 12, API Gateway's limits: frame and message sizes (close 1009), idle timeout and
connection lifetime (close 1001), and the rate of new connections."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import websocket

from ..clients import connect, events_of, wait_for
from ..conftest import PROBE_YML, RunningGateway

# 12. limits ---------------------------------------------------------------------------------


def test_frame_over_32_kb_closes_with_1009(probe: RunningGateway) -> None:
    ws = connect(probe)
    ws.send("x" * (32 * 1024 + 1))
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(data[:2], "big") == 1009
    event = wait_for(lambda: events_of("DISCONNECT"))[-1]
    assert event["requestContext"]["disconnectStatusCode"] == 1009


def send_fragmented(ws: websocket.WebSocket, text: str, size: int = 32 * 1024) -> None:
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    for index, chunk in enumerate(chunks):
        opcode = websocket.ABNF.OPCODE_TEXT if index == 0 else websocket.ABNF.OPCODE_CONT
        ws.send_frame(websocket.ABNF.create_frame(chunk, opcode, fin=index == len(chunks) - 1))


def test_message_of_128_kb_in_32_kb_frames_passes_and_larger_closes(
    probe: RunningGateway,
) -> None:
    ws = connect(probe)
    prefix = '{"action": "echo", "pad": "'
    body = prefix + "y" * (128 * 1024 - len(prefix) - 2) + '"}'
    assert len(body) == 128 * 1024
    send_fragmented(ws, body)
    assert ws.recv() == body
    send_fragmented(ws, body + " ")
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(data[:2], "big") == 1009


def test_idle_timeout_and_lifetime_close_with_1001(
    start_gateway: Callable[..., RunningGateway],
) -> None:
    import probe_handlers

    probe_handlers.EVENTS.clear()
    idle = start_gateway(PROBE_YML, idle_timeout_s=0.5)
    ws = connect(idle)
    opened = time.monotonic()
    for _ in range(3):  # activity keeps it open past the timeout
        time.sleep(0.25)
        ws.send(json.dumps({"action": "silent"}))
    opcode, data = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1001
    assert time.monotonic() - opened > 0.7  # the messages kept it open past the timeout
    event = wait_for(lambda: events_of("DISCONNECT"))[-1]
    assert event["requestContext"]["disconnectStatusCode"] == 1001
    assert event["requestContext"]["disconnectReason"] == "Going away"
    lifetime = start_gateway(PROBE_YML, max_lifetime_s=0.5)
    started = time.monotonic()
    ws = connect(lifetime)
    while True:
        ws.send(json.dumps({"action": "silent"}))
        try:
            opcode, data = ws.recv_data(control_frame=True)
            break
        except websocket.WebSocketTimeoutException:
            continue
    assert int.from_bytes(data[:2], "big") == 1001
    assert 0.4 < time.monotonic() - started < 3


def test_connect_rate_limit(start_gateway: Callable[..., RunningGateway]) -> None:
    gateway = start_gateway(PROBE_YML, connect_rate=1)
    statuses = []
    for _ in range(3):  # within one second: at most one per second window gets through
        try:
            connect(gateway).close()
            statuses.append(101)
        except websocket.WebSocketBadStatusException as refused:
            statuses.append(refused.status_code)
    assert statuses[0] == 101
    assert 429 in statuses
