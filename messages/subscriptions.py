"""Subscriptions: which events a spectator wants, filtered by a glob, projected to some fields.

Matching is pure and cheap so the fan-out can run it per connection per event; validation is
strict so a typo (the talk's slides show "NESEClick") fails loudly at subscribe time instead
of silently matching nothing. A `"*"` filter is the exception: it names no value, so the field
it names is not checked (the talk's clients rely on that).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from .decoding import check_value, child_name
from .errors import ValidationError, shown
from .events import SCHEMAS, EventType, parse_event_type

__all__ = [
    "MATCH_ALL",
    "MAX_FILTER_EXPR_LENGTH",
    "MAX_SUBSCRIPTIONS",
    "Subscription",
    "first_match",
    "parse_subscriptions",
    "project",
]

MATCH_ALL = "*"
MAX_SUBSCRIPTIONS = 20
MAX_FILTER_EXPR_LENGTH = 256

EVENT_TYPE = "event_type"
FILTER_FIELD = "filter_field"
FILTER_EXPR = "filter_expr"
DESIRED_FIELDS = "desired_fields"
_KEYS = (EVENT_TYPE, FILTER_FIELD, FILTER_EXPR, DESIRED_FIELDS)


@dataclass(frozen=True, slots=True)
class Subscription:
    """`filter_expr` is an fnmatch glob on the string value of `filter_field`; `"*"` matches
    every event of the type, even one without that field. `desired_fields` are dotted paths
    into the Message; None means the whole Message."""

    event_type: EventType
    filter_field: str | None = None
    filter_expr: str = MATCH_ALL
    desired_fields: tuple[str, ...] | None = None

    @classmethod
    def from_dict(cls, raw: object, where: str = "subscription") -> Subscription:
        if not isinstance(raw, Mapping):
            raise ValidationError(where, f"must be an object, not {type(raw).__name__}")
        check_value(raw, where, where)
        unknown = sorted(set(raw) - set(_KEYS))
        if unknown:
            raise ValidationError(
                child_name(where, unknown[0]), f"is not one of {', '.join(_KEYS)}"
            )
        event_type = parse_event_type(raw.get(EVENT_TYPE), f"{where}.{EVENT_TYPE}")
        fields = SCHEMAS[event_type]
        filter_expr = raw.get(FILTER_EXPR, MATCH_ALL)
        if not isinstance(filter_expr, str):
            raise ValidationError(f"{where}.{FILTER_EXPR}", "must be a string (a glob)")
        if len(filter_expr) > MAX_FILTER_EXPR_LENGTH:
            raise ValidationError(
                f"{where}.{FILTER_EXPR}", f"longer than {MAX_FILTER_EXPR_LENGTH} characters"
            )
        filter_field = raw.get(FILTER_FIELD)
        if filter_field is not None and not isinstance(filter_field, str):
            raise ValidationError(f"{where}.{FILTER_FIELD}", "must be a field name or null")
        # "*" matches every event of the type whatever field it names: the talk's clients send
        # filter_field "key" with "*" for TranscribeEvent, which has no `key`.
        if filter_field is not None and filter_field not in fields and filter_expr != MATCH_ALL:
            raise ValidationError(
                f"{where}.{FILTER_FIELD}",
                f"{shown(filter_field)} is not a field of {event_type}; its fields are "
                f"{', '.join(fields)}",
            )
        if filter_field is None and filter_expr != MATCH_ALL:
            raise ValidationError(f"{where}.{FILTER_FIELD}", "is required unless filter_expr is *")
        desired = raw.get(DESIRED_FIELDS)
        if desired is not None:
            if isinstance(desired, str) or not isinstance(desired, Sequence) or not desired:
                raise ValidationError(
                    f"{where}.{DESIRED_FIELDS}", "must be a non-empty list of field paths or null"
                )
            for path in desired:
                if not isinstance(path, str) or path.split(".", 1)[0] not in fields:
                    raise ValidationError(
                        f"{where}.{DESIRED_FIELDS}",
                        f"{shown(path)} is not a field of {event_type}; its fields are "
                        f"{', '.join(fields)}",
                    )
            desired = tuple(dict.fromkeys(desired))
        return cls(event_type, filter_field, filter_expr, desired)

    def to_dict(self) -> dict[str, Any]:
        return {
            EVENT_TYPE: self.event_type.value,
            FILTER_FIELD: self.filter_field,
            FILTER_EXPR: self.filter_expr,
            DESIRED_FIELDS: list(self.desired_fields) if self.desired_fields is not None else None,
        }

    def matches(self, event_type: str, message: Mapping[str, Any]) -> bool:
        if event_type != self.event_type:
            return False
        if self.filter_expr == MATCH_ALL:
            return True
        if self.filter_field is None or self.filter_field not in message:
            return False
        return fnmatchcase(_string_value(message[self.filter_field]), self.filter_expr)

    def project(self, message: Mapping[str, Any]) -> dict[str, Any]:
        return project(message, self.desired_fields)


def _string_value(value: object) -> str:
    """Strings as they are; everything else as its JSON text (7, true, null)."""
    return value if isinstance(value, str) else json.dumps(value)


def project(message: Mapping[str, Any], paths: Iterable[str] | None) -> dict[str, Any]:
    """The parts of `message` named by dotted `paths`, nested as in the original; absent paths
    are left out rather than invented."""
    if paths is None:
        return dict(message)
    projected: dict[str, Any] = {}
    for path in paths:
        source: Any = message
        keys = path.split(".")
        for key in keys:
            if not isinstance(source, Mapping) or key not in source:
                break
            source = source[key]
        else:
            target = projected
            for key in keys[:-1]:
                target = target.setdefault(key, {})
            target[keys[-1]] = source
    return projected


def parse_subscriptions(raw: object) -> list[Subscription]:
    """A client's whole subscription list, validated as one unit: any error rejects all.

    Identical subscriptions are collapsed to the first, not rejected: the first match decides
    what a connection receives, so a later copy can never be chosen and dropping it changes
    nothing the client gets (the `subscribed` answer shows the list as kept). Rejecting would
    refuse clients whose lists are merely redundant; storing copies only costs writes."""
    if not isinstance(raw, list):
        raise ValidationError("subscriptions", "must be a list")
    if len(raw) > MAX_SUBSCRIPTIONS:
        raise ValidationError("subscriptions", f"at most {MAX_SUBSCRIPTIONS} are allowed")
    parsed = (Subscription.from_dict(item, f"subscriptions[{i}]") for i, item in enumerate(raw))
    return list(dict.fromkeys(parsed))


def first_match(
    subscriptions: Iterable[Subscription], event_type: str, message: Mapping[str, Any]
) -> Subscription | None:
    """The subscription that decides what a connection receives: the first that matches, in
    the order the client gave."""
    return next((s for s in subscriptions if s.matches(event_type, message)), None)
