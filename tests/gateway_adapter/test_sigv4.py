from __future__ import annotations

import datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from multidict import CIMultiDict

from gateway_adapter.sigv4 import SignatureError, SigV4Verifier

URL = "http://127.0.0.1:3001/local/@connections/L0SM9cOFvHcCIhw%3D"


def signed(
    body: bytes = b"hello",
    service: str = "execute-api",
    key: str = "test",
    secret: str = "test",
    url: str = URL,
) -> CIMultiDict[str]:
    request = AWSRequest(method="POST", url=url, data=body)
    SigV4Auth(Credentials(key, secret), service, "us-east-1").add_auth(request)
    return CIMultiDict({**dict(request.headers.items()), "host": "127.0.0.1:3001"})


@pytest.fixture
def verifier() -> SigV4Verifier:
    return SigV4Verifier("test", "test")


def test_accepts_what_botocore_signs(verifier: SigV4Verifier) -> None:
    verifier.verify("POST", URL, signed(), b"hello")


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({}, b"hello", "Missing Authentication Token"),
        ({"Authorization": "Bearer x"}, b"hello", "AWS4-HMAC-SHA256"),
        (signed(key="other"), b"hello", "security token"),
        (signed(secret="wrong"), b"hello", "does not match"),
        (signed(), b"tampered", "does not match"),
        (signed(service="s3"), b"hello", "scoped to service"),
        (
            signed(url="http://127.0.0.1:3001/local/@connections/AAAAAAAAAAAAAAA%3D"),
            b"hello",
            "does not match",
        ),
    ],
)
def test_refuses(
    verifier: SigV4Verifier, headers: CIMultiDict[str] | dict[str, str], body: bytes, message: str
) -> None:
    with pytest.raises(SignatureError, match=message):
        verifier.verify("POST", URL, headers, body)


def test_refuses_old_signatures(verifier: SigV4Verifier) -> None:
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=20)
    with pytest.raises(SignatureError, match="expired"):
        verifier.verify("POST", URL, signed(), b"hello", now=later)


def test_refuses_missing_signed_header(verifier: SigV4Verifier) -> None:
    headers = signed()
    del headers["X-Amz-Date"]
    with pytest.raises(SignatureError):
        verifier.verify("POST", URL, headers, b"hello")
