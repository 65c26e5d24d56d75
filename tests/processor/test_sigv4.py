"""The lean signer against botocore's own SigV4Auth, byte for byte, and against what aiohttp
actually puts on the wire."""

from __future__ import annotations

import hashlib

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from yarl import URL

from processor.sigv4 import Credentials, SigV4Signer, amz_date, connection_path, target

STAMP = "20261202T081500Z"
IDS = ["L0SM9cOFvHcCIhw=", "Ab+/c=d", "plain", "a~b-c_d.e", "spaces and é", "x@y:z!$&'()*,;"]
ENDPOINTS = [
    "http://127.0.0.1:3001/local",
    "https://abc123.execute-api.eu-west-1.amazonaws.com/prod",
    "https://abc123.execute-api.eu-west-1.amazonaws.com:443/prod/",
    "http://[::1]:8080/stage",
]


def botocore_signed(url: str, body: bytes, credentials: Credentials, region: str) -> AWSRequest:
    """What botocore's SigV4Auth puts on the same request at the same moment."""
    request = AWSRequest(method="POST", url=url, data=body, headers={"User-Agent": "x"})
    request.context["timestamp"] = STAMP
    signer = SigV4Auth(
        BotocoreCredentials(credentials.access_key, credentials.secret_key, credentials.token),
        "execute-api",
        region,
    )
    signer._modify_request_before_signing(request)  # type: ignore[attr-defined]
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)  # type: ignore[attr-defined]
    request.context["canonical"] = canonical
    return request


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE token/with+chars=="])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("connection_id", IDS)
def test_signature_equals_botocores(connection_id: str, endpoint: str, token: str | None) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    body = b'{"event_id": "e1", "payload": "\xc3\xa9"}'
    where = target(endpoint, connection_id)
    ours = SigV4Signer("eu-west-1").headers("POST", where, body, credentials, STAMP)
    theirs = botocore_signed(where.url, body, credentials, "eu-west-1")
    assert ours["Authorization"] == theirs.headers["Authorization"]
    assert ours["X-Amz-Date"] == theirs.headers["X-Amz-Date"] == STAMP
    assert ours.get("X-Amz-Security-Token") == theirs.headers.get("X-Amz-Security-Token")
    signer = SigV4Signer("eu-west-1")
    canonical, _ = signer.canonical_request(
        "POST", where, STAMP, token, hashlib.sha256(body).hexdigest()
    )
    assert canonical == theirs.context["canonical"]
    assert canonical.endswith(hashlib.sha256(body).hexdigest())  # the payload is signed


def test_canonical_path_double_encodes_the_id_as_botocore_does() -> None:
    where = target("http://127.0.0.1:3001/local", "Ab+/c=d")
    assert where.url == "http://127.0.0.1:3001/local/@connections/Ab%2B%2Fc=d"
    assert where.canonical_path == "/local/%40connections/Ab%252B%252Fc%3Dd"
    assert where.host == "127.0.0.1:3001"
    assert target("https://h.example.com:443/prod", "x").host == "h.example.com"


@pytest.mark.parametrize("connection_id", IDS)
def test_aiohttp_sends_the_path_that_was_signed(connection_id: str) -> None:
    """aiohttp re-quotes a URL given as a string (yarl); the signed form is its fixed point,
    so the request line carries exactly the path in the canonical request."""
    path = f"/local{connection_path(connection_id)}"
    assert URL(f"http://127.0.0.1:1{path}").raw_path == path


def test_the_signing_key_is_cached_per_day_and_secret() -> None:
    signer = SigV4Signer("us-east-1")
    first = signer.signing_key("secret", "20261202")
    assert signer.signing_key("secret", "20261202") is first
    assert signer.signing_key("secret", "20261203") != first
    assert signer.signing_key("other", "20261202") != first


def test_a_region_is_required() -> None:
    with pytest.raises(ValueError, match="region"):
        SigV4Signer("")


def test_amz_date_is_utc() -> None:
    assert amz_date(0) == "19700101T000000Z"
