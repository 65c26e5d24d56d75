"""The producer against the real local stack: `python -m gateway_adapter` (WebSocket API,
processor handlers, Kinesis trigger) on the embedded backend, and a subscribed spectator."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from gateway_adapter.embedded import free_port, wait_for_http
from gateway_adapter.service import Service
from messages import Event, EventType, Source, Subscription, subscribe_envelope
from processor.tokens import Role, issue
from producer.config import token_source, with_token
from producer.kinesis import KinesisPath
from producer.shipper import Shipper
from producer.simulate import run_players
from producer.websocket import WebSocketPath

from ..spectator.stack import ROOT, SECRET, STAGE, Process, stack_env, stream_name
from .conftest import read_stream
from .test_kinesis import client_for
from .test_websocket import QUICK, until

pytestmark = pytest.mark.slow


class Gateway:
    """The gateway as a subprocess on a fixed port, so it can be restarted in place."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.port = free_port()
        self.process: Process | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/{STAGE}"

    def start(self) -> None:
        self.starts += 1
        argv = [sys.executable, "-m", "gateway_adapter", "--config", str(ROOT / "serverless.yml")]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--stage", STAGE]
        argv += ["--log-level", "WARNING", "--poll-interval", "0.2"]
        self.process = Process(argv, self.logs / f"gateway-{self.starts}.log", stack_env())
        try:
            wait_for_http(f"http://127.0.0.1:{self.port}/{STAGE}/@connections/probe", 30)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"the gateway did not start:\n{self.tail()}") from None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def tail(self) -> str:
        return self.process.tail() if self.process is not None else ""


@pytest.fixture
def gateway(tumble_service: Service, tmp_path: Path) -> Iterator[Gateway]:
    running = Gateway(tmp_path)
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Spectator:
    """A viewer subscribed to every NESClick; frames are read in a worker thread."""

    def __init__(self, url: str) -> None:
        token = issue(SECRET.encode(), Role.VIEWER, "producer-tests", int(time.time()) + 600)
        self.ws = websocket.create_connection(with_token(url, token), timeout=30)
        self.ws.send(subscribe_envelope([Subscription(EventType.NES_CLICK)]))
        answer = json.loads(self.ws.recv())
        assert answer.get("status") == "subscribed", answer
        self.frames: list[dict[str, Any]] = []

    def read(self, count: int, timeout_s: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.frames) < count and time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                self.frames.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break
        return self.frames

    def close(self) -> None:
        self.ws.close()


def make_shipper(gateway: Gateway, endpoint: str, stream: str) -> Shipper:
    token = token_source(None, lambda: None, {"TUMBLE_TOKEN_SECRET": SECRET})
    return Shipper(
        KinesisPath(client_for(endpoint), stream, linger_s=0.02),
        WebSocketPath(lambda: with_token(gateway.url, token()), policy=QUICK),
    )


def by_source(frames: list[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """source -> colour -> event ids in arrival order."""
    seen: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for frame in frames:
        payload = json.loads(frame["payload"])
        seen[frame["source"]][payload["color"]].append(frame["event_id"])
    return seen


def per_color(events: list[Event]) -> dict[str, list[str]]:
    order: dict[str, list[str]] = defaultdict(list)
    for event in events:
        order[event.message["color"]].append(event.event_id)
    return order


def unordered(order: dict[str, list[str]]) -> dict[str, list[str]]:
    return {color: sorted(ids) for color, ids in order.items()}


def test_presses_reach_the_stream_in_order_and_a_spectator_on_both_paths(
    gateway: Gateway, tumble_service: Service, fresh_aws: str, aws_client: Any
):
    spectator = Spectator(gateway.url)
    stream = stream_name(tumble_service)
    events: list[Event] = []

    async def scenario() -> Shipper:
        shipper = make_shipper(gateway, fresh_aws, stream)
        shipper.start()
        await asyncio.wait_for(shipper.websocket.connected.wait(), 20)  # type: ignore[union-attr]

        async def submit(event: Event) -> None:
            events.append(event)
            await shipper.submit(event)

        await run_players(4, 50.0, 7, submit, asyncio.Event(), limit=15)
        await shipper.close(10)
        return shipper

    try:
        summary = asyncio.run(scenario()).summary()
        assert summary.kinesis_sent == summary.websocket_sent == len(events) == 60
        frames = spectator.read(2 * len(events))
    finally:
        spectator.close()
    records = read_stream(aws_client("kinesis"), stream)
    stream_order: dict[str, list[str]] = defaultdict(list)
    for key, event in records:
        stream_order[key].append(event.event_id)
    assert stream_order == per_color(events)
    seen = by_source(frames)
    assert len(frames) == 2 * len(events), gateway.tail()
    # API Gateway invokes the route's function per message, concurrently: the WebSocket path
    # keeps no order at the spectator (the producer sends in order; test_websocket shows it).
    assert unordered(seen[Source.WEBSOCKET.value]) == unordered(per_color(events))
    # The Kinesis path keeps order per shard, so per colour as well.
    assert seen[Source.KINESIS.value] == per_color(events)
    sent_at = {e.event_id: e.sent_at for e in events}
    assert all(f["sent_at"] == sent_at[f["event_id"]] for f in frames)


def test_a_gateway_restart_is_survived(gateway: Gateway, tumble_service: Service, fresh_aws: str):
    stream = stream_name(tumble_service)
    before = Spectator(gateway.url)
    after: list[Event] = []

    async def scenario() -> tuple[Shipper, Spectator]:
        shipper = make_shipper(gateway, fresh_aws, stream)
        shipper.start()
        path = shipper.websocket
        assert path is not None
        await asyncio.wait_for(path.connected.wait(), 20)
        await run_players(2, 50.0, 1, shipper.submit, asyncio.Event(), limit=5)
        await asyncio.to_thread(before.read, 20)
        await asyncio.to_thread(gateway.stop)
        await until(lambda: not path.connected.is_set(), 20)
        await asyncio.to_thread(gateway.start)
        spectator = await asyncio.to_thread(Spectator, gateway.url)

        async def submit(event: Event) -> None:
            after.append(event)
            await shipper.submit(event)

        await run_players(2, 50.0, 2, submit, asyncio.Event(), limit=5)
        await asyncio.wait_for(path.connected.wait(), 20)
        await shipper.close(10)
        return shipper, spectator

    try:
        shipper, spectator = asyncio.run(scenario())
    finally:
        before.close()
    try:
        frames = spectator.read(2 * len(after))
    finally:
        spectator.close()
    assert len(before.frames) == 20  # 10 presses on both paths before the restart
    assert shipper.websocket is not None and shipper.websocket.stats.connects == 2
    seen = by_source(frames)
    assert unordered(seen[Source.WEBSOCKET.value]) == unordered(per_color(after)), gateway.tail()
    assert seen[Source.KINESIS.value] == per_color(after), gateway.tail()
