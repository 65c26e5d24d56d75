"""Viewer tokens for spectators, signed with the stack's secret.

The secret comes from `messages.tokens.resolve_secret`: TUMBLE_TOKEN_SECRET, else the SSM
parameter named by TUMBLE_TOKEN_SECRET_PARAMETER (`tumble local` and `tumble watch` set both
for the local stack); the SSM client comes from the standard AWS configuration, made only when
the variable is missing."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from messages import tokens
from messages.tokens import Role, SecretMissing, issue

__all__ = [
    "VIEWER_TTL_S",
    "SecretMissing",
    "resolve_secret",
    "ssm_client",
    "viewer_token",
]

# API Gateway closes a WebSocket after 2 hours anyway; a page asks for a new token on every
# reconnect, so a token need not outlive one connection by much.
VIEWER_TTL_S = 3 * 3600


def ssm_client() -> Any:
    """An SSM client from the standard AWS configuration, quick to say it cannot connect."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "ssm", config=Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2})
    )


def resolve_secret(
    environ: Mapping[str, str] = os.environ,
    ssm_factory: Callable[[], Any] = ssm_client,
) -> bytes:
    """The signing secret, or SecretMissing with what to do about it."""
    return tokens.resolve_secret(environ, ssm_factory)


def viewer_token(secret: bytes, subject: str = "spectator", ttl_s: int = VIEWER_TTL_S) -> str:
    return issue(secret, Role.VIEWER, subject, int(time.time()) + ttl_s)
