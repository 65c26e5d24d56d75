"""Connection tokens: HMAC-SHA256 over role, subject and expiry, and the rule that finds their
secret.

Pure functions so the authorizer's decision is tested without AWS; the secret is injected, and
the SSM client is made by the caller (only when the variable is missing). The token is opaque to
clients (only this module issues and reads it), so its compact inner keys are not wire field
names.

Rotation: a secret's value may list several secrets separated by commas, newest first. The
first signs; every one verifies. To rotate, set `new,old`, wait out the overlap (at least the
longest token lifetime still in use, and the authorizer's SECRET_CACHE_S), then set `new`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "MAX_SUBJECT_LENGTH",
    "MAX_TOKEN_LENGTH",
    "PARAMETER_ENV",
    "SECRET_CACHE_S",
    "SECRET_ENV",
    "TOKEN_QUERY_PARAMETER",
    "Claims",
    "Role",
    "SecretMissing",
    "TokenError",
    "issue",
    "parse_secrets",
    "parse_ttl",
    "read_parameter",
    "resolve_secret",
    "resolve_secrets",
    "verify",
    "with_token",
]

# The authorizer's identity source is a query parameter; a real token is ~150 characters, so
# anything far longer is refused before any work is done on it.
MAX_TOKEN_LENGTH = 1024
MAX_SUBJECT_LENGTH = 128
SECRET_ENV = "TUMBLE_TOKEN_SECRET"  # noqa: S105 - a variable name
PARAMETER_ENV = "TUMBLE_TOKEN_SECRET_PARAMETER"
# How long a warm authorizer keeps a secret read from SSM before reading it again: a rotated
# value takes effect within this time (SSM's GetParameter allows 40 calls/s per account).
SECRET_CACHE_S = 60.0
# The $connect authorizer's identity source (serverless.yml: route.request.querystring.token).
TOKEN_QUERY_PARAMETER = "token"  # noqa: S105 - a name, not a secret


def with_token(url: str, token: str) -> str:
    """`url` with `token` as its token query parameter, replacing any earlier one."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != TOKEN_QUERY_PARAMETER]
    query.append((TOKEN_QUERY_PARAMETER, token))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


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


class SecretMissing(RuntimeError):
    """Neither the variable nor the parameter gives a secret: a setup or deployment error."""


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


def verify(secret: bytes | Sequence[bytes], token: object, now: float | None = None) -> Claims:
    """The token's claims, or TokenError; the signature is checked before anything is read.
    `secret` may be several (a rotation's overlap): a signature by any of them is accepted."""
    keys = [secret] if isinstance(secret, bytes) else [key for key in secret if key]
    if not keys or not all(keys):
        raise TokenError("no token secret is configured")
    if token is None or token == "":
        raise TokenError("missing token")
    # A token is base64url text: anything else is refused before hmac.compare_digest, which
    # raises TypeError on non-ASCII strings, and before encoding, which a lone surrogate breaks.
    if (
        not isinstance(token, str)
        or len(token) > MAX_TOKEN_LENGTH
        or not token.isascii()
        or token.count(".") != 1
    ):
        raise TokenError("malformed token")
    body, signature = token.split(".")
    # Every key is tried (no early exit), so timing does not tell which one matched.
    matches = [hmac.compare_digest(_sign(key, body), signature) for key in keys]
    if not any(matches):
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


def read_parameter(ssm: Any, name: str) -> str:
    """An SSM parameter's value, decrypted; `ssm` is a boto3 (or aiobotocore-synchronous) client.
    The one place any part of Tumble reads a parameter."""
    response = ssm.get_parameter(Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])


def parse_secrets(value: str) -> tuple[bytes, ...]:
    """`new,old` -> (b"new", b"old"): the first signs, all verify; blanks are ignored."""
    return tuple(part.strip().encode() for part in value.split(",") if part.strip())


def resolve_secrets(environ: Mapping[str, str], ssm: Callable[[], Any]) -> tuple[bytes, ...]:
    """`TUMBLE_TOKEN_SECRET` if set, else the SSM SecureString parameter named by
    `TUMBLE_TOKEN_SECRET_PARAMETER`, read with the client `ssm()` makes (called only then).

    The one rule for every process that signs or checks tokens. Where the parameter is when
    nothing names it is the deployment's business (`tumble` fills in the local stack's)."""
    direct = environ.get(SECRET_ENV)
    if direct and parse_secrets(direct):
        return parse_secrets(direct)
    name = environ.get(PARAMETER_ENV)
    if not name:
        raise SecretMissing(f"no token secret: set {SECRET_ENV} or {PARAMETER_ENV}")
    try:
        value = read_parameter(ssm(), name)
    except Exception as exc:  # the reader's own errors: no endpoint, parameter or credentials
        raise SecretMissing(
            f"no token secret: set {SECRET_ENV}, or make SSM parameter {name} readable "
            f"(`tumble local` stores one there for stage local): {exc}"
        ) from exc
    secrets = parse_secrets(value)
    if not secrets:
        raise SecretMissing(f"no token secret: SSM parameter {name} is empty")
    return secrets


def resolve_secret(environ: Mapping[str, str], ssm: Callable[[], Any]) -> bytes:
    """The signing secret: the first of `resolve_secrets`."""
    return resolve_secrets(environ, ssm)[0]
