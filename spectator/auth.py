"""Viewer tokens for spectators, signed with the stack's secret.

The secret comes from `messages.tokens.resolve_secret`: TUMBLE_TOKEN_SECRET, else the SSM
parameter (by default the one `tumble local` wrote on its backend); the SSM client is made by
the caller, and only when the variable is missing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from messages import tokens
from messages.tokens import LOCAL_AWS_ENDPOINT, LOCAL_SECRET_PARAMETER, Role, SecretMissing, issue

__all__ = [
    "VIEWER_TTL_S",
    "SecretMissing",
    "local_ssm_client",
    "resolve_secret",
    "viewer_token",
]

# API Gateway closes a WebSocket after 2 hours anyway; a page asks for a new token on every
# reconnect, so a token need not outlive one connection by much.
VIEWER_TTL_S = 3 * 3600


def local_ssm_client() -> Any:
    """An SSM client for the local stack: the standard AWS settings, else the default port."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "ssm",
        config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2}),
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or LOCAL_AWS_ENDPOINT,
        region_name=os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1",
    )


def resolve_secret(
    environ: Mapping[str, str] = os.environ,
    ssm_factory: Callable[[], Any] = local_ssm_client,
) -> bytes:
    """The secret, or SecretMissing with what to do about it."""

    def read(name: str) -> str:
        response = ssm_factory().get_parameter(Name=name, WithDecryption=True)
        return str(response["Parameter"]["Value"])

    return tokens.resolve_secret(environ, read, LOCAL_SECRET_PARAMETER)


def viewer_token(secret: bytes, subject: str = "spectator", ttl_s: int = VIEWER_TTL_S) -> str:
    return issue(secret, Role.VIEWER, subject, int(time.time()) + ttl_s)
