"""The wire contract as a JSON Schema (draft 2020-12), generated from the tables that validate.

`python -m messages schema > messages/wire-schema.json` writes it; a test fails when the
checked-in file drifts from this code, and the race page's tests (spectator/web) read the
checked-in file, so a field renamed here breaks the page's build, not the race. Each
definition carries `examples` made by the very functions that build those frames."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .batches import FRAMES, MAX_FRAME_BYTES, batched_frame
from .envelopes import (
    ACTION,
    BATCHED,
    ERROR_CODE,
    ERROR_FIELD,
    ERROR_MESSAGE,
    EVENT_ID,
    FRAME_EVENT_ID,
    FRAME_MESSAGE_TYPE,
    FRAME_PAYLOAD,
    FRAME_SENT_AT,
    FRAME_SOURCE,
    MAX_EVENT_ID_LENGTH,
    MESSAGE,
    MESSAGE_TYPE,
    SENT_AT,
    STATUS,
    STATUS_ERROR,
    STATUS_SUBSCRIBED,
    SUBMIT_ACTION,
    SUBMIT_EVENT,
    SUBSCRIBE_ACTION,
    SUBSCRIPTIONS,
    ErrorCode,
    error_frame,
    event_body,
    spectator_frame,
    submit_envelope,
    subscribe_envelope,
    subscribed_frame,
)
from .events import EVENT_TYPES, MAX_TEXT_LENGTH, SCHEMAS, Event, EventType, FieldSpec, Source
from .subscriptions import (
    DESIRED_FIELDS,
    EVENT_TYPE,
    FILTER_EXPR,
    FILTER_FIELD,
    MATCH_ALL,
    MAX_FILTER_EXPR_LENGTH,
    MAX_SUBSCRIPTIONS,
    Subscription,
)

__all__ = ["SCHEMA_ID", "schema_text", "wire_schema"]

SCHEMA_ID = "https://tumble.invalid/wire-schema.json"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"
# Ids the processor stamps from AWS's own (a Kinesis eventID is longer than a client's may be).
_FRAME_EVENT_ID_MAX = 128

_JSON_TYPES: Mapping[type, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    names = list(dict.fromkeys(_JSON_TYPES[k] for k in kinds))
    if "number" in names and "integer" in names:
        names.remove("integer")  # every integer is a number
    schema: dict[str, Any] = {}
    if spec.choices:
        schema["enum"] = [*spec.choices, *([None] if spec.nullable else [])]
    else:
        schema["type"] = (
            [*names, "null"] if spec.nullable else (names[0] if len(names) == 1 else names)
        )
    if "string" in names and not spec.choices:
        schema["maxLength"] = MAX_TEXT_LENGTH
    if spec.bounds is not None:
        schema["minimum"], schema["maximum"] = spec.bounds
    return schema


def _message_schema(event_type: str) -> dict[str, Any]:
    fields = SCHEMAS[event_type]
    return {
        "title": f"{event_type} Message",
        "type": "object",
        "properties": {name: _field_schema(spec) for name, spec in fields.items()},
        "required": [name for name, spec in fields.items() if spec.required],
        "additionalProperties": False,
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _event_schema() -> dict[str, Any]:
    return {
        "title": "Event (a Kinesis record's data, a submit envelope's event)",
        "description": f"{EVENT_ID} and {SENT_AT} are optional: the processor stamps an event "
        "without them from AWS's own ids and times for the request or record.",
        "type": "object",
        "properties": {
            MESSAGE_TYPE: {"enum": list(EVENT_TYPES)},
            MESSAGE: {"type": "object"},
            EVENT_ID: {"type": "string", "minLength": 1, "maxLength": MAX_EVENT_ID_LENGTH},
            SENT_AT: {"type": "integer", "minimum": 0},
        },
        "required": [MESSAGE_TYPE, MESSAGE],
        "allOf": [
            {
                "if": {"properties": {MESSAGE_TYPE: {"const": t}}},
                "then": {"properties": {MESSAGE: _ref(f"{t}.Message")}},
            }
            for t in EVENT_TYPES
        ],
    }


def _subscription_schema() -> dict[str, Any]:
    def per_type(event_type: str) -> dict[str, Any]:
        fields = list(SCHEMAS[event_type])
        first_segment = "|".join(fields)
        return {
            "if": {"properties": {EVENT_TYPE: {"const": event_type}}},
            "then": {
                "properties": {
                    DESIRED_FIELDS: {
                        "items": {"pattern": f"^({first_segment})(\\..+)?$"},
                    }
                },
                # A filter other than "*" must name a field of the type; "*" names no value.
                "anyOf": [
                    {"properties": {FILTER_EXPR: {"const": MATCH_ALL}}, "required": [FILTER_EXPR]},
                    {"not": {"required": [FILTER_EXPR]}},
                    {"properties": {FILTER_FIELD: {"enum": fields}}, "required": [FILTER_FIELD]},
                ],
            },
        }

    return {
        "title": "Subscription",
        "description": "filter_expr is a glob on filter_field's value; '*' matches every event "
        "of the type whatever field it names. desired_fields (dotted paths) project the Message.",
        "type": "object",
        "properties": {
            EVENT_TYPE: {"enum": list(EVENT_TYPES)},
            FILTER_FIELD: {"type": ["string", "null"]},
            FILTER_EXPR: {"type": "string", "maxLength": MAX_FILTER_EXPR_LENGTH},
            DESIRED_FIELDS: {
                "type": ["array", "null"],
                "minItems": 1,
                "items": {"type": "string"},
            },
        },
        "required": [EVENT_TYPE],
        "additionalProperties": False,
        "allOf": [per_type(t) for t in EVENT_TYPES],
    }


def _sample_event() -> Event:
    return Event(
        EventType.NES_CLICK,
        {"color": "blue", "button": "A", "axis": None, "value": None, "source": "websocket"},
        "0f8fad5bd9cb469fa165703f3b3ab5e2",
        1575929040000,
    )


def _examples() -> dict[str, list[Any]]:
    sample = _sample_event()
    everything = [Subscription(t) for t in EventType]
    return {
        "Event": [
            event_body(sample),
            {
                MESSAGE_TYPE: sample.message_type.value,
                MESSAGE: {**sample.message, "source": Source.KINESIS.value},
            },
        ],
        "SubmitEnvelope": [json.loads(submit_envelope(sample))],
        "SubscribeEnvelope": [
            json.loads(subscribe_envelope(everything)),
            json.loads(subscribe_envelope(everything[:1], batched=True)),
        ],
        "SpectatorFrame": [
            json.loads(spectator_frame(sample, Source.WEBSOCKET, sample.message)),
            json.loads(
                spectator_frame(
                    Event(
                        EventType.TRANSCRIBE_EVENT,
                        {"transcribed_text": "Ada"},
                        "shardId-000000000000:49590338271490256608559692538361571095921575989136588898",
                        1575929040123,
                    ),
                    Source.KINESIS,
                    {"transcribed_text": "Ada"},
                )
            ),
        ],
        "BatchedFrame": [
            json.loads(
                batched_frame(
                    [
                        spectator_frame(sample, Source.KINESIS, sample.message).encode(),
                        spectator_frame(
                            second := Event(
                                EventType.NES_CLICK,
                                {**sample.message, "color": "red", "source": "kinesis"},
                                "e2",
                                1575929040050,
                            ),
                            Source.KINESIS,
                            second.message,
                        ).encode(),
                    ]
                )
            )
        ],
        "SubscribedFrame": [
            json.loads(subscribed_frame([s.to_dict() for s in everything])),
            json.loads(subscribed_frame([everything[0].to_dict()], batched=True)),
        ],
        "ErrorFrame": [
            json.loads(
                error_frame(
                    ErrorCode.INVALID_SUBSCRIPTION,
                    "subscriptions[0].event_type: unknown event type 'NESEClick'",
                    "subscriptions[0].event_type",
                )
            ),
            json.loads(error_frame(ErrorCode.NOT_CONNECTED, "this connection is no longer known")),
        ],
    }


def wire_schema() -> dict[str, Any]:
    """The whole contract: events, the two client requests and every frame a client receives."""
    subscription_echo = {
        **_ref("Subscription"),
        "required": [EVENT_TYPE, FILTER_FIELD, FILTER_EXPR, DESIRED_FIELDS],
    }
    defs: dict[str, Any] = {f"{t}.Message": _message_schema(t) for t in EVENT_TYPES}
    defs.update(
        {
            "Event": _event_schema(),
            "SubmitEnvelope": {
                "title": "What a shipper sends to submit an event",
                "type": "object",
                "properties": {ACTION: {"const": SUBMIT_ACTION}, SUBMIT_EVENT: _ref("Event")},
                "required": [ACTION, SUBMIT_EVENT],
            },
            "Subscription": _subscription_schema(),
            "SubscribeEnvelope": {
                "title": "What a spectator sends to replace its subscriptions",
                "type": "object",
                "properties": {
                    ACTION: {"const": SUBSCRIBE_ACTION},
                    SUBSCRIPTIONS: {
                        "type": "array",
                        "maxItems": MAX_SUBSCRIPTIONS,
                        "items": _ref("Subscription"),
                    },
                    BATCHED: {
                        "type": "boolean",
                        "description": "true: on the Kinesis path, one BatchedFrame per "
                        "invocation instead of one SpectatorFrame per event. Absent: false.",
                    },
                },
                "required": [ACTION, SUBSCRIPTIONS],
            },
            "SpectatorFrame": {
                "title": "One event as a spectator receives it",
                "description": f"{FRAME_PAYLOAD} is the (projected) Message as a JSON string.",
                "type": "object",
                "properties": {
                    FRAME_MESSAGE_TYPE: {"enum": list(EVENT_TYPES)},
                    FRAME_PAYLOAD: {"type": "string", "contentMediaType": "application/json"},
                    FRAME_EVENT_ID: {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": _FRAME_EVENT_ID_MAX,
                    },
                    FRAME_SENT_AT: {"type": "integer", "minimum": 0},
                    FRAME_SOURCE: {"enum": [s.value for s in Source]},
                },
                "required": [
                    FRAME_MESSAGE_TYPE,
                    FRAME_PAYLOAD,
                    FRAME_EVENT_ID,
                    FRAME_SENT_AT,
                    FRAME_SOURCE,
                ],
                "additionalProperties": False,
            },
            "BatchedFrame": {
                "title": "The events of one Kinesis batch a batched spectator matched, in order",
                "description": f"Each item is a SpectatorFrame. Never over {MAX_FRAME_BYTES} "
                "bytes (API Gateway's WebSocket frame size): more events come in further "
                "batched frames, and an event whose frame alone is larger comes as a "
                "SpectatorFrame.",
                "type": "object",
                "properties": {
                    FRAMES: {"type": "array", "minItems": 1, "items": _ref("SpectatorFrame")}
                },
                "required": [FRAMES],
                "additionalProperties": False,
            },
            "SubscribedFrame": {
                "title": "The answer to an accepted subscribe: what is now in force",
                "type": "object",
                "properties": {
                    STATUS: {"const": STATUS_SUBSCRIBED},
                    SUBSCRIPTIONS: {"type": "array", "items": subscription_echo},
                    BATCHED: {"type": "boolean"},
                },
                "required": [STATUS, SUBSCRIPTIONS, BATCHED],
                "additionalProperties": False,
            },
            "ErrorFrame": {
                "title": "The answer to a refused request; nothing was changed",
                "type": "object",
                "properties": {
                    STATUS: {"const": STATUS_ERROR},
                    ERROR_CODE: {"enum": [c.value for c in ErrorCode]},
                    ERROR_MESSAGE: {"type": "string"},
                    ERROR_FIELD: {"type": ["string", "null"]},
                },
                "required": [STATUS, ERROR_CODE, ERROR_MESSAGE, ERROR_FIELD],
                "additionalProperties": False,
            },
            "ServerFrame": {
                "title": "Any text frame the gateway sends a spectator",
                "oneOf": [
                    _ref("SpectatorFrame"),
                    _ref("BatchedFrame"),
                    _ref("SubscribedFrame"),
                    _ref("ErrorFrame"),
                ],
            },
        }
    )
    for name, examples in _examples().items():
        defs[name]["examples"] = examples
    return {
        "$schema": _DRAFT,
        "$id": SCHEMA_ID,
        "title": "Tumble wire contract",
        "description": "Generated by `python -m messages schema` from messages/; do not edit.",
        "$defs": defs,
    }


def schema_text() -> str:
    """The checked-in form: stable key order, two-space indent, one trailing newline."""
    return json.dumps(wire_schema(), indent=2, ensure_ascii=False) + "\n"
