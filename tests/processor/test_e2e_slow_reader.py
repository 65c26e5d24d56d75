"""A viewer that never reads beside a healthy one, on both paths, through the real gateway
(its buffer per client, its 429 LimitExceededException when that buffer is full) and its
event source mapping: the healthy one gets every event once and promptly, the shard never
waits for the stalled one, and the stalled one is disconnected after repeated overflows."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import boto3
import pytest
import websocket
from botocore.config import Config

from messages import Event, Subscription, encode_kinesis_data, submit_envelope, subscribe_envelope
from processor.fanout import OVERFLOW_LIMIT
from tests.conftest import TEST_STREAM

from .conftest import REGION, GatewayProcess, make_token

pytestmark = pytest.mark.slow

CLICK = {"color": "red", "button": "B", "axis": None, "value": None, "source": "websocket"}
PER_PATH = 6  # 12 events: more than OVERFLOW_LIMIT drops for the stalled viewer
PROMPT_S = 5.0  # the mapping polls every 0.2 s here; a stalled shard takes far longer


@pytest.fixture
def sockets() -> Iterator[list[websocket.WebSocket]]:
    opened: list[websocket.WebSocket] = []
    yield opened
    for ws in opened:
        ws.close()


def viewer(gateway: GatewayProcess, sockets: list, **options) -> websocket.WebSocket:
    ws = websocket.create_connection(gateway.url(make_token("viewer")), timeout=10, **options)
    sockets.append(ws)
    ws.send(subscribe_envelope([Subscription.from_dict({"event_type": "NESClick"})]))
    assert json.loads(ws.recv())["status"] == "subscribed"
    return ws


def put(kinesis, *events: Event) -> None:
    records = [{"Data": encode_kinesis_data(e), "PartitionKey": "red"} for e in events]
    assert kinesis.put_records(StreamName=TEST_STREAM, Records=records)["FailedRecordCount"] == 0


def drain(ws: websocket.WebSocket, quiet_s: float = 0.5) -> list[dict]:
    frames = []
    ws.settimeout(quiet_s)
    while True:
        try:
            frames.append(json.loads(ws.recv()))
        except websocket.WebSocketTimeoutException:
            return frames


def fill_buffer(gateway: GatewayProcess, connection_id: str, full_for_s: float = 1.0) -> int:
    """Posts 128 KB frames to a client that does not read until the gateway has answered
    429 for `full_for_s` in a row: the kernel's send buffer grows for a while (autotuning)
    and takes some of the gateway's, so a first 429 alone is not a full reader yet."""
    management = boto3.client(
        "apigatewaymanagementapi",
        region_name=REGION,
        endpoint_url=f"http://{gateway.domain_name}/test",
        config=Config(retries={"max_attempts": 0}),
    )
    posted, full_since = 0, None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            management.post_to_connection(ConnectionId=connection_id, Data=b"z" * 131072)
            posted, full_since = posted + 1, None
        except management.exceptions.LimitExceededException:
            full_since = full_since or time.monotonic()
            if time.monotonic() - full_since >= full_for_s:
                return posted
            time.sleep(0.02)
    pytest.fail("the stalled client's buffer never stayed full")


def wait_for_the_mapping(kinesis, healthy: websocket.WebSocket) -> None:
    """The mapping starts at LATEST: probe until one record arrives."""
    healthy.settimeout(2)
    for _ in range(15):
        put(kinesis, Event.create("NESClick", CLICK))
        try:
            healthy.recv()
            drain(healthy)
            return
        except websocket.WebSocketTimeoutException:
            continue
    pytest.fail("the event source mapping never delivered a record")


def test_a_viewer_that_never_reads_costs_the_others_nothing_on_both_paths(
    gateway_with_triggers: GatewayProcess,
    processor_env,
    store,
    stored,
    aws_client_same_backend,
    sockets,
):
    gateway, kinesis = gateway_with_triggers, aws_client_same_backend("kinesis")
    healthy = viewer(gateway, sockets)
    wait_for_the_mapping(kinesis, healthy)
    (healthy_id,) = (s.connection_id for s in store.subscribers("NESClick").subscribers)
    # The stalled viewer: a small receive buffer, and it never reads again.
    viewer(gateway, sockets, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    (stalled_id,) = {s.connection_id for s in store.subscribers("NESClick").subscribers} - {
        healthy_id
    }
    assert fill_buffer(gateway, stalled_id) > 0

    shipper = websocket.create_connection(gateway.url(make_token("shipper")), timeout=10)
    sockets.append(shipper)
    healthy.settimeout(PROMPT_S)
    sent = [Event.create("NESClick", CLICK) for _ in range(PER_PATH)]
    for event in sent:  # the WebSocket path: each within PROMPT_S of its submit
        shipper.send(submit_envelope(event))
        assert json.loads(healthy.recv())["event_id"] == event.event_id

    streamed = [Event.create("NESClick", CLICK) for _ in range(PER_PATH)]
    started = time.monotonic()
    put(kinesis, *streamed)  # the Kinesis path: one batch, never retried for the stalled one
    frames = [json.loads(healthy.recv()) for _ in streamed]
    assert time.monotonic() - started < PROMPT_S
    assert [f["event_id"] for f in frames] == [e.event_id for e in streamed]
    assert {f["source"] for f in frames} == {"kinesis"}
    # Every event once: no record was retried (a retried batch would be back within a poll
    # interval plus one invocation, well inside this window).
    assert drain(healthy, quiet_s=1.5) == []

    # Twelve dropped frames in a row: the stalled viewer is disconnected and leaves the table.
    assert 2 * PER_PATH >= OVERFLOW_LIMIT
    deadline = time.monotonic() + 10
    while stored.connection(stalled_id) is not None:
        assert time.monotonic() < deadline, "the stalled viewer was never disconnected"
        time.sleep(0.05)
    assert stored.connection(healthy_id) is not None
    later = Event.create("NESClick", CLICK)
    put(kinesis, later)  # the shard still flows
    assert json.loads(healthy.recv())["event_id"] == later.event_id
