"""End to end: real WebSocket clients, the real gateway adapter (a child process running
serverless.yml at stage `test`), the handlers inside it, the embedded backend."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import websocket

from messages import (
    Event,
    Subscription,
    decode_spectator_frame,
    submit_envelope,
    subscribe_envelope,
)
from processor.handlers import send_iot_message
from processor.store import Connection

from .aws_events import kinesis_event
from .conftest import GatewayProcess, make_token

pytestmark = pytest.mark.slow

# Per event type: a message, a filter it passes, one it fails, and a projection.
CASES: dict[str, tuple[dict[str, Any], tuple[str, str], tuple[str, str], list[str]]] = {
    "NESClick": (
        {"color": "red", "button": "A", "axis": None, "value": None, "source": "websocket"},
        ("color", "r*"), ("color", "blue"), ["button", "source"],
    ),
    "DashClick": (
        {"event": "toggle-game", "click_type": "DOUBLE"},
        ("click_type", "DOUBLE"), ("click_type", "SINGLE"), ["event"],
    ),
    "PhotoUpload": (
        {"bucket": "b", "key": "faces/1.jpg", "emotion": "HAPPY", "confidence": 97.5},
        ("emotion", "HAP*"), ("emotion", "SAD"), ["key", "confidence"],
    ),
    "PhotoCropped": (
        {"bucket": "b", "key": "crops/1.jpg"},
        ("key", "crops/*"), ("key", "faces/*"), ["key"],
    ),
    "TranscribeEvent": (
        {"transcribed_text": "ready set go"},
        ("transcribed_text", "*go*"), ("transcribed_text", "stop*"), ["transcribed_text"],
    ),
}  # fmt: skip
QUIET_S = 0.5  # how long a spectator that should get nothing is watched


@pytest.fixture
def sockets() -> Iterator[list[websocket.WebSocket]]:
    opened: list[websocket.WebSocket] = []
    yield opened
    for ws in opened:
        ws.close()


@pytest.fixture
def client(gateway: GatewayProcess, processor_env, sockets):
    def open_as(role: str, subscriptions: list[dict] | None = None) -> websocket.WebSocket:
        ws = websocket.create_connection(gateway.url(make_token(role)), timeout=10)
        sockets.append(ws)
        if subscriptions is not None:
            subs = [Subscription.from_dict(s) for s in subscriptions]
            ws.send(subscribe_envelope(subs))
            answer = json.loads(ws.recv())
            kept = [s.to_dict() for s in subs]
            assert answer == {"status": "subscribed", "subscriptions": kept, "batched": False}
        return ws

    return open_as


def spectators(event_type: str, client) -> tuple[websocket.WebSocket, ...]:
    _, (field, passes), (_, fails), desired = CASES[event_type]
    other = "DashClick" if event_type == "NESClick" else "NESClick"
    matching = client(
        "viewer",
        [
            {"event_type": other},
            {"event_type": event_type, "filter_field": field, "filter_expr": passes,
             "desired_fields": desired},
            {"event_type": event_type},  # would match too, but comes later: it doesn't decide
        ],
    )  # fmt: skip
    filtered = client(
        "viewer", [{"event_type": event_type, "filter_field": field, "filter_expr": fails}]
    )
    elsewhere = client("viewer", [{"event_type": other}])
    return matching, filtered, elsewhere


def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def assert_silent(*sockets: websocket.WebSocket) -> None:
    for ws in sockets:
        ws.settimeout(QUIET_S)
        with pytest.raises(websocket.WebSocketTimeoutException):
            frame = ws.recv()
            pytest.fail(f"unexpected frame {frame!r}")


def expect_frame(ws: websocket.WebSocket, event: Event, source: str) -> None:
    frame = decode_spectator_frame(ws.recv())
    message, _, _, desired = CASES[event.message_type.value]
    expected = {name: message[name] for name in desired}
    if "source" in expected:
        expected["source"] = source
    assert frame == {
        "message_type": event.message_type.value,
        "payload": expected,
        "event_id": event.event_id,
        "sent_at": event.sent_at,
        "source": source,
    }


@pytest.mark.parametrize("event_type", list(CASES))
def test_websocket_path_reaches_exactly_the_matching_spectators(client, event_type):
    matching, filtered, elsewhere = spectators(event_type, client)
    shipper = client("shipper")
    event = Event.create(event_type, CASES[event_type][0])
    shipper.send(submit_envelope(event))
    expect_frame(matching, event, "websocket")
    assert_silent(filtered, elsewhere, shipper)


@pytest.mark.parametrize("event_type", list(CASES))
def test_kinesis_path_reaches_exactly_the_matching_spectators(client, event_type):
    matching, filtered, elsewhere = spectators(event_type, client)
    event = Event.create(event_type, CASES[event_type][0])
    assert send_iot_message.handle(kinesis_event(event), None) == {"batchItemFailures": []}
    expect_frame(matching, event, "kinesis")
    assert_silent(filtered, elsewhere)


def test_a_poison_record_does_not_block_the_batch(client):
    (matching, *_) = spectators("NESClick", client)
    first, second = (Event.create("NESClick", CASES["NESClick"][0]) for _ in range(2))
    batch = kinesis_event(first, b'{"MessageType":"NESClick","Message":{}}', b"\xff", second)
    assert send_iot_message.handle(batch, None) == {"batchItemFailures": []}
    expect_frame(matching, first, "kinesis")
    expect_frame(matching, second, "kinesis")


def test_a_gone_connection_is_removed_with_its_subscriptions(client, gateway, store, stored):
    """A connection whose $disconnect was lost: the gateway answers 410 for it."""
    (matching, *_) = spectators("PhotoCropped", client)
    ghost = Connection("ghost0000000000=", gateway.domain_name, "test", "viewer", "v", 0)
    store.put_many([(ghost, [Subscription.from_dict({"event_type": "PhotoCropped"})])])
    event = Event.create("PhotoCropped", CASES["PhotoCropped"][0])
    client("shipper").send(submit_envelope(event))
    expect_frame(matching, event, "websocket")
    # The handler removes gone connections after its posts: poll until it has.
    eventually(lambda: stored.items(ghost.connection_id) == [])
    assert ghost.connection_id not in {
        s.connection_id for s in store.subscribers("PhotoCropped").subscribers
    }


def test_disconnect_removes_the_connection_and_its_subscriptions(client, store, stored):
    ws = client("viewer", [{"event_type": "DashClick"}])
    (subscriber,) = store.subscribers("DashClick").subscribers
    ws.close()
    eventually(lambda: stored.items(subscriber.connection_id) == [])


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (None, 401),
        ("", 401),
        ("garbage", 403),
        (make_token("shipper")[:-4] + "AAAA", 403),
        (make_token("shipper", ttl_s=-5), 403),
    ],
    ids=["missing", "empty", "malformed", "tampered", "expired"],
)
def test_bad_tokens_are_refused_at_the_handshake(gateway, processor_env, token, status):
    url = gateway.url() if token is None else f"{gateway.url()}?token={token}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, timeout=10)
    assert refused.value.status_code == status


def test_a_viewer_that_submits_gets_an_error_and_nothing_is_sent(client):
    (matching, *_) = spectators("NESClick", client)
    viewer = client("viewer")
    viewer.send(submit_envelope(Event.create("NESClick", CASES["NESClick"][0])))
    answer = json.loads(viewer.recv())
    assert (answer["status"], answer["error"]) == ("error", "forbidden")
    assert_silent(matching)


def test_an_invalid_submission_names_the_field(client):
    shipper = client("shipper")
    shipper.send(json.dumps({"action": "submitIotEvent", "event": {"MessageType": "NESEClick"}}))
    answer = json.loads(shipper.recv())
    assert (answer["error"], answer["field"]) == ("invalid_event", "MessageType")


def test_a_bad_subscription_is_answered_on_the_route_response(client):
    ws = client("viewer")
    ws.send(json.dumps({"action": "subscribe", "subscriptions": [{"event_type": "NESEClick"}]}))
    answer = json.loads(ws.recv())
    assert (answer["status"], answer["field"]) == ("error", "subscriptions[0].event_type")
