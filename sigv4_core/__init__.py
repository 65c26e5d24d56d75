"""The SigV4 core that signing and verifying share: the canonical request, the string to sign,
the key derivation and the signature, as botocore's SigV4Auth computes them for non-S3
services. The processor signs with it (processor.sigv4) and the emulator's @connections API
verifies with it (gateway_adapter.apigateway.sigv4), so a drift between the two cannot pass
the tests unseen: both are compared with botocore byte for byte.

A top-level package of its own because neither side may import the other: the emulator knows
nothing of Tumble, and the Lambda artifact carries processor/ but not gateway_adapter/. It
imports only the standard library and botocore (which Lambda's runtime has), and the artifact
ships it (serverless.yml's package.patterns). Pure: credentials and times are arguments."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import quote

from botocore.utils import normalize_url_path

__all__ = [
    "ALGORITHM",
    "SigningKeys",
    "canonical_path",
    "canonical_request",
    "credential_scope",
    "signature",
    "string_to_sign",
    "trimmed",
]

ALGORITHM = "AWS4-HMAC-SHA256"


def canonical_path(path: str) -> str:
    """SigV4Auth._normalize_url_path for non-S3 paths: normalized, then quoted once more, so
    an id's `%3D` is `%253D` in the canonical request."""
    return quote(normalize_url_path(path), safe="/~")


def trimmed(value: str) -> str:
    """A header value as SigV4 canonicalizes it: inner runs of spaces folded, ends stripped."""
    return " ".join(value.split())


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    payload_hash: str,
) -> tuple[str, str]:
    """The canonical request and its SignedHeaders list; `path` is already canonical
    (canonical_path) and `headers` are (lower-case name, canonical value), sorted by name."""
    lines = list(headers)
    header_block = "".join(f"{name}:{value}\n" for name, value in lines)
    names = ";".join(name for name, _ in lines)
    return f"{method}\n{path}\n{query}\n{header_block}\n{names}\n{payload_hash}", names


def credential_scope(day: str, region: str, service: str) -> str:
    return f"{day}/{region}/{service}/aws4_request"


def string_to_sign(stamp: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{stamp}\n{scope}\n{digest}"


def signature(key: bytes, to_sign: str) -> str:
    return hmac.new(key, to_sign.encode(), "sha256").hexdigest()


class SigningKeys:
    """Derived signing keys, cached: a key changes only at midnight UTC or with another secret,
    region or service, and deriving one costs four HMACs on a hot path (every post signed,
    every post verified). Bounded: the cache is cleared when it reaches `max_keys`."""

    def __init__(self, max_keys: int = 64) -> None:
        self._max_keys = max_keys
        self._keys: dict[tuple[str, str, str, str], bytes] = {}

    def key(self, secret_key: str, day: str, region: str, service: str) -> bytes:
        found = self._keys.get((secret_key, day, region, service))
        if found is None:
            found = f"AWS4{secret_key}".encode()
            for part in (day, region, service, "aws4_request"):
                found = hmac.digest(found, part.encode(), "sha256")
            if len(self._keys) >= self._max_keys:
                self._keys.clear()
            self._keys[(secret_key, day, region, service)] = found
        return found
