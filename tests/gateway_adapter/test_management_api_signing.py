"""SigV4 over HTTP against a running gateway: requests signed by botocore's own signer, then
tampered with as an attacker replaying them would; each refusal is a 403 ForbiddenException
with AWS's message, and nothing reaches the connection."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request

import pytest
import websocket
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from .conftest import REGION, RunningGateway
from .test_management_api import connection_id
from .test_websocket_api import connect


def signed(
    url: str, body: bytes, *, region: str = REGION, service: str = "execute-api"
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=url, data=body)
    SigV4Auth(Credentials("test", "test"), service, region).add_auth(request)
    return dict(request.headers.items())


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, "", {}
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("x-amzn-ErrorType", ""), json.loads(error.read())


def nothing_arrives(ws: websocket.WebSocket) -> bool:
    ws.settimeout(0.3)
    try:
        ws.recv()
    except websocket.WebSocketTimeoutException:
        return True
    return False


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@pytest.fixture
def target(probe: RunningGateway) -> tuple[str, websocket.WebSocket]:
    ws = connect(probe)
    return f"{probe.gateway.management_url}/@connections/{connection_id(probe)}", ws


def test_a_botocore_signed_post_is_delivered(target: tuple[str, websocket.WebSocket]) -> None:
    url, ws = target
    assert post(url, b"hello", signed(url, b"hello"))[0] == 200
    assert ws.recv() == "hello"


def test_a_replayed_signature_with_the_old_hash_and_a_new_body_is_refused(
    target: tuple[str, websocket.WebSocket],
) -> None:
    url, ws = target
    headers = {**signed(url, b"hello"), "X-Amz-Content-SHA256": sha256(b"hello")}
    status, kind, body = post(url, b"forged", headers)
    assert (status, kind) == (403, "ForbiddenException")
    assert body["message"] == (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )
    assert nothing_arrives(ws)


def test_a_new_body_under_an_old_signature_is_refused(
    target: tuple[str, websocket.WebSocket],
) -> None:
    url, ws = target
    status, kind, body = post(url, b"forged", signed(url, b"hello"))
    assert (status, kind) == (403, "ForbiddenException")
    assert body["message"].startswith("The request signature we calculated does not match")
    assert nothing_arrives(ws)


def test_unsigned_payload_is_refused(target: tuple[str, websocket.WebSocket]) -> None:
    url, ws = target
    headers = {**signed(url, b"hello"), "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    status, kind, body = post(url, b"hello", headers)
    assert (status, kind) == (403, "ForbiddenException")
    assert "x-amz-content-sha256" in body["message"]
    assert nothing_arrives(ws)


def test_a_signature_for_another_region_is_refused(
    target: tuple[str, websocket.WebSocket],
) -> None:
    url, ws = target
    status, kind, body = post(url, b"hello", signed(url, b"hello", region="eu-west-1"))
    assert (status, kind) == (403, "ForbiddenException")
    assert body["message"].startswith(
        "Credential should be scoped to a valid region, not 'eu-west-1'."
    )
    assert nothing_arrives(ws)


def test_a_signature_for_another_service_is_refused(
    target: tuple[str, websocket.WebSocket],
) -> None:
    url, ws = target
    status, kind, body = post(url, b"hello", signed(url, b"hello", service="execute-apis"))
    assert (status, kind) == (403, "ForbiddenException")
    assert body["message"] == "Credential should be scoped to correct service: 'execute-api'."
    assert nothing_arrives(ws)
