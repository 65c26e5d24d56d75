"""The WebSocket path against a small recording aiohttp server that can be restarted."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from messages.tokens import with_token
from producer.batching import RetryPolicy
from producer.websocket import WebSocketPath

from .conftest import RecordingServer

QUICK = RetryPolicy(max_attempts=0, base_s=0.02, cap_s=0.2)


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def frame(n: int) -> str:
    return json.dumps({"action": "submitIotEvent", "n": n})


def numbers(frames: list[str]) -> list[int]:
    return [json.loads(f)["n"] for f in frames]


def test_frames_arrive_in_order_with_the_token(ws_server: RecordingServer):
    async def scenario() -> WebSocketPath:
        path = WebSocketPath(lambda: with_token(ws_server.url, "tok en"), policy=QUICK)
        path.start()
        for n in range(50):
            path.offer(frame(n))
        await until(lambda: len(ws_server.frames) == 50)
        await path.close(5)
        return path

    path = asyncio.run(scenario())
    assert numbers(ws_server.frames) == list(range(50))
    assert ws_server.queries == [{"token": "tok en"}]
    assert path.stats.sent == 50 and path.stats.dropped == 0


def test_a_server_restart_is_survived(ws_server: RecordingServer):
    async def scenario() -> WebSocketPath:
        path = WebSocketPath(lambda: ws_server.url, policy=QUICK)
        path.start()
        for n in range(10):
            path.offer(frame(n))
        await until(lambda: len(ws_server.frames) == 10)
        await asyncio.to_thread(ws_server.restart)
        await until(lambda: not path.connected.is_set())
        for n in range(10, 20):
            path.offer(frame(n))
        await until(lambda: len(ws_server.frames) == 20)
        await path.close(5)
        return path

    path = asyncio.run(scenario())
    assert numbers(ws_server.frames) == list(range(20))
    assert path.stats.connects == 2


def test_while_away_the_oldest_frames_make_room_and_are_counted(ws_server: RecordingServer):
    ws_server.stop()

    async def scenario() -> WebSocketPath:
        path = WebSocketPath(lambda: ws_server.url, buffer_size=10, policy=QUICK)
        path.start()
        for n in range(15):
            path.offer(frame(n))
        await asyncio.sleep(0.1)
        await asyncio.to_thread(ws_server.start)
        await until(lambda: len(ws_server.frames) == 10)
        await path.close(5)
        return path

    path = asyncio.run(scenario())
    assert numbers(ws_server.frames) == list(range(5, 15))
    assert path.stats.dropped == 5


def test_a_refused_handshake_is_retried_until_let_in(ws_server: RecordingServer):
    ws_server.refuse = True

    async def scenario() -> WebSocketPath:
        path = WebSocketPath(lambda: ws_server.url, policy=QUICK)
        path.start()
        path.offer(frame(1))
        await until(lambda: path.stats.refused >= 2)
        ws_server.refuse = False
        await until(lambda: len(ws_server.frames) == 1)
        await path.close(5)
        return path

    path = asyncio.run(scenario())
    assert path.stats.sent == 1 and path.stats.connects == 1


def test_closing_without_a_server_counts_the_unsent_as_dropped(ws_server: RecordingServer):
    ws_server.stop()

    async def scenario() -> tuple[WebSocketPath, float]:
        path = WebSocketPath(lambda: ws_server.url, policy=QUICK)
        path.start()
        for n in range(3):
            path.offer(frame(n))
        started = time.monotonic()
        await path.close(0.3)
        return path, time.monotonic() - started

    path, took = asyncio.run(scenario())
    assert path.stats.dropped == 3 and path.stats.sent == 0
    assert took < 2.0
