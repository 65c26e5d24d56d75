"""`tumble local` under faults: a taken port, the supervisor killed by SIGKILL, the gateway
killed by SIGKILL mid-stream (restarted; every acknowledged record still delivered in order
per partition key)."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections import defaultdict

import boto3
import psutil
import pytest
import websocket

from messages import Source, Subscription, decode_spectator_frame, encode_kinesis_data
from messages.envelopes import FRAME_EVENT_ID, FRAME_SOURCE, subscribe_envelope
from messages.tokens import Role, issue, with_token
from producer.config import DEFAULT_STREAM
from producer.simulate import nes_click
from tests.tumble.test_local import READY_TIMEOUT_S, Stack, port_is_free, stack_env

SECRET = "reliability-secret"
COLORS = ("red", "blue", "green", "yellow")


def children_of(stack: Stack) -> list[psutil.Process]:
    return psutil.Process(stack.process.pid).children(recursive=True)


def gateway_of(stack: Stack) -> psutil.Process:
    (gateway,) = [
        child
        for child in psutil.Process(stack.process.pid).children()
        if "gateway_adapter" in child.cmdline()
        and "gateway_adapter.embedded" not in child.cmdline()
    ]
    return gateway


@pytest.mark.slow
def test_a_port_in_use_is_a_clear_error_naming_its_holder():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = Stack(env=stack_env(), ports={"gateway": port})
        code = stack.process.wait(timeout=60)
    assert code == 2, stack.output
    assert f"port {port} (--gateway-port) is already in use" in stack.output
    assert f"pid {psutil.Process().pid}" in stack.output  # this test process holds it
    assert "running" not in stack.output  # nothing was started, so nothing is adopted
    for name, other in stack.ports.items():
        if name != "gateway":
            assert port_is_free(other)


@pytest.mark.slow
def test_kill_9_of_tumble_local_leaves_no_process_and_no_port():
    stack = Stack(env=stack_env())
    try:
        assert stack.ready.wait(READY_TIMEOUT_S), stack.output
        children = children_of(stack)
        assert len(children) >= 3  # backend, gateway, page
    finally:
        stack.process.send_signal(signal.SIGKILL)
        stack.process.wait(timeout=10)
    _, alive = psutil.wait_procs(children, timeout=15)
    assert alive == [], [p.cmdline() for p in alive]
    deadline = time.monotonic() + 10
    while not all(port_is_free(p) for p in stack.ports.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(port_is_free(p) for p in stack.ports.values()), stack.ports


class Viewer(threading.Thread):
    """A spectator of every NESClick that reconnects and resubscribes whenever its socket
    drops, as the race page does; records the Kinesis frames in arrival order."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.arrived: list[str] = []
        self.connects = 0
        self.subscribed = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                ws = websocket.create_connection(self.url, timeout=5)
                ws.send(subscribe_envelope([Subscription.from_dict({"event_type": "NESClick"})]))
                decode_spectator_frame(ws.recv())
                self.connects += 1
                self.subscribed.set()
                ws.settimeout(0.5)
                while not self.stop.is_set():
                    try:
                        frame = ws.recv()
                    except websocket.WebSocketTimeoutException:
                        continue
                    if not frame:
                        break
                    decoded = decode_spectator_frame(frame)
                    if decoded.get(FRAME_SOURCE) == Source.KINESIS.value:
                        self.arrived.append(decoded[FRAME_EVENT_ID])
            except (websocket.WebSocketException, OSError):
                pass
            self.subscribed.clear()
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_kill_9_of_the_gateway_mid_stream_loses_no_acknowledged_record():
    env = stack_env()
    env["TUMBLE_TOKEN_SECRET"] = SECRET
    stack = Stack(env=env)
    viewer: Viewer | None = None
    try:
        assert stack.ready.wait(READY_TIMEOUT_S), stack.output
        endpoint = f"http://127.0.0.1:{stack.ports['aws']}"
        kinesis = boto3.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        ).client("kinesis", endpoint_url=endpoint)
        token = issue(SECRET.encode(), Role.VIEWER, "viewer", int(time.time()) + 600)
        viewer = Viewer(with_token(f"ws://127.0.0.1:{stack.ports['gateway']}/local", token))
        viewer.start()
        assert viewer.subscribed.wait(15)
        sent: dict[str, list[str]] = defaultdict(list)

        def put(count: int) -> None:
            for i in range(count):
                event = nes_click(COLORS[i % 4], "A")
                kinesis.put_record(  # acknowledged once this returns
                    StreamName=DEFAULT_STREAM,
                    Data=encode_kinesis_data(event),
                    PartitionKey=event.message["color"],
                )
                sent[event.message["color"]].append(event.event_id)
                time.sleep(0.03)

        put(40)
        gateway_of(stack).kill()  # SIGKILL, mid-stream
        put(40)  # while the gateway is down
        deadline = time.monotonic() + 30
        while "gateway: restarted" not in stack.output and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "gateway exited with code -9; restarting" in stack.output, stack.output
        assert "gateway: restarted" in stack.output, stack.output
        put(40)
        every = {event_id for ids in sent.values() for event_id in ids}
        deadline = time.monotonic() + 60
        while not every <= set(viewer.arrived) and time.monotonic() < deadline:
            time.sleep(0.2)
        missing = every - set(viewer.arrived)
        assert not missing, f"{len(missing)} of {len(every)} acknowledged records not delivered"
        assert viewer.connects >= 2
        first_seen: dict[str, int] = {}
        for index, event_id in enumerate(viewer.arrived):
            first_seen.setdefault(event_id, index)
        for color, ids in sent.items():
            assert sorted(ids, key=first_seen.__getitem__) == ids, f"order broken for {color}"
    finally:
        if viewer is not None:
            viewer.stop.set()
        code = stack.stop()
    assert code in (0, 130), stack.output
    for port in stack.ports.values():
        assert port_is_free(port)


def child_running(stack: Stack, module: str) -> psutil.Process:
    (child,) = [
        child
        for child in psutil.Process(stack.process.pid).children()
        if child.cmdline()[1:3] == ["-m", module]
    ]
    return child


@pytest.mark.slow
def test_players_dying_are_reported_and_the_backend_dying_stops_the_stack():
    stack = Stack("--simulate", "1", "--rate", "2", env=stack_env())
    try:
        assert stack.ready.wait(READY_TIMEOUT_S), stack.output
        child_running(stack, "producer").kill()
        deadline = time.monotonic() + 10
        while "the rest goes on" not in stack.output and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "players exited with code -9; the rest goes on" in stack.output, stack.output
        assert stack.process.poll() is None
        children = children_of(stack)
        child_running(stack, "gateway_adapter.embedded").kill()
        assert stack.process.wait(timeout=30) == 1, stack.output
    finally:
        if stack.process.poll() is None:
            stack.stop()
    deadline = time.monotonic() + 5
    while "stopped" not in stack.output and time.monotonic() < deadline:
        time.sleep(0.1)  # the output reader may be a line behind the exit
    assert "embedded AWS exited with code -9 (the stack cannot run without it)" in stack.output
    _, alive = psutil.wait_procs(children, timeout=15)
    assert alive == []
