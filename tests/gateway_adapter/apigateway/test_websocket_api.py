"""The WebSocket side against a running gateway, with websocket-client as the client."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import websocket

from ..clients import ID, connect, events_of, handshake_status, wait_for
from ..conftest import PROBE_YML, RunningGateway

# 1. route selection -------------------------------------------------------------------------


def test_routes_by_expression_and_default(probe: RunningGateway) -> None:
    ws = connect(probe)
    ws.send(json.dumps({"action": "echo", "n": 1}))
    assert json.loads(ws.recv()) == {"action": "echo", "n": 1}
    ws.send("not json")
    ws.send(json.dumps({"action": "unknown"}))
    ws.send(json.dumps({"action": 7}))
    defaults = wait_for(lambda: len(events_of("MESSAGE")) >= 3 and events_of("MESSAGE"))
    assert {e["body"] for e in defaults} == {"not json", '{"action": "unknown"}', '{"action": 7}'}
    assert all(e["requestContext"]["routeKey"] == "$default" for e in defaults)
    ws.close()


def test_chat_service_uses_its_own_selection_expression(chat: RunningGateway) -> None:
    alice = websocket.create_connection(f"{chat.url}?name=alice", timeout=5)
    bob = websocket.create_connection(f"{chat.url}?name=bob", timeout=5)
    for ws in (alice, bob):
        ws.send(json.dumps({"type": "join", "room": "lobby"}))
        assert json.loads(ws.recv()) == {"joined": "lobby", "greeting": "welcome to chatroom"}
    alice.send(json.dumps({"type": "say", "room": "lobby", "text": "hi bob"}))
    assert json.loads(bob.recv()) == {"from": "alice", "text": "hi bob"}
    assert json.loads(alice.recv()) == {"from": "alice", "text": "hi bob"}
    alice.close()
    bob.close()


# 2. no route, no $default -------------------------------------------------------------------


def test_forbidden_without_route_and_default(chat: RunningGateway) -> None:
    ws = websocket.create_connection(chat.url, timeout=5)
    ws.send(json.dumps({"type": "dance"}))
    reply = json.loads(ws.recv())
    assert reply["message"] == "Forbidden"
    assert ID.match(reply["connectionId"]) and ID.match(reply["requestId"])
    ws.send("plain text")
    assert json.loads(ws.recv())["message"] == "Forbidden"
    ws.close()


# 3. integration failure ---------------------------------------------------------------------


@pytest.mark.parametrize("action", ["fail", "slow"])
def test_internal_server_error_on_raise_or_timeout(probe: RunningGateway, action: str) -> None:
    ws = connect(probe)
    ws.send(json.dumps({"action": action}))
    ws.send(json.dumps({"action": action}))
    first, second = json.loads(ws.recv()), json.loads(ws.recv())
    assert first["message"] == second["message"] == "Internal server error"
    connect_event = events_of("CONNECT")[-1]
    assert first["connectionId"] == connect_event["requestContext"]["connectionId"]
    assert first["requestId"] != second["requestId"]
    ws.close()


# 4. $connect before the upgrade -------------------------------------------------------------


def test_connect_status_refuses_handshake(probe: RunningGateway) -> None:
    assert handshake_status(probe, "token=allow&status=418") == 418
    assert handshake_status(probe, "token=allow&fail=1") == 500
    assert not events_of("DISCONNECT")  # never connected, so no $disconnect


def test_posting_from_inside_connect_is_gone(probe: RunningGateway) -> None:
    import probe_handlers

    ws = connect(probe, "token=allow&selfpost=1")
    assert probe_handlers.SELF_POST == ["GoneException"]
    ws.close()


def test_connect_is_optional(start_gateway: Callable[..., RunningGateway], tmp_path: Any) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(
        "service: bare\nfunctions:\n  echo:\n    handler: probe_handlers.echo\n"
        "    events:\n      - websocket:\n          route: $default\n"
        "          routeResponseSelectionExpression: $default\n"
    )
    gateway = start_gateway(path)
    ws = websocket.create_connection(gateway.url, timeout=5)
    ws.send("ping")
    assert ws.recv() == "ping"
    ws.close()


def test_unknown_stage_and_plain_http(probe: RunningGateway) -> None:
    import urllib.error
    import urllib.request

    base = probe.url.replace("ws://", "http://").rsplit("/", 1)[0]
    with pytest.raises(urllib.error.HTTPError) as wrong_stage:
        urllib.request.urlopen(f"{base}/prod", timeout=5)
    assert wrong_stage.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as plain:
        urllib.request.urlopen(f"{base}/test", timeout=5)
    assert plain.value.code == 426


# 5. authorizer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 401),
        ("token=", 401),
        ("token=deny", 403),
        ("token=unauthorized", 401),
        ("token=boom", 500),
        ("token=bad", 500),
    ],
)
def test_authorizer_refusals(probe: RunningGateway, query: str, status: int) -> None:
    assert handshake_status(probe, query) == status
    assert not events_of("CONNECT")  # $connect never ran


def test_authorizer_context_on_every_later_event(probe: RunningGateway) -> None:
    ws = connect(probe)
    ws.send("to default")
    wait_for(lambda: events_of("MESSAGE"))
    ws.close()
    wait_for(lambda: events_of("DISCONNECT"))
    auth_event = next(e for e in __import__("probe_handlers").EVENTS if e.get("type") == "REQUEST")
    assert auth_event["methodArn"].endswith("/test/$connect")
    assert auth_event["queryStringParameters"] == {"token": "allow"}
    for kind in ("CONNECT", "MESSAGE", "DISCONNECT"):
        authorizer = events_of(kind)[-1]["requestContext"]["authorizer"]
        assert authorizer["principalId"] == "user-allow"
        assert authorizer["role"] == "player" and authorizer["level"] == 3


# 6. event shapes ----------------------------------------------------------------------------


def test_events_are_shaped_as_aws_sends_them(probe: RunningGateway) -> None:
    before = int(time.time() * 1000)
    ws = connect(probe, "token=allow&tag=a&tag=b", header=["User-Agent: probe-agent/2.0"])
    ws.send(json.dumps({"hello": 1}))
    wait_for(lambda: events_of("MESSAGE"))
    ws.close()
    wait_for(lambda: events_of("DISCONNECT"))
    connect_event, message, disconnect = (
        events_of(k)[-1] for k in ("CONNECT", "MESSAGE", "DISCONNECT")
    )
    assert connect_event["queryStringParameters"] == {"token": "allow", "tag": "b"}
    assert connect_event["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert connect_event["headers"]["User-Agent"] == "probe-agent/2.0"
    for event in (message, disconnect):
        assert "queryStringParameters" not in event
    assert "headers" not in message
    assert disconnect["headers"] == {
        "Host": connect_event["requestContext"]["domainName"],
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }
    assert "messageId" in message["requestContext"]
    assert "messageId" not in connect_event["requestContext"]
    assert "messageId" not in disconnect["requestContext"]
    ids = set()
    for event in (connect_event, message, disconnect):
        context = event["requestContext"]
        assert ID.match(context["connectionId"])
        assert context["requestId"] == context["extendedRequestId"]
        ids.add(context["requestId"])
        assert context["identity"] == {"sourceIp": "127.0.0.1", "userAgent": "probe-agent/2.0"}
        assert before <= context["connectedAt"] <= context["requestTimeEpoch"]
        assert re.fullmatch(
            r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["requestTime"]
        )
        assert context["stage"] == "test"
        assert context["messageDirection"] == "IN"
    assert len(ids) == 3
    assert message["body"] == '{"hello": 1}' and message["isBase64Encoded"] is False


# 7. $disconnect -----------------------------------------------------------------------------


def test_disconnect_reports_client_close_code_and_reason(probe: RunningGateway) -> None:
    ws = connect(probe)
    ws.close(status=4000, reason=b"bye now")
    event = wait_for(lambda: events_of("DISCONNECT"))[-1]
    assert event["requestContext"]["disconnectStatusCode"] == 4000
    assert event["requestContext"]["disconnectReason"] == "bye now"


def test_disconnect_runs_when_the_client_just_drops(probe: RunningGateway) -> None:
    ws = connect(probe)
    assert ws.sock is not None
    ws.sock.close()  # no close frame
    event = wait_for(lambda: events_of("DISCONNECT"))[-1]
    assert event["requestContext"]["disconnectStatusCode"] in (1000, 1006)


def test_disconnect_runs_for_every_connection_on_shutdown(
    start_gateway: Callable[..., RunningGateway],
) -> None:
    import probe_handlers

    probe_handlers.EVENTS.clear()
    gateway = start_gateway(PROBE_YML)
    sockets = [connect(gateway) for _ in range(3)]
    gateway.stop()
    closes = events_of("DISCONNECT")
    assert len(closes) == 3
    assert {e["requestContext"]["disconnectStatusCode"] for e in closes} == {1001}
    for ws in sockets:
        with pytest.raises(websocket.WebSocketConnectionClosedException):
            ws.recv()
            ws.recv()


# 8. binary frames ---------------------------------------------------------------------------


def test_binary_frames_arrive_base64_encoded(probe: RunningGateway) -> None:
    ws = connect(probe)
    payload = bytes(range(256))
    ws.send_binary(payload)
    event = wait_for(lambda: events_of("MESSAGE"))[-1]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload
    assert event["requestContext"]["routeKey"] == "$default"
    ws.close()


# 9. route responses -------------------------------------------------------------------------


def test_return_value_reaches_client_only_with_route_response(probe: RunningGateway) -> None:
    ws = connect(probe)
    ws.send(json.dumps({"action": "silent", "n": 1}))  # returns a body, but no route response
    ws.send(json.dumps({"action": "asyncecho", "text": "second"}))
    assert ws.recv() == "second"  # the silent route's body never came
    ws.close()


# 13. domainName and stage -------------------------------------------------------------------


def test_domain_name_and_stage_point_back_at_the_gateway(probe: RunningGateway) -> None:
    ws = connect(probe)
    ws.send(json.dumps({"action": "post", "text": "via management api"}))
    assert json.loads(ws.recv()) == {"own": "post", "echo": "via management api"}
    context = events_of("CONNECT")[-1]["requestContext"]
    assert context["domainName"] == probe.gateway.domain_name
    assert f"http://{context['domainName']}/{context['stage']}" == probe.management_url
    ws.close()


def test_header_identity_source(
    start_gateway: Callable[..., RunningGateway], tmp_path: Any
) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(
        "service: hdr\nfunctions:\n  auth:\n    handler: header_auth.handle\n"
        "  connect:\n    handler: probe_handlers.connect\n    events:\n      - websocket:\n"
        "          route: $connect\n          authorizer:\n            name: auth\n"
        "            identitySource: [route.request.header.Auth]\n"
    )
    (tmp_path / "header_auth.py").write_text(
        "def handle(event, context):\n"
        "    effect = 'Allow' if event['headers'].get('Auth') == 'letmein' else 'Deny'\n"
        "    return {'principalId': 'h', 'policyDocument': {'Statement': [{'Effect': effect,\n"
        "            'Action': 'execute-api:Invoke', 'Resource': event['methodArn']}]}}\n"
    )
    gateway = start_gateway(path)
    websocket.create_connection(gateway.url, timeout=5, header=["Auth: letmein"]).close()
    for headers, status in (([], 401), (["Auth: wrong"], 403)):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(gateway.url, timeout=5, header=headers)
        assert refused.value.status_code == status


def test_subprotocol_agreed_only_when_connect_returns_it(probe: RunningGateway) -> None:
    ws = connect(probe, "token=allow&protocol=chat.v1", subprotocols=["chat.v1", "other"])
    assert ws.getsubprotocol() == "chat.v1"
    ws.close()
    plain = connect(probe)
    assert plain.getsubprotocol() is None
    plain.close()


@pytest.mark.parametrize(
    ("host", "domain"),
    [("0.0.0.0", "127.0.0.1:3001"), ("::", "[::1]:3001"), ("localhost", "localhost:3001")],
)
def test_domain_name_of_the_bound_address(host: str, domain: str) -> None:
    import asyncio

    from gateway_adapter.apigateway.connection import GatewayConfig
    from gateway_adapter.apigateway.server import Gateway
    from gateway_adapter.lambda_runtime.runtime import LambdaRuntime
    from serverless_model.service import load_service

    service = load_service(PROBE_YML)  # the gateway is built, never started: nothing is bound

    async def build() -> str:
        runtime = LambdaRuntime(service)
        try:
            return Gateway(service, runtime, GatewayConfig(stage="t", host=host)).domain_name
        finally:
            await runtime.close()

    assert asyncio.run(build()) == domain
