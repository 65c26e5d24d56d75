from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import (
    COLORS,
    NES_BUTTONS,
    Event,
    EventType,
    Source,
    ValidationError,
    classify_answer,
    decode_event,
    decode_kinesis_data,
    decode_spectator_frame,
    encode_kinesis_data,
    error_frame,
    spectator_frame,
    submit_envelope,
)

nes_clicks = st.builds(
    lambda color, button, axis, value, source: Event.create(
        "NESClick",
        {"color": color, "button": button, "axis": axis, "value": value, "source": source},
    ),
    st.sampled_from(COLORS),
    st.sampled_from(NES_BUTTONS),
    st.none() | st.integers(0, 63),
    st.none() | st.floats(-1, 1, allow_nan=False),
    st.sampled_from([s.value for s in Source]),
)
texts = st.text(max_size=200)
other_events = st.one_of(
    st.builds(lambda t: Event.create("TranscribeEvent", {"transcribed_text": t}), texts),
    st.builds(lambda b, k: Event.create("PhotoCropped", {"bucket": b, "key": k}), texts, texts),
    st.builds(
        lambda e, c: Event.create("DashClick", {"event": e, "click_type": c}),
        st.sampled_from(["toggle-kinesis", "toggle-game", "toggle-selection"]),
        st.sampled_from(["SINGLE", "DOUBLE", "LONG"]),
    ),
)
events = nes_clicks | other_events


@given(events)
def test_kinesis_data_round_trips(event):
    assert decode_kinesis_data(encode_kinesis_data(event)) == event


@given(events)
def test_submit_envelope_round_trips(event):
    envelope = json.loads(submit_envelope(event))
    assert envelope["action"] == "submitIotEvent"
    assert decode_event(envelope["event"]) == event


@given(events)
def test_spectator_frame_carries_the_payload_as_a_json_string(event):
    frame = json.loads(spectator_frame(event, Source.WEBSOCKET, event.message))
    assert isinstance(frame["payload"], str)
    assert json.loads(frame["payload"]) == event.message
    assert frame["message_type"] == event.message_type.value
    assert (frame["event_id"], frame["sent_at"], frame["source"]) == (
        event.event_id,
        event.sent_at,
        "websocket",
    )
    assert decode_spectator_frame(spectator_frame(event, Source.KINESIS, {}))["payload"] == {}


def test_the_talks_envelope_shape_is_accepted_with_id_and_time():
    body = {
        "MessageType": "NESClick",
        "Message": {
            "color": "blue",
            "button": "A",
            "axis": None,
            "value": None,
            "source": "websocket",
        },
        "EventId": "e1",
        "SentAt": 1,
    }
    assert decode_event(body).message_type is EventType.NES_CLICK


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"not json", "data"),
        (b"\xff\xfe", "data"),
        (b"[1, 2]", "event"),
        (b'{"MessageType": "Nope", "Message": {}}', "MessageType"),
        (
            b'{"MessageType": "PhotoCropped", "Message": {"bucket": "b", "key": "k"}, '
            b'"EventId": ""}',
            "EventId",
        ),
        (
            b'{"MessageType": "PhotoCropped", "Message": {"bucket": "b", "key": "k"}, '
            b'"EventId": "x", "SentAt": "yesterday"}',
            "SentAt",
        ),
    ],
)
def test_bad_records_name_what_is_wrong(data, field):
    with pytest.raises(ValidationError) as caught:
        decode_kinesis_data(data)
    assert caught.value.field == field


def test_error_frame_names_the_field():
    frame = json.loads(error_frame("invalid_event", "Message.color: bad", "Message.color"))
    assert frame == {
        "status": "error",
        "error": "invalid_event",
        "message": "Message.color: bad",
        "field": "Message.color",
    }


@pytest.mark.parametrize(
    ("frame", "answer"),
    [
        ('{"message": "Internal server error", "connectionId": "c=", "requestId": "r="}', "failed"),
        ('{"message": "Forbidden", "connectionId": "c=", "requestId": "r="}', "refused"),
        (error_frame("invalid_event", "Message.color: is required", "Message.color"), "refused"),
        ('{"message": "Internal server error"}', "other"),  # not API Gateway's frame
        ('{"message_type": "NESClick"}', "other"),
        ("[" * 20_000, "other"),
        ("not json", "other"),
        (b"\xff", "other"),
    ],
)
def test_a_shipper_tells_the_answers_to_its_submits_apart(frame: str, answer: str) -> None:
    assert classify_answer(frame) == answer
