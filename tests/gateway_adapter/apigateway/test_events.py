from __future__ import annotations

import dataclasses
import re

import pytest

from gateway_adapter.apigateway import events

FACTS = events.ConnectionFacts(
    connection_id="L0SM9cOFvHcCIhw=",
    connected_at_ms=1_700_000_000_123,
    source_ip="127.0.0.1",
    user_agent="probe/1.0",
    domain_name="127.0.0.1:3001",
    stage="local",
    api_id="abcdef1234",
)
HEADERS = {"Host": ["127.0.0.1:3001"], "X-Many": ["a", "b"]}
QUERY = {"token": ["t1"], "tag": ["x", "y"]}
NOW = 1_700_000_001.5


def test_ids_look_like_aws_ids() -> None:
    ids = {events.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    for value in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", value)
        assert events.valid_connection_id(value)


@pytest.mark.parametrize(
    "bad", ["", "short=", "L0SM9cOFvHcCIhw", "L0SM9cOFvHcCIh==", "L0SM9c/FvHcCIhw="]
)
def test_malformed_connection_ids(bad: str) -> None:
    assert not events.valid_connection_id(bad)


def test_clf_and_iso_times() -> None:
    assert events.clf_time(0) == "01/Jan/1970:00:00:00 +0000"
    assert events.clf_time(1_700_000_001.5) == "14/Nov/2023:22:13:21 +0000"
    assert events.iso_time(1_700_000_001_005) == "2023-11-14T22:13:21.005Z"


def test_connect_event_has_headers_and_query() -> None:
    event = events.connect_event(FACTS, "req1", NOW, HEADERS, QUERY)
    context = event["requestContext"]
    assert event["headers"] == {"Host": "127.0.0.1:3001", "X-Many": "b"}
    assert event["multiValueHeaders"]["X-Many"] == ["a", "b"]
    assert event["queryStringParameters"] == {"token": "t1", "tag": "y"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["x", "y"]
    assert event["isBase64Encoded"] is False
    assert context["eventType"] == "CONNECT"
    assert context["routeKey"] == "$connect"
    assert context["requestId"] == context["extendedRequestId"] == "req1"
    assert context["requestTimeEpoch"] == 1_700_000_001_500
    assert context["connectedAt"] == FACTS.connected_at_ms
    assert context["requestTime"] == "14/Nov/2023:22:13:21 +0000"
    assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "probe/1.0"}
    assert context["messageDirection"] == "IN"
    assert "messageId" not in context
    assert "body" not in event


def test_connect_event_without_query_has_no_query_fields() -> None:
    event = events.connect_event(FACTS, "req1", NOW, HEADERS, {})
    assert "queryStringParameters" not in event


def test_message_event() -> None:
    event = events.message_event(FACTS, "echo", "req2", "msg2", NOW, '{"a":1}', False)
    context = event["requestContext"]
    assert context["messageId"] == "msg2"
    assert context["eventType"] == "MESSAGE"
    assert event["body"] == '{"a":1}'
    assert event["isBase64Encoded"] is False
    assert "headers" not in event
    assert "queryStringParameters" not in event


def test_disconnect_event() -> None:
    event = events.disconnect_event(FACTS, "req3", NOW, 1001, "Going away")
    context = event["requestContext"]
    assert context["disconnectStatusCode"] == 1001
    assert context["disconnectReason"] == "Going away"
    assert context["eventType"] == "DISCONNECT"
    assert "messageId" not in context
    assert event["headers"] == {
        "Host": "127.0.0.1:3001",
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }
    assert event["multiValueHeaders"]["Host"] == ["127.0.0.1:3001"]


def test_authorizer_context_on_events_once_set() -> None:
    facts = dataclasses.replace(FACTS)
    facts.authorizer = {"principalId": "me", "role": "x"}
    assert events.message_event(facts, "a", "r", "m", NOW, "", False)["requestContext"][
        "authorizer"
    ] == {"principalId": "me", "role": "x"}
    assert (
        "authorizer"
        not in events.message_event(FACTS, "a", "r", "m", NOW, "", False)["requestContext"]
    )


def test_authorizer_event() -> None:
    arn = "arn:aws:execute-api:us-east-1:000000000000:abcdef1234/local/$connect"
    event = events.authorizer_event(FACTS, "req4", NOW, HEADERS, {}, arn)
    assert event["type"] == "REQUEST"
    assert event["methodArn"] == arn
    assert event["queryStringParameters"] == {}
    assert "isBase64Encoded" not in event
