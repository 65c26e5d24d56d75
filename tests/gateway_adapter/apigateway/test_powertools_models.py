"""AWS Lambda Powertools' event models, built from real AWS events, judge every event the
gateway adapter hands a function: CONNECT (with and without a query string), MESSAGE (text and
binary), DISCONNECT, the REQUEST authorizer's event, and events carrying authorizer context.

Powertools has no model for a WebSocket API's REQUEST authorizer event (its
ApiGatewayAuthorizerRequest is the REST one: resource, path and httpMethod, which a WebSocket
API never sends). `WebSocketRequestAuthorizerEvent` below follows AWS's documented example
(apigateway-websocket-api-lambda-auth) around Powertools' own CONNECT request context."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any, Literal

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from aws_lambda_powertools.utilities.parser.models.apigw_websocket import (
    APIGatewayWebSocketConnectEventRequestContext,
)
from pydantic import BaseModel, ConfigDict

from gateway_adapter.apigateway import events

from ..clients import connect, events_of, wait_for
from ..conftest import RunningGateway


class WebSocketRequestAuthorizerEvent(BaseModel):
    """AWS's documented input of a WebSocket REQUEST authorizer; every field it shows."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["REQUEST"]
    methodArn: str
    headers: dict[str, str]
    multiValueHeaders: dict[str, list[str]]
    queryStringParameters: dict[str, str]
    multiValueQueryStringParameters: dict[str, list[str]]
    stageVariables: dict[str, str]
    requestContext: APIGatewayWebSocketConnectEventRequestContext


FACTS = events.ConnectionFacts(
    connection_id="L0SM9cOFvHcCIhw=",
    connected_at_ms=1_700_000_000_123,
    source_ip="127.0.0.1",
    user_agent="probe/1.0",
    domain_name="127.0.0.1:3001",
    stage="local",
    api_id="abcdef1234",
)
AUTHORIZED = dataclasses.replace(FACTS, authorizer={"principalId": "user-1", "role": "viewer"})
HEADERS = {"Host": ["127.0.0.1:3001"], "X-Many": ["a", "b"]}
QUERY = {"token": ["t1"], "tag": ["x", "y"]}
NOW = 1_700_000_001.5
ARN = "arn:aws:execute-api:us-east-1:000000000000:abcdef1234/local/$connect"


@pytest.mark.parametrize("facts", [FACTS, AUTHORIZED], ids=["plain", "authorized"])
@pytest.mark.parametrize("query", [QUERY, {}], ids=["query", "no-query"])
def test_connect_events_fit_the_connect_model(facts, query):
    event = events.connect_event(facts, "req1", NOW, HEADERS, query)
    parsed = APIGatewayWebSocketConnectEventModel.model_validate(event)
    assert parsed.multi_value_headers["X-Many"] == ["a", "b"]


@pytest.mark.parametrize("facts", [FACTS, AUTHORIZED], ids=["plain", "authorized"])
@pytest.mark.parametrize(
    ("body", "binary"),
    [('{"action":"echo"}', False), (base64.b64encode(bytes(range(256))).decode(), True)],
    ids=["text", "binary"],
)
def test_message_events_fit_the_message_model(facts, body, binary):
    event = events.message_event(facts, "$default", "req2", "msg2", NOW, body, binary)
    parsed = APIGatewayWebSocketMessageEventModel.model_validate(event)
    assert (parsed.body, parsed.is_base64_encoded) == (body, binary)
    assert parsed.request_context.message_id == "msg2"


@pytest.mark.parametrize("facts", [FACTS, AUTHORIZED], ids=["plain", "authorized"])
def test_disconnect_events_fit_the_disconnect_model(facts):
    event = events.disconnect_event(facts, "req3", NOW, 1001, "Going away")
    parsed = APIGatewayWebSocketDisconnectEventModel.model_validate(event)
    assert parsed.headers["Host"] == FACTS.domain_name
    assert set(parsed.multi_value_headers) == {"Host", "x-api-key", "X-Forwarded-For", "x-restapi"}


@pytest.mark.parametrize("query", [QUERY, {}], ids=["query", "no-query"])
def test_authorizer_events_fit_aws_documented_shape(query):
    event = events.authorizer_event(FACTS, "req4", NOW, HEADERS, query, ARN)
    parsed = WebSocketRequestAuthorizerEvent.model_validate(event)
    assert parsed.requestContext.route_key == "$connect"


def _check(event: dict[str, Any]) -> None:
    if event.get("type") == "REQUEST":
        WebSocketRequestAuthorizerEvent.model_validate(event)
        return
    model: Any = {  # pydantic models, typed by their metaclass here
        "CONNECT": APIGatewayWebSocketConnectEventModel,
        "MESSAGE": APIGatewayWebSocketMessageEventModel,
        "DISCONNECT": APIGatewayWebSocketDisconnectEventModel,
    }[event["requestContext"]["eventType"]]
    model.model_validate(event)


def test_every_event_of_a_real_connection_fits_its_model(probe: RunningGateway) -> None:
    import probe_handlers

    ws = connect(probe, "token=allow&tag=a&tag=b", header=["User-Agent: probe-agent/2.0"])
    ws.send(json.dumps({"hello": 1}))
    ws.send_binary(b"\x00\xff binary")
    wait_for(lambda: len(events_of("MESSAGE")) == 2)
    ws.close()
    wait_for(lambda: events_of("DISCONNECT"))
    seen = [e.get("type") or e["requestContext"]["eventType"] for e in probe_handlers.EVENTS]
    assert sorted(seen) == ["CONNECT", "DISCONNECT", "MESSAGE", "MESSAGE", "REQUEST"]
    for event in probe_handlers.EVENTS:
        _check(event)
    # The authorizer's context reaches every later event of the connection, and still fits.
    for kind in ("CONNECT", "MESSAGE", "DISCONNECT"):
        assert events_of(kind)[-1]["requestContext"]["authorizer"]["principalId"] == "user-allow"
    assert [e["isBase64Encoded"] for e in events_of("MESSAGE")] == [False, True]
