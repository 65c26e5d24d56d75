"""The checked-in JSON Schema is the code's (no drift), its examples are what the code makes,
and the schema and the Python decoders agree on what is valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from messages import (
    SCHEMAS,
    ContractError,
    MessageField,
    Source,
    Stamp,
    batched_frames,
    decode_event,
    decode_subscribe_request,
    error_frame,
    spectator_frame,
    subscribed_frame,
)
from messages.schema import schema_text, wire_schema
from tests.fixtures.talk.payloads import OTHER_EVENTS, PRESSES, SUBSCRIBE

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "messages" / "wire-schema.json"
SCHEMA = wire_schema()


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{name}"})


def test_the_checked_in_schema_is_the_codes():
    assert CHECKED_IN.read_text() == schema_text(), (
        "messages/wire-schema.json drifted: run `python -m messages schema > "
        "messages/wire-schema.json` and commit it"
    )


def test_the_module_prints_the_schema():
    printed = subprocess.run(
        [sys.executable, "-m", "messages", "schema"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    assert printed == schema_text()


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("name", [n for n, d in SCHEMA["$defs"].items() if "examples" in d])
def test_every_example_is_valid(name):
    check = validator(name)
    for example in SCHEMA["$defs"][name]["examples"]:
        check.validate(example)
        if name in {"SpectatorFrame", "BatchedFrame", "SubscribedFrame", "ErrorFrame"}:
            validator("ServerFrame").validate(example)


def _events() -> list[tuple[object, bool]]:
    press = {"MessageType": "NESClick", "Message": PRESSES[1]}
    return [
        (press, True),
        *[(body, True) for body in OTHER_EVENTS],
        ({**press, "EventId": "e1", "SentAt": 1}, True),
        ({**press, "EventId": ""}, False),
        ({**press, "SentAt": -1}, False),
        ({**press, "SentAt": 1.5}, False),
        ({**press, "MessageType": "NESEClick"}, False),
        ({"MessageType": "NESClick"}, False),
        ({**press, "Message": {**PRESSES[1], "button": "X"}}, False),
        ({**press, "Message": {**PRESSES[1], "axis": 64}}, False),
        ({**press, "Message": {**PRESSES[1], "value": 1.5}}, False),
        ({**press, "Message": {**PRESSES[1], "colour": "red"}}, False),
        ({"MessageType": "PhotoUpload", "Message": {"bucket": "b", "key": "k"}}, False),
        ({"MessageType": "TranscribeEvent", "Message": {"transcribed_text": 3}}, False),
        ([press], False),
    ]


@pytest.mark.parametrize(("body", "valid"), _events())
def test_schema_and_decoder_agree_on_events(body, valid):
    assert validator("Event").is_valid(body) is valid
    try:
        decode_event(body, Stamp("s", 1))
        decoded = True
    except ContractError:
        decoded = False
    assert decoded is valid


def _subscriptions() -> list[tuple[list[object], bool]]:
    talk = SUBSCRIBE["subscriptions"]
    return [
        (talk, True),
        ([{"event_type": "NESClick"}], True),
        ([{"event_type": "NESClick", "filter_field": "color", "filter_expr": "r*"}], True),
        ([{"event_type": "NESClick", "desired_fields": ["color", "button"]}], True),
        ([{"event_type": "NESEClick"}], False),
        ([{"event_type": "TranscribeEvent", "filter_field": "key", "filter_expr": "A*"}], False),
        ([{"event_type": "NESClick", "filter_expr": "r*"}], False),
        ([{"event_type": "NESClick", "desired_fields": ["colour"]}], False),
        ([{"event_type": "NESClick", "desired_fields": []}], False),
        ([{"event_type": "NESClick", "room": "x"}], False),
        ([{"event_type": "NESClick"}] * 21, False),
    ]


def _subscribe_requests() -> list[tuple[dict[str, object], bool]]:
    base: dict[str, object] = {"action": "subscribe", "subscriptions": []}
    batched = [(True, True), (False, True), ("yes", False), (1, False), (None, False)]
    return [
        *(({**base, "subscriptions": subs}, valid) for subs, valid in _subscriptions()),
        *(({**base, "batched": value}, valid) for value, valid in batched),
    ]


@pytest.mark.parametrize(("envelope", "valid"), _subscribe_requests())
def test_schema_and_decoder_agree_on_subscribe_requests(envelope, valid):
    assert validator("SubscribeEnvelope").is_valid(envelope) is valid
    try:
        decode_subscribe_request(json.dumps(envelope))
        decoded = True
    except ContractError:
        decoded = False
    assert decoded is valid


def test_frames_the_code_builds_are_server_frames():
    event = decode_event({"MessageType": "NESClick", "Message": PRESSES[2]}, Stamp("m", 3))
    check = validator("ServerFrame")
    check.validate(json.loads(spectator_frame(event, Source.KINESIS, event.message)))
    check.validate(json.loads(error_frame("forbidden", "no")))
    frame = spectator_frame(event, Source.KINESIS, event.message).encode()
    [batch] = batched_frames([frame, frame])
    check.validate(json.loads(batch.data))
    validator("BatchedFrame").validate(json.loads(batch.data))
    check.validate(json.loads(subscribed_frame([], batched=True)))
    assert not check.is_valid({"frames": []})
    assert not check.is_valid({"frames": [{"status": "subscribed"}]})
    assert not check.is_valid({"status": "subscribed", "subscriptions": []})  # no echo
    assert not check.is_valid({"status": "error", "error": "forbidden"})
    assert not check.is_valid({"message_type": "NESClick", "payload": "{}"})


def test_every_named_message_field_is_a_field_of_the_contract():
    fields = {name for schema in SCHEMAS.values() for name in schema}
    assert {f.value for f in MessageField} <= fields
