"""SigV4 verification of @connections requests (service `execute-api`): the signature is
recomputed with botocore's own SigV4Auth from the signed headers and the body, so whatever
botocore signs, this accepts, and nothing else."""

from __future__ import annotations

import datetime
import hmac
import re
from collections.abc import Mapping

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

__all__ = ["SIGNING_SERVICE", "SigV4Verifier", "SignatureError"]

SIGNING_SERVICE = "execute-api"
# AWS rejects a request whose X-Amz-Date is more than 15 minutes off ("Signature expired").
MAX_CLOCK_SKEW_S = 15 * 60
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$"
)


class SignatureError(Exception):
    """Why a request is refused (403 ForbiddenException with this message)."""


class SigV4Verifier:
    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key = access_key
        self._credentials = Credentials(access_key, secret_key)

    def verify(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        now: datetime.datetime | None = None,
    ) -> None:
        """Raises SignatureError unless `headers` carry a valid signature of this request.
        `url` must be the request's URL as sent (path still percent-encoded)."""
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
            raise SignatureError(f"Credential should be scoped to service {SIGNING_SERVICE}")
        stamp = headers.get("X-Amz-Date", "")
        try:
            when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        except ValueError:
            raise SignatureError("X-Amz-Date is missing or malformed") from None
        now = now or datetime.datetime.now(datetime.UTC)
        if abs((now - when).total_seconds()) > MAX_CLOCK_SKEW_S or stamp[:8] != day:
            raise SignatureError("Signature expired")
        names = signed.split(";")
        if "host" not in names:
            raise SignatureError("host must be a signed header")
        signed_headers = {}
        for name in names:
            value = headers.get(name)
            if value is None:
                raise SignatureError(f"signed header {name} is missing")
            signed_headers[name] = value
        request = AWSRequest(method=method, url=url, headers=signed_headers, data=body)
        request.context["timestamp"] = stamp
        auth = SigV4Auth(self._credentials, service, region)
        canonical = auth.canonical_request(request)
        expected = auth.signature(auth.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, signature):
            raise SignatureError(
                "The request signature we calculated does not match the signature you provided."
            )
