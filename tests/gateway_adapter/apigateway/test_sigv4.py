from __future__ import annotations

import hashlib
import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from gateway_adapter.apigateway.sigv4 import SignatureError, SigV4Verifier, canonical_request

URL = "http://127.0.0.1:3001/local/@connections/L0SM9cOFvHcCIhw%3D"
PATH = urlsplit(URL).path


def sign(
    body: bytes = b"hello",
    service: str = "execute-api",
    key: str = "test",
    secret: str = "test",
    url: str = URL,
    extra: dict[str, str] | None = None,
    region: str = "us-east-1",
) -> CIMultiDict[str]:
    request = AWSRequest(method="POST", url=url, data=body, headers=extra or {})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return CIMultiDict({**dict(request.headers.items()), "host": "127.0.0.1:3001"})


def with_header(headers: CIMultiDict[str], name: str, value: str) -> CIMultiDict[str]:
    """The same signed headers with one more, unsigned, added by whoever replays them."""
    tampered = CIMultiDict(headers)
    tampered[name] = value
    return tampered


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@pytest.fixture
def verifier() -> SigV4Verifier:
    return SigV4Verifier("test", "test")


def test_accepts_what_botocore_signs(verifier: SigV4Verifier) -> None:
    verifier.verify("POST", PATH, sign(), b"hello")
    verifier.verify("POST", PATH, sign(), b"hello")  # cached signing key


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({}, b"hello", "Missing Authentication Token"),
        ({"Authorization": "Bearer x"}, b"hello", "AWS4-HMAC-SHA256"),
        (sign(key="other"), b"hello", "security token"),
        (sign(secret="wrong"), b"hello", "does not match"),
        (sign(), b"tampered", "does not match"),
        (sign(service="s3"), b"hello", "scoped to correct service: 'execute-api'"),
        (sign(region="eu-west-1"), b"hello", "scoped to a valid region, not 'eu-west-1'"),
        # The replay of issue 12: a valid signature, the old body's hash in an added header,
        # a new body. The header is compared with the body, never trusted.
        (
            with_header(sign(), "X-Amz-Content-SHA256", sha256(b"hello")),
            b"tampered",
            "x-amz-content-sha256' header does not match",
        ),
        # UNSIGNED-PAYLOAD is S3's alone: execute-api signs the body.
        (
            with_header(sign(), "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),
            b"hello",
            "x-amz-content-sha256' header does not match",
        ),
        (
            sign(extra={"X-Amz-Content-SHA256": sha256(b"hello")}),
            b"tampered",
            "x-amz-content-sha256' header does not match",
        ),
        (
            sign(url="http://127.0.0.1:3001/local/@connections/AAAAAAAAAAAAAAA%3D"),
            b"hello",
            "does not match",
        ),
    ],
)
def test_refuses(
    verifier: SigV4Verifier, headers: CIMultiDict[str] | dict[str, str], body: bytes, message: str
) -> None:
    with pytest.raises(SignatureError, match=message):
        verifier.verify("POST", PATH, headers, body)


def test_accepts_a_signed_payload_hash_that_matches_the_body(verifier: SigV4Verifier) -> None:
    headers = sign(extra={"X-Amz-Content-SHA256": sha256(b"hello")})
    verifier.verify("POST", PATH, headers, b"hello")


def test_the_region_is_the_verifiers_own() -> None:
    SigV4Verifier("test", "test", "eu-west-1").verify(
        "POST", PATH, sign(region="eu-west-1"), b"hello"
    )
    with pytest.raises(SignatureError, match="not 'us-east-1'"):
        SigV4Verifier("test", "test", "eu-west-1").verify("POST", PATH, sign(), b"hello")


def test_refuses_old_signatures(verifier: SigV4Verifier) -> None:
    with pytest.raises(SignatureError, match="expired"):
        verifier.verify("POST", PATH, sign(), b"hello", now=time.time() + 20 * 60)


def test_refuses_missing_or_malformed_date(verifier: SigV4Verifier) -> None:
    headers = sign()
    del headers["X-Amz-Date"]
    with pytest.raises(SignatureError):
        verifier.verify("POST", PATH, headers, b"hello")
    headers["X-Amz-Date"] = "yesterday"
    with pytest.raises(SignatureError, match="malformed"):
        verifier.verify("POST", PATH, headers, b"hello")


_segment = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(_segment, min_size=1, max_size=3),
    header=st.text(alphabet="abc  xyz,;=", max_size=20),
    body=st.binary(max_size=64),
)
def test_canonical_request_equals_botocore(segments: list[str], header: str, body: bytes) -> None:
    from urllib.parse import quote

    path = "/" + "/".join(quote(s, safe="") for s in segments)
    url = f"http://127.0.0.1:3001{path}"
    request = AWSRequest(method="POST", url=url, data=body, headers={"X-Custom": header})
    auth = SigV4Auth(Credentials("test", "test"), "execute-api", "us-east-1")
    request.context["timestamp"] = "20260101T000000Z"
    request.headers["X-Amz-Date"] = "20260101T000000Z"
    expected = auth.canonical_request(request)
    headers = CIMultiDict(
        {"host": "127.0.0.1:3001", "X-Custom": header, "X-Amz-Date": "20260101T000000Z"}
    )
    signed = ["host", "x-amz-date", "x-custom"]
    assert canonical_request("POST", path, headers, signed, hashlib.sha256(body).hexdigest()) == (
        expected
    )
