"""SigV4 over HTTP against a running gateway: requests signed by botocore's own signer, then
tampered with as an attacker replaying them would; each refusal is a 403 ForbiddenException
with AWS's message, and nothing reaches the connection."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest
import websocket
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ..clients import connect
from ..conftest import REGION, RunningGateway
from .test_management_api import connection_id


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
    return f"{probe.management_url}/@connections/{connection_id(probe)}", ws


def test_a_botocore_signed_post_is_delivered(target: tuple[str, websocket.WebSocket]) -> None:
    url, ws = target
    assert post(url, b"hello", signed(url, b"hello"))[0] == 200
    assert ws.recv() == "hello"


def replayed_with_old_hash(url: str) -> dict[str, str]:
    """Issue 12's replay: a valid signature, the old body's hash added unsigned."""
    return {**signed(url, b"hello"), "X-Amz-Content-SHA256": sha256(b"hello")}


def unsigned_payload(url: str) -> dict[str, str]:
    return {**signed(url, b"hello"), "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (
            b"forged",
            replayed_with_old_hash,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ),
        (
            b"forged",
            lambda url: signed(url, b"hello"),
            "The request signature we calculated does not match",
        ),
        (b"hello", unsigned_payload, "The provided 'x-amz-content-sha256' header"),
        (
            b"hello",
            lambda url: signed(url, b"hello", region="eu-west-1"),
            "Credential should be scoped to a valid region, not 'eu-west-1'.",
        ),
        (
            b"hello",
            lambda url: signed(url, b"hello", service="execute-apis"),
            "Credential should be scoped to correct service: 'execute-api'.",
        ),
    ],
    ids=["old-hash-new-body", "new-body", "unsigned-payload", "other-region", "other-service"],
)
def test_a_tampered_request_is_refused_and_delivers_nothing(
    target: tuple[str, websocket.WebSocket],
    body: bytes,
    headers: Callable[[str], dict[str, str]],
    message: str,
) -> None:
    url, ws = target
    status, kind, answer = post(url, body, headers(url))
    assert (status, kind) == (403, "ForbiddenException")
    assert answer["message"].startswith(message)
    assert nothing_arrives(ws)
