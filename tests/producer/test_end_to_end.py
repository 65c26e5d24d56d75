"""The producer against the real local stack: `python -m gateway_adapter` (WebSocket API,
processor handlers, Kinesis trigger) on the embedded backend, and a subscribed spectator."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import websocket

from gateway_adapter.embedded.backend import free_port, wait_for_http
from messages import Event, EventType, Source, Subscription, subscribe_envelope
from messages.tokens import Role, issue, with_token
from producer.config import token_source
from producer.kinesis import KinesisPath
from producer.shipper import Shipper
from producer.simulate import nes_click, run_players
from producer.websocket import WebSocketPath
from serverless_model.service import Service

from ..spectator.stack import ROOT, SECRET, STAGE, Process, stack_env, stream_name
from .conftest import read_stream
from .test_kinesis import client_for
from .test_websocket import QUICK, until

pytestmark = pytest.mark.slow


class Gateway:
    """The gateway as a subprocess on a fixed port, so it can be restarted in place."""

    def __init__(self, logs: Path, extra: Sequence[str] = ()) -> None:
        self.logs = logs
        self.extra = list(extra)  # more gateway options
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
        argv += ["--log-level", "WARNING", "--poll-interval", "0.2", *self.extra]
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


@contextmanager
def running_gateway(logs: Path, extra: Sequence[str] = ()) -> Iterator[Gateway]:
    running = Gateway(logs, extra)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def gateway(tumble_service: Service, tmp_path: Path) -> Iterator[Gateway]:
    with running_gateway(tmp_path) as running:
        yield running


class Spectator:
    """A viewer subscribed to every NESClick; frames are read in a worker thread."""

    def __init__(self, url: str) -> None:
        token = issue(SECRET.encode(), Role.VIEWER, "producer-tests", int(time.time()) + 600)
        self.ws = websocket.create_connection(with_token(url, token), timeout=30)
        self.ws.send(subscribe_envelope([Subscription(EventType.NES_CLICK)]))
        answer = json.loads(self.ws.recv())
        assert answer.get("status") == "subscribed", answer
        self.frames: list[dict[str, Any]] = []

    def read_until(
        self, wanted: set[tuple[str, str]], timeout_s: float = 60.0
    ) -> list[dict[str, Any]]:
        """Frames until every (event id, source) in `wanted` has arrived or time is up; all
        frames of those events, in arrival order."""
        ids = {event_id for event_id, _ in wanted}
        deadline = time.monotonic() + timeout_s
        while not wanted <= self.seen() and time.monotonic() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                self.frames.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break
        return [f for f in self.frames if f["event_id"] in ids]

    def seen(self) -> set[tuple[str, str]]:
        return {(f["event_id"], f["source"]) for f in self.frames}

    def close(self) -> None:
        self.ws.close()


def both_paths(events: list[Event]) -> set[tuple[str, str]]:
    return {(e.event_id, source.value) for e in events for source in Source}


async def warm_up(shipper: Shipper, spectator: Spectator) -> None:
    """Until a press comes back through Kinesis: the stream trigger starts at LATEST when its
    poller first reads the shard, which may be after the gateway answers HTTP."""
    assert shipper.websocket is not None
    await asyncio.wait_for(shipper.websocket.connected.wait(), 20)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        probe = nes_click("green", "LEFT")
        await shipper.submit(probe)
        wanted = {(probe.event_id, Source.KINESIS.value)}
        await asyncio.to_thread(spectator.read_until, wanted, 1.0)
        if wanted <= spectator.seen():
            return
    raise AssertionError("no press came back through the Kinesis path in 30 s")


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
        await warm_up(shipper, spectator)

        async def submit(event: Event) -> None:
            events.append(event)
            await shipper.submit(event)

        await run_players(4, 50.0, 7, submit, asyncio.Event(), limit=15)
        await shipper.close(10)
        return shipper

    try:
        shipper = asyncio.run(scenario())
        frames = spectator.read_until(both_paths(events))
    finally:
        spectator.close()
    summary = shipper.summary()
    assert summary.kinesis_sent == summary.websocket_sent == summary.submitted
    assert len(events) == 60 and summary.spilled == summary.dropped == 0
    sent = {e.event_id for e in events}
    stream_order: dict[str, list[str]] = defaultdict(list)
    for key, event in read_stream(aws_client("kinesis"), stream):
        if event.event_id in sent:
            stream_order[key].append(event.event_id)
    assert stream_order == per_color(events)
    assert len(frames) == 2 * len(events), gateway.tail()
    seen = by_source(frames)
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
    first: list[Event] = []
    after: list[Event] = []

    def recorder(into: list[Event], shipper: Shipper) -> Callable[[Event], Awaitable[None]]:
        async def submit(event: Event) -> None:
            into.append(event)
            await shipper.submit(event)

        return submit

    async def scenario() -> tuple[Shipper, Spectator]:
        shipper = make_shipper(gateway, fresh_aws, stream)
        shipper.start()
        path = shipper.websocket
        assert path is not None
        await warm_up(shipper, before)
        await run_players(2, 50.0, 1, recorder(first, shipper), asyncio.Event(), limit=5)
        await asyncio.to_thread(before.read_until, both_paths(first))
        await asyncio.to_thread(gateway.stop)
        await until(lambda: not path.connected.is_set(), 20)
        await asyncio.to_thread(gateway.start)
        spectator = await asyncio.to_thread(Spectator, gateway.url)
        await warm_up(shipper, spectator)
        await run_players(2, 50.0, 2, recorder(after, shipper), asyncio.Event(), limit=5)
        await shipper.close(10)
        return shipper, spectator

    try:
        shipper, spectator = asyncio.run(scenario())
    finally:
        before.close()
    try:
        frames = spectator.read_until(both_paths(after))
    finally:
        spectator.close()
    assert both_paths(first) <= before.seen()
    assert shipper.websocket is not None and shipper.websocket.stats.connects == 2
    seen = by_source(frames)
    assert unordered(seen[Source.WEBSOCKET.value]) == unordered(per_color(after)), gateway.tail()
    assert seen[Source.KINESIS.value] == per_color(after), gateway.tail()
