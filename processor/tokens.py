"""Connection tokens: HMAC-SHA256 over role, subject and expiry.

Pure functions so the authorizer's decision is tested without AWS; the secret is injected.
The token is opaque to clients (only this module issues and reads it), so its compact inner
keys are not part of the wire contract in `messages/`."""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import sys
import time
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "LOCAL_SECRET_PARAMETER",
    "MAX_TOKEN_LENGTH",
    "Claims",
    "Role",
    "TokenError",
    "issue",
    "main",
    "parse_ttl",
    "verify",
]

# The authorizer's identity source is a query parameter; a real token is ~150 characters, so
# anything far longer is refused before any work is done on it.
MAX_TOKEN_LENGTH = 1024
MAX_SUBJECT_LENGTH = 128
# Where `tumble local` stores the secret on its backend.
LOCAL_SECRET_PARAMETER = "/tumble/local/token-secret"  # noqa: S105 - a name, not a secret
DEFAULT_LOCAL_ENDPOINT = "http://127.0.0.1:4566"


class Role(StrEnum):
    VIEWER = "viewer"
    SHIPPER = "shipper"


@dataclass(frozen=True, slots=True)
class Claims:
    role: Role
    subject: str
    expires_at: int  # epoch seconds


class TokenError(ValueError):
    """Why a token was refused: missing, malformed, tampered or expired."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, body: str) -> str:
    return _b64encode(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def issue(secret: bytes, role: Role | str, subject: str, expires_at: int) -> str:
    """`<base64url(JSON claims)>.<base64url(HMAC-SHA256)>`."""
    if not secret:
        raise ValueError("the token secret must not be empty")
    role = Role(role)
    if not 0 < len(subject) <= MAX_SUBJECT_LENGTH:
        raise ValueError(f"subject must have 1 to {MAX_SUBJECT_LENGTH} characters")
    claims = {"r": role.value, "s": subject, "e": int(expires_at)}
    body = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{body}.{_sign(secret, body)}"


def verify(secret: bytes, token: object, now: float | None = None) -> Claims:
    """The token's claims, or TokenError; the signature is checked before anything is read."""
    if not secret:
        raise TokenError("no token secret is configured")
    if token is None or token == "":
        raise TokenError("missing token")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise TokenError("malformed token")
    body, signature = token.split(".")
    if not hmac.compare_digest(_sign(secret, body), signature):
        raise TokenError("bad signature")
    try:
        claims = json.loads(_b64decode(body))
        role = Role(claims["r"])
        subject = claims["s"]
        expires_at = claims["e"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise TokenError("malformed claims") from exc
    if not isinstance(subject, str) or isinstance(expires_at, bool):
        raise TokenError("malformed claims")
    if not isinstance(expires_at, int):
        raise TokenError("malformed claims")
    if expires_at <= (time.time() if now is None else now):
        raise TokenError("expired token")
    return Claims(role, subject, expires_at)


_TTL = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> int:
    """`90`, `30s`, `15m`, `1h`, `2d` -> seconds."""
    found = _TTL.match(text.strip())
    if not found or int(found.group(1)) == 0:
        raise ValueError(f"bad ttl {text!r}: use a positive number with s, m, h or d")
    return int(found.group(1)) * _UNITS[found.group(2)]


def _local_secret() -> str | None:
    """The secret `tumble local` wrote to its backend's SSM, or None if it can't be read."""
    import boto3  # only the CLI needs it here; the Lambda path stays light
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    endpoint = os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_LOCAL_ENDPOINT
    client = boto3.client(
        "ssm",
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID") or "test",
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY") or "test",
        # No local stack running should say so at once, not after botocore's retries.
        config=Config(connect_timeout=2, read_timeout=5, retries={"total_max_attempts": 1}),
    )
    try:
        response = client.get_parameter(Name=LOCAL_SECRET_PARAMETER, WithDecryption=True)
    except (BotoCoreError, ClientError):
        return None
    value: str = response["Parameter"]["Value"]
    return value


def main(argv: list[str]) -> int:
    """`tumble token --role shipper --ttl 1h [--subject NAME] [--secret S]`."""
    parser = argparse.ArgumentParser(prog="tumble token", description=main.__doc__)
    parser.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    parser.add_argument("--ttl", default="1h", help="lifetime: 90, 30s, 15m, 1h, 2d")
    parser.add_argument("--subject", default=None, help="who holds it (default: the role)")
    parser.add_argument(
        "--secret",
        default=None,
        help="HMAC secret (default: $TUMBLE_TOKEN_SECRET, else the local stack's SSM parameter)",
    )
    args = parser.parse_args(argv)
    try:
        ttl = parse_ttl(args.ttl)
    except ValueError as exc:
        parser.error(str(exc))
    secret = args.secret or os.environ.get("TUMBLE_TOKEN_SECRET") or _local_secret()
    if not secret:
        print(
            "tumble token: no secret: pass --secret, set TUMBLE_TOKEN_SECRET, or start "
            f"`tumble local` (it stores one in SSM {LOCAL_SECRET_PARAMETER})",
            file=sys.stderr,
        )
        return 2
    subject = args.subject or args.role
    print(issue(secret.encode(), args.role, subject, int(time.time()) + ttl))
    return 0
