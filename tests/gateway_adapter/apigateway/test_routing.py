from __future__ import annotations

import pytest

from gateway_adapter.apigateway.routing import (
    RouteSelector,
    compile_selection_expression,
    route_response_body,
)

ROUTES = {"$connect", "$disconnect", "$default", "subscribe", "1", "true", "nested"}


@pytest.fixture
def selector() -> RouteSelector:
    return RouteSelector("$request.body.action", ROUTES)


def test_selects_the_route_named_by_the_expression(selector: RouteSelector) -> None:
    assert selector.select('{"action": "subscribe", "x": 1}') == "subscribe"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"action": 1}', "1"),  # the JSONPath result turned into a string
        ('{"action": true}', "true"),
        ('{"action": "unknown"}', "$default"),  # unmatched
        ('{"other": "subscribe"}', "$default"),  # not evaluable
        ('{"action": null}', "$default"),
        ("[1, 2]", "$default"),
        ("not json at all", "$default"),
        ('{"action": "$connect"}', "$default"),  # $-routes are never selected by a message
        ("", "$default"),
        ("[" * 16_000 + "]" * 16_000, "$default"),  # deeper than json's parser goes
        ('{"action": ' + "9" * 5_000 + "}", "$default"),  # past Python's int-str limit
        ('{"action": ' + "[" * 990 + "]" * 990 + "}", "$default"),  # parses, cannot print
        ('{"action": "\\ud800"}', "$default"),  # a lone surrogate names no route
    ],
)
def test_falls_back_to_default(selector: RouteSelector, body: str, expected: str) -> None:
    assert selector.select(body) == expected


def test_binary_messages_go_to_default(selector: RouteSelector) -> None:
    assert selector.select("eyJhY3Rpb24iOiJzdWJzY3JpYmUifQ==", is_binary=True) == "$default"


def test_no_default_route_gives_none() -> None:
    selector = RouteSelector("$request.body.action", {"subscribe"})
    assert selector.select("garbage") is None
    assert selector.select('{"action": "nope"}') is None
    assert selector.select('{"action": "subscribe"}') == "subscribe"


def test_nested_paths_and_braced_form() -> None:
    get = compile_selection_expression("${request.body.meta.kind}")
    assert get({"meta": {"kind": "nested"}}) == "nested"
    selector = RouteSelector("$request.body.items[1]", ROUTES)
    assert selector.select('{"items": ["a", "nested"]}') == "nested"
    assert selector.select('{"items": ["a"]}') == "$default"


@pytest.mark.parametrize("expression", ["action", "$request.header.x", "$context.routeKey", ""])
def test_rejects_expressions_api_gateway_rejects(expression: str) -> None:
    with pytest.raises(ValueError, match="route selection expression"):
        compile_selection_expression(expression)


@pytest.mark.parametrize(
    ("result", "sent"),
    [
        ({"statusCode": 200, "body": "text"}, "text"),
        ({"statusCode": 200, "body": {"a": 1}}, '{"a": 1}'),
        ({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}, b"hi"),
        ({"statusCode": 200, "body": None}, None),
        ({"statusCode": 204}, None),
        ("bare string", "bare string"),
        ({"no": "status"}, '{"no": "status"}'),
        ([1, 2], "[1, 2]"),
    ],
)
def test_route_response_body(result: object, sent: object) -> None:
    assert route_response_body(result) == sent
