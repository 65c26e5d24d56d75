"""SigV4 for @connections requests and DynamoDB Queries, exactly as botocore's SigV4Auth signs
them, without botocore's per-call pipeline (about 1.1 ms of CPU per post).

Pure: the credentials and the time are arguments. What botocore's SigV4Auth signs for a
PostToConnection is fixed: `host`, `x-amz-date` and, with temporary credentials,
`x-amz-security-token` (User-Agent is on its blacklist; the SDK's other headers are added after
signing); the payload hash is the body's SHA-256 (botocore signs every non-S3 payload, HTTP or
HTTPS) and is not sent as a header. A JSON-protocol call (DynamoDB) also signs the
`content-type` and `x-amz-target` headers it carries: `signed` below. tests/processor/test_sigv4.py
compares this signer with botocore's own, byte for byte. The canonical request, key
derivation and signature are sigv4_core's, the code the emulator verifies with."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import quote, urlsplit

from sigv4_core import (
    ALGORITHM,
    SigningKeys,
    canonical_path,
    canonical_request,
    credential_scope,
    signature,
    string_to_sign,
    trimmed,
)

__all__ = [
    "ALGORITHM",
    "SIGNING_SERVICE",
    "Credentials",
    "SigV4Signer",
    "SignedTarget",
    "amz_date",
    "connection_path",
    "endpoint_target",
    "target",
]

# The API Gateway management API is signed as service `execute-api` (its service model's
# signingName), in the client's region.
SIGNING_SERVICE = "execute-api"
# What stays unescaped in the id's path segment: botocore's SAFE_CHARS ("-._~") plus the
# sub-delimiters, ":" and "@" that RFC 3986 allows in a segment, except "+". aiohttp (yarl)
# re-quotes every URL it is given and decodes exactly those escapes (a botocore `%3D` leaves as
# `=`), so the path is signed in the form it travels; "+" and "/" are escaped either way.
_LABEL_SAFE = "-._~!$&'()*,;=:@"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_KEY_CACHE_MAX = 16
_NONE: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Credentials:
    """A frozen view of the credentials at one moment (botocore's ReadOnlyCredentials)."""

    access_key: str
    secret_key: str
    token: str | None = None


@dataclass(frozen=True, slots=True)
class SignedTarget:
    """The parts of one URL that signing and sending need, computed once per connection:
    `url` as sent (labels percent-encoded by botocore's rules) and its canonical pieces."""

    url: str
    host: str
    canonical_path: str


def connection_path(connection_id: str) -> str:
    """`/@connections/{ConnectionId}`, the id percent-encoded as aiohttp will send it."""
    return f"/@connections/{quote(connection_id.encode(), safe=_LABEL_SAFE)}"


def _host_of(url: str) -> str:
    """botocore's _host_from_url: lowercase host, the port unless it is the scheme's default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def target(endpoint: str, connection_id: str) -> SignedTarget:
    url = f"{endpoint.rstrip('/')}{connection_path(connection_id)}"
    path = urlsplit(url).path
    return SignedTarget(url, _host_of(url), canonical_path(path))


def endpoint_target(endpoint: str) -> SignedTarget:
    """The root path of an endpoint (`https://dynamodb.us-east-1.amazonaws.com/`), where the
    JSON-protocol services take every call."""
    url = f"{endpoint.rstrip('/')}/"
    return SignedTarget(url, _host_of(url), "/")


def _header_lines(
    host: str, stamp: str, token: str | None, signed: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Every signed header, lower-cased and sorted by name as SigV4 canonicalizes them."""
    lines = [("host", host), ("x-amz-date", stamp)]
    if token:
        lines.append(("x-amz-security-token", token))
    lines += [(name.lower(), trimmed(value)) for name, value in signed.items()]
    return sorted(lines)


def amz_date(epoch_s: float | None = None) -> str:
    """X-Amz-Date (SIGV4_TIMESTAMP) in UTC."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if epoch_s is None else epoch_s))


class SigV4Signer:
    """Signs for one region and service; the signing key is cached per secret and day (it
    changes only at midnight UTC or with new credentials)."""

    def __init__(self, region: str, service: str = SIGNING_SERVICE) -> None:
        if not region:
            raise ValueError("a region is needed to sign (AWS_REGION or AWS_DEFAULT_REGION)")
        self.region = region
        self.service = service
        self._keys = SigningKeys(_KEY_CACHE_MAX)

    def signing_key(self, secret_key: str, day: str) -> bytes:
        return self._keys.key(secret_key, day, self.region, self.service)

    def canonical_request(
        self,
        method: str,
        where: SignedTarget,
        stamp: str,
        token: str | None,
        payload_hash: str,
        signed: Mapping[str, str] = _NONE,
    ) -> tuple[str, str]:
        """The canonical request and its SignedHeaders list."""
        lines = _header_lines(where.host, stamp, token, signed)
        return canonical_request(method, where.canonical_path, "", lines, payload_hash)

    def headers(
        self,
        method: str,
        where: SignedTarget,
        body: bytes,
        credentials: Credentials,
        stamp: str,
        signed: Mapping[str, str] = _NONE,
    ) -> dict[str, str]:
        """The headers that make this request signed: Host, X-Amz-Date, the token if any, and
        Authorization; `signed` are other headers the request sends and signs (sent as given,
        not returned here). `stamp` is an X-Amz-Date (see amz_date)."""
        token = trimmed(credentials.token) if credentials.token else None
        canonical, names = self.canonical_request(
            method, where, stamp, token, hashlib.sha256(body).hexdigest(), signed
        )
        day = stamp[:8]
        scope = credential_scope(day, self.region, self.service)
        key = self.signing_key(credentials.secret_key, day)
        signed_hex = signature(key, string_to_sign(stamp, scope, canonical))
        headers = {"Host": where.host, "X-Amz-Date": stamp}
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        headers["Authorization"] = (
            f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={names}, Signature={signed_hex}"
        )
        return headers
