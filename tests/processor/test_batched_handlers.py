"""Batched frames through the handlers (embedded backend, the stand-in @connections API): the
opt-in stored and echoed, one frame per Kinesis invocation for the connections that asked and
one per event for the others, the WebSocket path never batched, and failures per record."""

from __future__ import annotations

import json

import pytest

from messages import Event, Subscription, submit_envelope, subscribe_envelope, unbatch
from processor.handlers import send_iot_message, subscribe

from .aws_events import kinesis_event, websocket_event
from .test_handlers import RED_A, SHIPPER, connect, submit

NES = [Subscription.from_dict({"event_type": "NESClick"})]
DASH = {"event": "toggle-game", "click_type": "SINGLE"}


@pytest.fixture
def env(processor_env, connections):
    return connections


def subscribing(sink, cid: str, body: str) -> dict:
    answer = subscribe.handle(websocket_event("subscribe", cid, sink.domain_name, body=body), None)
    return json.loads(answer["body"])


def batched_spectator(sink, cid: str, subs: list[Subscription] = NES) -> None:
    connect(sink, cid)
    assert subscribing(sink, cid, subscribe_envelope(subs, batched=True))["batched"] is True


def frames_of(sink, cid: str) -> list[list[dict]]:
    with sink._lock:
        return [unbatch(data) for data in sink.frames.get(cid, [])]


def test_the_opt_in_is_stored_echoed_and_cleared(env, store):
    batched_spectator(env, "b=")
    (subscriber,) = store.subscribers("NESClick").subscribers
    assert subscriber.batched is True
    # A bad value is refused and changes nothing: still batched.
    bad = json.dumps({"action": "subscribe", "subscriptions": [], "batched": "yes"})
    refused = subscribing(env, "b=", bad)
    assert (refused["status"], refused["error"], refused["field"]) == (
        "error",
        "invalid_subscription",
        "batched",
    )
    assert store.subscribers("NESClick").subscribers[0].batched is True
    # Replacing without it (the talk's request) clears it.
    assert subscribing(env, "b=", subscribe_envelope(NES))["batched"] is False
    assert store.subscribers("NESClick").subscribers[0].batched is False


def test_a_kinesis_batch_is_one_frame_for_batched_and_one_per_event_for_the_talk(env, log_lines):
    batched_spectator(env, "b=")
    connect(env, "talk=", subs=[{"event_type": "NESClick"}])
    clicks = [Event.create("NESClick", RED_A) for _ in range(5)]
    batch = kinesis_event(*clicks)
    assert send_iot_message.handle(batch, None) == {"batchItemFailures": []}
    [frame] = frames_of(env, "b=")
    assert [f["event_id"] for f in frame] == [c.event_id for c in clicks]
    talk = frames_of(env, "talk=")
    assert [f["event_id"] for [f] in talk] == [c.event_id for c in clicks]
    assert env.received("talk=")[0] == frame[0]  # the very frame, batched or not
    summary = log_lines[-1]
    assert (summary["delivered"], summary["events_delivered"]) == (6, 10)


def test_a_batched_frame_follows_the_batch_order_across_types(env):
    batched_spectator(env, "b=", [*NES, Subscription.from_dict({"event_type": "DashClick"})])
    first, third = (Event.create("NESClick", RED_A) for _ in range(2))
    second = Event.create("DashClick", DASH)
    send_iot_message.handle(kinesis_event(first, second, third), None)
    [frame] = frames_of(env, "b=")
    assert [f["event_id"] for f in frame] == [first.event_id, second.event_id, third.event_id]


def test_the_websocket_path_never_batches(env):
    batched_spectator(env, "b=")
    connect(env, "ship=", SHIPPER)
    events = [Event.create("NESClick", RED_A) for _ in range(2)]
    for event in events:
        submit(env, "ship=", submit_envelope(event))
    with env._lock:
        raw = list(env.frames["b="])
    assert all(b'"frames"' not in data for data in raw)
    assert [f["event_id"] for f in env.received("b=")] == [e.event_id for e in events]


def test_a_batched_connection_failing_alone_loses_only_its_frame(env, log_lines):
    batched_spectator(env, "broken=")
    batched_spectator(env, "ok=")
    env.fail_5xx["broken="] = 1000
    batch = kinesis_event(*(Event.create("NESClick", RED_A) for _ in range(3)))
    assert send_iot_message.handle(batch, None) == {"batchItemFailures": []}
    assert len(frames_of(env, "ok=")) == 1
    assert (log_lines[-1]["abandoned"], log_lines[-1]["failed"]) == (1, 0)


def test_an_endpoint_failing_fails_the_records_its_batched_posts_carried(env, log_lines):
    batched_spectator(env, "a=")
    batched_spectator(env, "b=", [Subscription.from_dict({"event_type": "DashClick"})])
    env.fail_5xx["a="] = env.fail_5xx["b="] = 1000
    click = Event.create("NESClick", RED_A)
    batch = kinesis_event(b"poison", Event.create("DashClick", DASH), click, click)
    result = send_iot_message.handle(batch, None)
    sequence = [r["kinesis"]["sequenceNumber"] for r in batch["Records"]]
    assert result == {"batchItemFailures": [{"itemIdentifier": s} for s in sequence[1:]]}
    assert log_lines[-1]["failed"] == 2  # two posts, each counted once
