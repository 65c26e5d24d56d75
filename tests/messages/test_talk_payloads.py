"""The talk's own producer and clients, at the contract: events without EventId or SentAt, the
D-pad's neutral positions, and `"*"` filters on fields a type lacks."""

from __future__ import annotations

import json

import pytest

from messages import (
    Stamp,
    ValidationError,
    decode_kinesis_data,
    decode_submit,
    decode_subscribe,
    first_match,
)
from tests.fixtures.talk.payloads import (
    OTHER_EVENTS,
    PRESSES,
    SUBMIT_DIAGRAM,
    SUBSCRIBE,
    kinesis_format,
    websocket_format,
)

STAMP = Stamp("shardId-000000000000:4959", 1575929040123)


@pytest.mark.parametrize("message", PRESSES, ids=lambda m: m["button"])
def test_the_talks_presses_are_accepted_on_both_paths_and_stamped(message):
    via_kinesis = decode_kinesis_data(kinesis_format(message).encode("utf-8"), STAMP)
    via_ws = decode_submit(json.dumps(websocket_format(message)), Stamp("Ec8fWcXaoAMCJBw=", 7))
    assert via_kinesis.message == {**message, "source": "kinesis"}
    assert via_ws.message == {**message, "source": "websocket"}
    assert (via_kinesis.event_id, via_kinesis.sent_at) == (STAMP.event_id, STAMP.sent_at)
    assert (via_ws.event_id, via_ws.sent_at) == ("Ec8fWcXaoAMCJBw=", 7)


def test_the_slides_submit_diagram_is_accepted():
    event = decode_submit(json.dumps(SUBMIT_DIAGRAM), STAMP)
    assert event.message["axis"] is None
    assert event.message["value"] is None


@pytest.mark.parametrize("body", OTHER_EVENTS, ids=lambda b: b["MessageType"])
def test_the_other_types_without_ids_are_accepted(body):
    event = decode_kinesis_data(json.dumps(body).encode(), STAMP)
    assert event.message == body["Message"]
    assert event.event_id == STAMP.event_id


def test_without_a_stamp_an_absent_id_is_made_afresh():
    data = json.dumps(OTHER_EVENTS[0]).encode()
    first, second = decode_kinesis_data(data), decode_kinesis_data(data)
    assert first.event_id != second.event_id
    assert first.sent_at > 0


def test_ids_that_are_present_win_over_the_stamp():
    body = {**OTHER_EVENTS[0], "EventId": "mine", "SentAt": 5}
    event = decode_kinesis_data(json.dumps(body).encode(), STAMP)
    assert (event.event_id, event.sent_at) == ("mine", 5)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"EventId": None}, "EventId"),
        ({"EventId": "x" * 65}, "EventId"),
        ({"SentAt": None}, "SentAt"),
        ({"SentAt": -1}, "SentAt"),
        ({"SentAt": True}, "SentAt"),
    ],
)
def test_present_but_invalid_ids_are_still_refused(extra, field):
    with pytest.raises(ValidationError) as caught:
        decode_kinesis_data(json.dumps({**OTHER_EVENTS[0], **extra}).encode(), STAMP)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("axis", "value", "field"),
    [("1", 0, "Message.axis"), (1, 2, "Message.value"), (-1, 0, "Message.axis")],
)
def test_out_of_shape_axis_and_value_are_refused(axis, value, field):
    message = {"color": "red", "button": "VERT_NEUTRAL", "axis": axis, "value": value}
    with pytest.raises(ValidationError) as caught:
        decode_kinesis_data(kinesis_format(message).encode(), STAMP)
    assert caught.value.field == field


def test_the_talks_subscription_list_is_accepted_and_matches_every_event():
    subscriptions = decode_subscribe(json.dumps(SUBSCRIBE))
    assert [s.filter_field for s in subscriptions] == ["event", "color", "key", "key", "key"]
    for body in [*OTHER_EVENTS, {"MessageType": "NESClick", "Message": PRESSES[0]}]:
        chosen = first_match(subscriptions, body["MessageType"], body["Message"])
        assert chosen is not None and chosen.event_type == body["MessageType"]


def test_a_real_filter_on_a_missing_field_is_still_an_error():
    raw = {**SUBSCRIBE["subscriptions"][4], "filter_expr": "A*"}
    with pytest.raises(ValidationError) as caught:
        decode_subscribe(json.dumps({"action": "subscribe", "subscriptions": [raw]}))
    assert caught.value.field == "subscriptions[0].filter_field"
    assert "not a field of TranscribeEvent" in caught.value.reason


def test_a_filter_field_that_is_not_a_name_is_refused():
    raw = {"event_type": "NESClick", "filter_field": ["color"], "filter_expr": "*"}
    with pytest.raises(ValidationError, match="field name"):
        decode_subscribe(json.dumps({"action": "subscribe", "subscriptions": [raw]}))
