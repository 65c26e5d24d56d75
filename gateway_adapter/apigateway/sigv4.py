"""SigV4 verification of @connections requests (service `execute-api`).

The signature is recomputed the way botocore's SigV4Auth computes it (same canonical URI
quoting, header trimming and payload hash) but without building an AWSRequest per call, and
with the signing key cached per day, region and service: verification is on the hot path of
every post. tests/gateway_adapter/apigateway/test_sigv4.py checks it against botocore's
SigV4Auth itself, and every integration test signs with boto3. The canonical request, key
derivation and signature are sigv4_core's: the same code the processor signs with."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from typing import Any

from sigv4_core import (
    SigningKeys,
    canonical_path,
    credential_scope,
    string_to_sign,
    trimmed,
)
from sigv4_core import canonical_request as core_canonical_request
from sigv4_core import signature as signature_of

__all__ = ["SIGNING_SERVICE", "SigV4Verifier", "SignatureError", "canonical_request"]

SIGNING_SERVICE = "execute-api"
# AWS rejects a request whose X-Amz-Date is more than 15 minutes off ("Signature expired").
MAX_CLOCK_SKEW_S = 15 * 60
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$"
)
_STAMP = re.compile(r"^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$")


class SignatureError(Exception):
    """Why a request is refused (403 ForbiddenException with this message)."""


def _canonical_query(query: str) -> str:
    """botocore's _canonical_query_string_url: pairs sorted, values kept as sent."""
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((key, value))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def canonical_request(
    method: str, raw_path: str, headers: Any, signed: list[str], payload_hash: str
) -> str:
    """The canonical request of SigV4 for non-S3 services, as botocore builds it, from the
    request as it arrived (a header sent twice is signed as its values joined by commas)."""
    path, _, query = raw_path.partition("?")
    getall = getattr(headers, "getall", None)
    lines = []
    for name in sorted(set(signed)):
        values = getall(name, []) if getall is not None else [headers[name]]
        lines.append((name, ",".join(trimmed(v) for v in values)))
    canonical, _ = core_canonical_request(
        method.upper(), canonical_path(path), _canonical_query(query), lines, payload_hash
    )
    return canonical


class SigV4Verifier:
    """Verifies requests to one API in `region`: the credential scope must name that region
    and execute-api, and the payload hash is always the body's own."""

    def __init__(self, access_key: str, secret_key: str, region: str = "us-east-1") -> None:
        self.access_key = access_key
        self.region = region
        self._secret = secret_key
        self._keys = SigningKeys()

    def verify(
        self,
        method: str,
        raw_path: str,
        headers: Mapping[str, str],
        body: bytes,
        now: float | None = None,
    ) -> None:
        """Raises SignatureError unless `headers` carry a valid signature of this request.
        `raw_path` is the path (and query) exactly as sent, still percent-encoded."""
        authorization = headers.get("Authorization")
        if not authorization:
            raise SignatureError("Missing Authentication Token")
        match = _AUTHORIZATION.match(authorization.strip())
        if not match:
            raise SignatureError("Authorization header is not AWS4-HMAC-SHA256")
        access_key, day, region, service, signed, signature = match.groups()
        if access_key != self.access_key:
            raise SignatureError("The security token included in the request is invalid.")
        if service != SIGNING_SERVICE:
            raise SignatureError(
                f"Credential should be scoped to correct service: '{SIGNING_SERVICE}'."
            )
        if region != self.region:
            raise SignatureError(
                f"Credential should be scoped to a valid region, not '{region}'. "
                f"This API is in '{self.region}'."
            )
        stamp = headers.get("X-Amz-Date", "")
        parts = _STAMP.match(stamp)
        if not parts:
            raise SignatureError("X-Amz-Date is missing or malformed")
        when = calendar.timegm((*(int(p) for p in parts.groups()), 0, 0, 0))
        now = time.time() if now is None else now
        if abs(now - when) > MAX_CLOCK_SKEW_S or stamp[:8] != day:
            raise SignatureError("Signature expired")
        names = signed.split(";")
        if "host" not in names:
            raise SignatureError("host must be a signed header")
        for name in names:
            if name not in headers:
                raise SignatureError(f"signed header {name} is missing")
        # The hash is always the body's own: a client-supplied X-Amz-Content-SHA256 is only
        # compared with it, never trusted (a replayed signature with the old body's hash and a
        # new body was accepted before). UNSIGNED-PAYLOAD is Amazon S3's alone (S3's "Signature
        # Calculations for the Authorization Header"), so it does not match either.
        payload_hash = hashlib.sha256(body).hexdigest()
        claimed = headers.get("X-Amz-Content-SHA256")
        if claimed is not None and claimed != payload_hash:
            raise SignatureError(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
        canonical = canonical_request(method, raw_path, headers, names, payload_hash)
        to_sign = string_to_sign(stamp, credential_scope(day, region, service), canonical)
        expected = signature_of(self._keys.key(self._secret, day, region, service), to_sign)
        if not hmac.compare_digest(expected, signature):
            raise SignatureError(
                "The request signature we calculated does not match the signature you provided."
            )
