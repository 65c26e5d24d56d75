"""Reading untrusted JSON: every way a body or a decoded value can be malformed (too big, too
deep, digits past Python's int-str limit, non-finite numbers, lone surrogates, values JSON does
not have) becomes a ValidationError naming the field, never another exception.

The decoders of the contract (envelopes, events, subscriptions) call these first, so a record
or a frame that would crash a later step (a RecursionError in `repr`, a UnicodeEncodeError in
botocore, an OverflowError in arithmetic) is refused as invalid input where it enters."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .errors import SHOWN_CHARACTERS, ValidationError, shown

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_SAFE_INTEGER",
    "check_value",
    "child_name",
    "loads",
]

# The largest body any decoder reads. Both paths carry the same event, and the WebSocket path
# cannot carry more than API Gateway's "Message payload size: 128 KB" (quota table, see
# gateway_adapter/apigateway/limits.py), so nothing larger is a valid event on the Kinesis
# path either.
MAX_INPUT_BYTES = 128 * 1024
# The deepest input of the contract is a subscribe request (body, subscriptions list, one
# subscription, its desired_fields list): 4 levels. Twice that leaves room to grow and keeps
# every later walk of a decoded value far from Python's recursion limit (json's own parser
# raises RecursionError near 1,000 levels).
MAX_JSON_DEPTH = 8
# I-JSON (RFC 7493, section 2.2): integers outside +-(2**53 - 1) do not survive a JavaScript
# client (the race page) exactly; this bound also keeps every integer far below Python's
# 4,300-digit int-str limit, so printing one can never raise.
MAX_SAFE_INTEGER = 2**53 - 1


def child_name(parent: str, key: str | int) -> str:
    """`Message.color`, `subscriptions[2]`: the name of a field inside `parent` (a long or
    unprintable key is shortened, so a name is always safe to print and log)."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if len(key) > SHOWN_CHARACTERS or not key.isprintable():
        key = shown(key)
    return f"{parent}.{key}" if parent else key


def loads(data: str | bytes | bytearray | None, field: str) -> Any:
    """The JSON value of `data`, checked by check_value; `field` names the whole body."""
    if data is None:
        data = b""
    if isinstance(data, str):
        size = len(data.encode("utf-8", "surrogatepass"))
    elif isinstance(data, bytes | bytearray):
        size = len(data)
    else:
        raise ValidationError(field, f"must be text or bytes, not {type(data).__name__}")
    if size > MAX_INPUT_BYTES:
        raise ValidationError(field, f"is {size} bytes, more than {MAX_INPUT_BYTES}")
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValidationError(field, f"is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(field, f"is not UTF-8 text: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(field, f"is not JSON: {exc.msg} at character {exc.pos}") from None
    except ValueError as exc:  # an integer past the int-str digit limit
        raise ValidationError(field, f"is not usable JSON: {exc}") from None
    check_value(value, "", field)
    return value


# A node still to check: its value, its parent's entry and its key there (the name is built
# only for an error), and its depth.
_Entry = tuple[object, "_Entry | None", "str | int", int]


def check_value(value: object, path: str = "", root: str = "value") -> None:
    """Raises ValidationError for the first part of `value` that no JSON document can carry
    safely: too deep, a non-finite or unsafe number, a lone surrogate, a non-JSON type. Parts
    are named from `path` (`Message.color`); `root` names the value itself.

    Iterative, so a deep value cannot exhaust the stack while being checked; names are built
    only for the part at fault (this runs on every record and frame)."""
    stack: list[_Entry] = [(value, None, path, 0)]
    while stack:
        entry = stack.pop()
        node, _, _, depth = entry
        if isinstance(node, str):
            if not node.isascii():
                _check_text(node, entry, root)
        elif node is None or isinstance(node, bool):
            continue
        elif isinstance(node, int):
            if not -MAX_SAFE_INTEGER <= node <= MAX_SAFE_INTEGER:
                raise ValidationError(
                    _name(entry, root), f"is outside +-{MAX_SAFE_INTEGER} (RFC 7493 I-JSON)"
                )
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise ValidationError(_name(entry, root), "must be a finite number")
        elif isinstance(node, Mapping | list | tuple):
            if depth >= MAX_JSON_DEPTH:
                raise ValidationError(
                    _name(entry, root), f"is nested deeper than {MAX_JSON_DEPTH} levels"
                )
            if isinstance(node, Mapping):
                for key, item in node.items():
                    if not isinstance(key, str):
                        raise ValidationError(_name(entry, root), "has a key that is not a string")
                    if not key.isascii():
                        _check_text(key, entry, root, "has a key that contains")
                    stack.append((item, entry, key, depth + 1))
            else:
                stack.extend((item, entry, i, depth + 1) for i, item in enumerate(node))
        else:
            raise ValidationError(
                _name(entry, root), f"is not a JSON value ({type(node).__name__})"
            )


def _name(entry: _Entry, root: str) -> str:
    """The field name of a checked node: its keys from the top, joined by child_name."""
    keys: list[str | int] = []
    current: _Entry | None = entry
    while current is not None and current[1] is not None:
        keys.append(current[2])
        current = current[1]
    name = str(current[2]) if current is not None else ""
    for key in reversed(keys):
        name = child_name(name, key)
    return name or root


def _check_text(text: str, entry: _Entry, root: str, what: str = "contains") -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            _name(entry, root), f"{what} a lone surrogate (U+D800 to U+DFFF), which is not text"
        ) from None
