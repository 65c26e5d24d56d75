"""The five event types of the race and their validation (see shared/GAME.md).

The schema is data, not classes per type: one table drives validation, subscription checks
and the spectator page's expectations, so a new field is added in exactly one place.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .decoding import check_value, child_name
from .errors import UnknownEventType, ValidationError, shown

__all__ = [
    "COLORS",
    "EVENT_TYPES",
    "NES_BUTTONS",
    "NEUTRAL_BUTTONS",
    "SCHEMAS",
    "Event",
    "EventType",
    "FieldSpec",
    "MessageField",
    "Source",
    "new_event_id",
    "now_ms",
    "parse_event_type",
    "validate_message",
]

# Largest text we accept in any string field; API Gateway frames are 32 KB, so this keeps a
# whole event comfortably inside one frame.
MAX_TEXT_LENGTH = 4096


class EventType(StrEnum):
    NES_CLICK = "NESClick"
    DASH_CLICK = "DashClick"
    PHOTO_UPLOAD = "PhotoUpload"
    PHOTO_CROPPED = "PhotoCropped"
    TRANSCRIBE_EVENT = "TranscribeEvent"


class Source(StrEnum):
    """The path an event travelled; spectators compare the two."""

    KINESIS = "kinesis"
    WEBSOCKET = "websocket"


EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
COLORS: tuple[str, ...] = ("red", "blue", "green", "yellow")
# The talk's producer also reports the D-pad's release as VERT_NEUTRAL (axis 1, value 0) and
# HORIZONTAL_NEUTRAL (axis 0, value 0); they are accepted, and the race ignores them (GAME.md).
NEUTRAL_BUTTONS: tuple[str, ...] = ("VERT_NEUTRAL", "HORIZONTAL_NEUTRAL")
NES_BUTTONS: tuple[str, ...] = (
    "A",
    "B",
    "SELECT",
    "START",
    "UP",
    "DOWN",
    "LEFT",
    "RIGHT",
    *NEUTRAL_BUTTONS,
)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What one field of a Message may hold."""

    kind: type | tuple[type, ...]
    choices: tuple[object, ...] = ()
    nullable: bool = False
    required: bool = True
    bounds: tuple[float, float] | None = None

    def check(self, name: str, value: object) -> None:
        if value is None:
            if self.nullable:
                return
            raise ValidationError(name, "must not be null")
        # bool is an int in Python but not a number on the wire.
        if isinstance(value, bool) and bool not in _as_tuple(self.kind):
            raise ValidationError(name, f"must be {_kind_name(self.kind)}, not a boolean")
        if not isinstance(value, self.kind):
            raise ValidationError(
                name, f"must be {_kind_name(self.kind)}, not {type(value).__name__}"
            )
        if self.choices and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise ValidationError(name, f"{shown(value)} is not one of {allowed}")
        if isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
            raise ValidationError(name, f"longer than {MAX_TEXT_LENGTH} characters")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(name, "must be a finite number")
        if self.bounds is not None and isinstance(value, int | float):
            low, high = self.bounds
            if not low <= value <= high:
                raise ValidationError(name, f"{shown(value)} is outside [{low}, {high}]")


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in _as_tuple(kind)))


_NUMBER = (int, float)

SCHEMAS: Mapping[str, Mapping[str, FieldSpec]] = {
    EventType.NES_CLICK: {
        "color": FieldSpec(str, COLORS),
        "button": FieldSpec(str, NES_BUTTONS),
        "axis": FieldSpec(int, nullable=True, required=False, bounds=(0, 63)),
        "value": FieldSpec(_NUMBER, nullable=True, required=False, bounds=(-1, 1)),
        "source": FieldSpec(str, tuple(s.value for s in Source)),
    },
    EventType.DASH_CLICK: {
        "event": FieldSpec(str, ("toggle-kinesis", "toggle-game", "toggle-selection")),
        "click_type": FieldSpec(str, ("SINGLE", "DOUBLE", "LONG")),
    },
    EventType.PHOTO_UPLOAD: {
        "bucket": FieldSpec(str),
        "key": FieldSpec(str),
        "emotion": FieldSpec(str),
        "confidence": FieldSpec(_NUMBER, bounds=(0, 100)),
    },
    EventType.PHOTO_CROPPED: {
        "bucket": FieldSpec(str),
        "key": FieldSpec(str),
    },
    EventType.TRANSCRIBE_EVENT: {
        "transcribed_text": FieldSpec(str),
    },
}


class MessageField(StrEnum):
    """The Message fields that code outside messages/ names (the producer builds presses and
    keys records by colour); SCHEMAS above defines every field."""

    COLOR = "color"
    BUTTON = "button"
    AXIS = "axis"
    VALUE = "value"
    SOURCE = "source"
    TRANSCRIBED_TEXT = "transcribed_text"


def parse_event_type(value: object, field_name: str = "MessageType") -> EventType:
    """The EventType named by `value`, or an error that lists the known types."""
    if isinstance(value, str):
        try:
            return EventType(value)
        except ValueError:
            pass
    raise UnknownEventType(value, EVENT_TYPES, field_name)


def validate_message(
    event_type: EventType, message: object, *, checked: bool = False
) -> dict[str, Any]:
    """A checked copy of `message`; optional fields that are absent come back as null.
    `checked`: check_value has already passed the value that holds it (a decoded body)."""
    if not isinstance(message, Mapping):
        raise ValidationError("Message", f"must be an object, not {type(message).__name__}")
    if not checked:
        check_value(message, "Message", "Message")
    schema = SCHEMAS[event_type]
    unknown = sorted(set(message) - set(schema))
    if unknown:
        raise ValidationError(
            child_name("Message", unknown[0]),
            f"is not a field of {event_type}; its fields are {', '.join(schema)}",
        )
    valid: dict[str, Any] = {}
    for name, spec in schema.items():
        if name not in message:
            if spec.required:
                raise ValidationError(f"Message.{name}", "is required")
            valid[name] = None
            continue
        spec.check(f"Message.{name}", message[name])
        valid[name] = message[name]
    return valid


def new_event_id() -> str:
    return uuid.uuid4().hex


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Event:
    """One game event as both paths carry it: the same id and send time on each."""

    message_type: EventType
    message: dict[str, Any]
    event_id: str = field(default_factory=new_event_id)
    sent_at: int = field(default_factory=now_ms)

    @classmethod
    def create(cls, message_type: str, message: Mapping[str, Any]) -> Event:
        event_type = parse_event_type(message_type)
        return cls(event_type, validate_message(event_type, message))

    def with_source(self, source: Source) -> Event:
        """The same event stamped with the path it takes (only NESClick carries `source`)."""
        if "source" not in SCHEMAS[self.message_type]:
            return self
        return Event(
            self.message_type, {**self.message, "source": source.value}, self.event_id, self.sent_at
        )
