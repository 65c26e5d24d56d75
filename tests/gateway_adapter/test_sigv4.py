from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from gateway_adapter.sigv4 import SignatureError, SigV4Verifier, canonical_request

URL = "http://127.0.0.1:3001/local/@connections/L0SM9cOFvHcCIhw%3D"
PATH = urlsplit(URL).path


def sign(
    body: bytes = b"hello",
    service: str = "execute-api",
    key: str = "test",
    secret: str = "test",
    url: str = URL,
    extra: dict[str, str] | None = None,
) -> CIMultiDict[str]:
    request = AWSRequest(method="POST", url=url, data=body, headers=extra or {})
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(request)
    return CIMultiDict({**dict(request.headers.items()), "host": "127.0.0.1:3001"})


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
        (sign(service="s3"), b"hello", "scoped to service"),
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
    import hashlib

    assert canonical_request("POST", path, headers, signed, hashlib.sha256(body).hexdigest()) == (
        expected
    )
