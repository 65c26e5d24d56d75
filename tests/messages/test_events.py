from __future__ import annotations

from typing import Any

import pytest

from messages import (
    EVENT_TYPES,
    Event,
    EventType,
    Source,
    UnknownEventType,
    ValidationError,
    parse_event_type,
    validate_message,
)

VALID: dict[str, dict[str, Any]] = {
    "NESClick": {
        "color": "blue",
        "button": "A",
        "axis": None,
        "value": None,
        "source": "websocket",
    },
    "DashClick": {"event": "toggle-game", "click_type": "SINGLE"},
    "PhotoUpload": {"bucket": "b", "key": "k.jpg", "emotion": "HAPPY", "confidence": 97.5},
    "PhotoCropped": {"bucket": "b", "key": "k.png"},
    "TranscribeEvent": {"transcribed_text": "Ada"},
}


def test_every_event_type_has_a_valid_example():
    assert set(VALID) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_valid_messages_pass_unchanged(event_type):
    assert validate_message(EventType(event_type), VALID[event_type]) == VALID[event_type]


def test_optional_fields_default_to_null():
    message = validate_message(
        EventType.NES_CLICK, {"color": "red", "button": "UP", "source": "kinesis"}
    )
    assert message["axis"] is None and message["value"] is None


@pytest.mark.parametrize(
    ("event_type", "message", "field", "reason"),
    [
        ("NESClick", {**VALID["NESClick"], "color": "purple"}, "Message.color", "not one of"),
        ("NESClick", {**VALID["NESClick"], "button": 3}, "Message.button", "must be a string"),
        (
            "NESClick",
            {k: v for k, v in VALID["NESClick"].items() if k != "color"},
            "Message.color",
            "required",
        ),
        ("NESClick", {**VALID["NESClick"], "value": True}, "Message.value", "boolean"),
        ("NESClick", {**VALID["NESClick"], "value": 2}, "Message.value", "outside"),
        ("NESClick", {**VALID["NESClick"], "extra": 1}, "Message.extra", "not a field of NESClick"),
        (
            "DashClick",
            {**VALID["DashClick"], "click_type": "TRIPLE"},
            "Message.click_type",
            "not one of",
        ),
        (
            "PhotoUpload",
            {**VALID["PhotoUpload"], "confidence": float("nan")},
            "Message.confidence",
            "finite",
        ),
        (
            "PhotoUpload",
            {**VALID["PhotoUpload"], "confidence": 101},
            "Message.confidence",
            "outside",
        ),
        ("PhotoCropped", {"bucket": "b", "key": None}, "Message.key", "must not be null"),
        ("TranscribeEvent", {"transcribed_text": "x" * 5000}, "Message.transcribed_text", "longer"),
        ("TranscribeEvent", ["not", "an", "object"], "Message", "must be an object"),
    ],
)
def test_invalid_messages_name_the_field_and_the_reason(event_type, message, field, reason):
    with pytest.raises(ValidationError) as caught:
        validate_message(EventType(event_type), message)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_unknown_event_type_lists_the_known_ones():
    with pytest.raises(UnknownEventType) as caught:
        parse_event_type("NESEClick")  # the talk's own typo
    assert "NESEClick" in str(caught.value)
    for known in EVENT_TYPES:
        assert known in str(caught.value)


def test_events_carry_an_id_and_send_time():
    first = Event.create("DashClick", VALID["DashClick"])
    second = Event.create("DashClick", VALID["DashClick"])
    assert first.event_id != second.event_id
    assert abs(first.sent_at - second.sent_at) < 1000 and first.sent_at > 1_700_000_000_000


def test_with_source_stamps_only_types_that_carry_it():
    nes = Event.create("NESClick", VALID["NESClick"])
    stamped = nes.with_source(Source.KINESIS)
    assert stamped.message["source"] == "kinesis"
    assert (stamped.event_id, stamped.sent_at) == (nes.event_id, nes.sent_at)
    dash = Event.create("DashClick", VALID["DashClick"])
    assert dash.with_source(Source.KINESIS) is dash
