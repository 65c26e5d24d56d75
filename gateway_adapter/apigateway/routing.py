"""Route selection for WebSocket messages, as API Gateway does it: evaluate the route selection
expression (`$request.body.<path>`) on the JSON body and turn the result into a string; a body
that is not JSON, an expression that cannot be evaluated, or a key with no route goes to
`$default`. Pure: no I/O, tested directly."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Collection
from typing import Any

__all__ = [
    "DEFAULT_ROUTE",
    "RouteSelector",
    "compile_selection_expression",
    "route_key_string",
    "route_response_body",
]

DEFAULT_ROUTE = "$default"
_EXPRESSION = re.compile(r"^\$\{?request\.body((?:\.[A-Za-z0-9_$-]+|\[\d+\])*)\}?$")
_STEP = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(\d+)\]")
_MISSING = object()


def compile_selection_expression(expression: str) -> Callable[[Any], Any]:
    """A getter for `$request.body.a.b[0]` (also `${request.body.a}`); ValueError otherwise,
    since API Gateway accepts only body expressions for WebSocket route selection."""
    match = _EXPRESSION.match(expression.strip())
    if not match:
        raise ValueError(
            f"route selection expression {expression!r} is not of the form $request.body.<path>"
        )
    steps: list[str | int] = [
        name if name else int(index) for name, index in _STEP.findall(match.group(1))
    ]

    def get(body: Any) -> Any:
        node = body
        for step in steps:
            if isinstance(step, str) and isinstance(node, dict):
                node = node.get(step, _MISSING)
            elif isinstance(step, int) and isinstance(node, list) and step < len(node):
                node = node[step]
            else:
                return _MISSING
            if node is _MISSING:
                return _MISSING
        return node

    return get


def route_key_string(value: Any) -> str | None:
    """The JSONPath result as the string API Gateway compares with route keys."""
    if value is _MISSING or value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


class RouteSelector:
    """Picks the route key of a message among `route_keys`, or None when there is neither a
    match nor `$default` (the client then gets the Forbidden frame)."""

    __slots__ = ("_default", "_get", "_keys")

    def __init__(self, expression: str, route_keys: Collection[str]) -> None:
        self._get = compile_selection_expression(expression)
        self._keys = frozenset(route_keys)
        self._default = DEFAULT_ROUTE if DEFAULT_ROUTE in self._keys else None

    def select(self, body: str | bytes, is_binary: bool = False) -> str | None:
        if is_binary:
            return self._default
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            # Not usable JSON: not JSON at all, an integer past Python's digit limit, or
            # nesting deeper than the parser goes. API Gateway cannot evaluate the expression
            # on any of them, so each goes to $default.
            return self._default
        try:
            key = route_key_string(self._get(document))
        except (ValueError, RecursionError):  # an action too deep or too long to print
            return self._default
        if key is not None and key in self._keys and not key.startswith("$"):
            return key
        return self._default


def route_response_body(result: Any) -> str | bytes | None:
    """What a proxy integration's result sends back: its `body` (base64-decoded when flagged),
    a bare string as is, anything else as JSON."""
    if isinstance(result, dict) and "body" in result:
        body = result["body"]
        if body is None:
            return None
        if result.get("isBase64Encoded") and isinstance(body, str):
            return base64.b64decode(body)
        return body if isinstance(body, str) else json.dumps(body)
    if isinstance(result, str):
        return result
    if isinstance(result, dict) and "statusCode" in result:
        return None
    return json.dumps(result)
