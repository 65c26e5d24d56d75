from __future__ import annotations

import dataclasses
import json

import pytest

from messages import (
    EVENT_TYPES,
    Event,
    Source,
    UnknownEventType,
    ValidationError,
    batched_frames,
    error_frame,
    spectator_frame,
    subscribed_frame,
)
from spectator.watch_model import WatchState, build_subscriptions, describe_error


def test_one_subscription_per_type_with_filter_and_projection() -> None:
    (sub,) = build_subscriptions(["NESClick"], "color=r*", ["color", "button"])
    assert sub.to_dict() == {
        "event_type": "NESClick",
        "filter_field": "color",
        "filter_expr": "r*",
        "desired_fields": ["color", "button"],
    }


def test_no_types_means_all_five_unfiltered() -> None:
    subs = build_subscriptions([], None, None)
    assert [s.event_type.value for s in subs] == list(EVENT_TYPES)
    assert all(s.filter_expr == "*" and s.desired_fields is None for s in subs)


@pytest.mark.parametrize(
    ("types", "filter_expr", "fields", "field"),
    [
        (["NESEClick"], None, None, "--types"),
        (["NESClick"], "color", None, "--filter"),
        (["NESClick"], "=red", None, "--filter"),
        (["NESClick"], "color=", None, "--filter"),
        (["DashClick"], "color=red", None, "subscriptions[0].filter_field"),
        (["NESClick"], None, ["colour"], "subscriptions[0].desired_fields"),
        (["NESClick"], "color=" + "x" * 300, None, "subscriptions[0].filter_expr"),
    ],
)
def test_bad_options_name_the_field(
    types: list[str], filter_expr: str | None, fields: list[str] | None, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        build_subscriptions(types, filter_expr, fields)
    assert info.value.field == field


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(UnknownEventType, match="known types: NESClick, DashClick"):
        build_subscriptions(["NESEClick"], None, None)


def _press(color: str = "red") -> Event:
    return Event.create("NESClick", {"color": color, "button": "A", "source": "websocket"})


def test_events_feed_latency_per_path_and_duplicates_are_counted() -> None:
    state = WatchState()
    event = _press()
    ws_frame = spectator_frame(event, Source.WEBSOCKET, {"color": "red"})
    kinesis_frame = spectator_frame(event, Source.KINESIS, {"color": "red"})
    first = state.receive(ws_frame, event.sent_at + 12)
    assert first.kind == "event" and first.latency_ms == 12 and not first.duplicate
    assert first.frame["payload"] == {"color": "red"}
    assert state.receive(kinesis_frame, event.sent_at + 300).source == "kinesis"
    again = state.receive(ws_frame, event.sent_at + 50)
    assert again.duplicate
    assert state.duplicates == {"websocket": 1, "kinesis": 0}
    assert state.latency["websocket"].summary()["p50"] == 12
    assert state.latency["kinesis"].summary()["p99"] == 300
    assert state.events == 3
    assert len(state.recent) == 3


def test_control_frames_and_garbage() -> None:
    state = WatchState()
    assert state.receive(subscribed_frame([{"event_type": "NESClick"}]), 0).kind == "subscribed"
    assert state.subscribed == [{"event_type": "NESClick"}]
    error = state.receive(error_frame("invalid_subscription", "nope", "subscriptions[0]"), 0)
    assert error.kind == "error"
    assert "nope" in describe_error(error.frame)
    assert "subscriptions[0]" in describe_error(error.frame)
    for garbage in ["not json", "[1, 2]", json.dumps({"message_type": "NESClick"})]:
        assert state.receive(garbage, 0).kind == "invalid"
    assert state.invalid == 3
    assert state.events == 0


def test_a_batched_frame_is_each_of_its_events_in_order() -> None:
    state = WatchState()
    # One sent_at for all three: each press's latency is then exactly 200 ms, whatever the
    # clock did between creating them (CI once saw 199).
    first = _press("red")
    presses = [
        dataclasses.replace(_press(c), sent_at=first.sent_at) for c in ("red", "blue", "red")
    ]
    frames = [spectator_frame(p, Source.KINESIS, p.message).encode() for p in presses]
    [batch] = batched_frames(frames)
    received = list(state.receive_frames(batch.data, first.sent_at + 200))
    assert [r.frame["event_id"] for r in received] == [p.event_id for p in presses]
    assert {r.kind for r in received} == {"event"} and state.events == 3
    assert state.latency["kinesis"].summary()["p50"] == 200
    # Applied one at a time: the state a caller sees after each is that event's.
    state = WatchState()
    seen = [state.recent[-1].frame["event_id"] for _ in state.receive_frames(batch.data, 0)]
    assert seen == [p.event_id for p in presses]
    assert state.receive('{"frames": [1]}', 0).kind == "invalid"
    assert state.receive('{"frames": []}', 0).kind == "invalid"
    assert state.invalid == 2
