"""Where the producer's endpoints, names and token come from: the standard AWS configuration
(AWS_ENDPOINT_URL, profiles, credentials, region) and TUMBLE_TOKEN_SECRET(_PARAMETER), nothing
else. `tumble produce` fills those in for the local stack when nothing is configured
(`tumble.settings`), so it works against `tumble local` without any setup."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from messages.local import LOCAL_WS_URL
from messages.tokens import Role, SecretMissing, issue, resolve_secret

__all__ = [
    "DEFAULT_STREAM",
    "DEFAULT_WS_URL",
    "SHIPPER_TOKEN_TTL_S",
    "ConfigProblem",
    "aws_session",
    "stream_name",
    "token_source",
    "upload_bucket",
]

DEFAULT_WS_URL = LOCAL_WS_URL
# serverless.yml's stream on stage `local`, the one `tumble local` creates (a test checks).
DEFAULT_STREAM = "tumble-local-iot-events"
SHIPPER_TOKEN_TTL_S = 3600


class ConfigProblem(RuntimeError):
    """Something the producer needs cannot be found; the message says where it looked."""


def aws_session(environ: Mapping[str, str] | None = None) -> tuple[Any, str | None]:
    """A boto3 session from the standard configuration, and the endpoint to give its clients
    (AWS_ENDPOINT_URL, else None: botocore's own choice, service variables included)."""
    env = os.environ if environ is None else environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    session = boto3.Session(region_name=region)
    if session.region_name is None:
        raise ConfigProblem("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION)")
    return session, env.get("AWS_ENDPOINT_URL") or None


def stream_name(option: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return option or env.get("STREAM_NAME") or DEFAULT_STREAM


def token_source(
    token: str | None, ssm: Callable[[], Any], environ: Mapping[str, str] | None = None
) -> Callable[[], str]:
    """A callable giving a valid shipper token: `--token` as it is, else one issued with the
    secret of `messages.tokens.resolve_secret` (re-issued as it nears expiry, so reconnections
    hours later still get in). `ssm` makes the SSM client, called only when it is needed."""
    if token:
        return lambda: token
    env = os.environ if environ is None else environ

    try:
        key = resolve_secret(env, ssm)
    except SecretMissing as error:
        raise ConfigProblem(f"no shipper token: pass --token; {error}") from error
    issued: list[tuple[str, float]] = []

    def current() -> str:
        now = time.time()
        if not issued or issued[0][1] - now < SHIPPER_TOKEN_TTL_S / 4:
            expires = int(now) + SHIPPER_TOKEN_TTL_S
            issued[:] = [(issue(key, Role.SHIPPER, "producer", expires), expires)]
        return issued[0][0]

    current()
    return current


def upload_bucket(option: str | None, environ: Mapping[str, str] | None = None) -> str:
    """`--bucket`, else UPLOAD_BUCKET: the name serverless.yml gives its functions, which
    `tumble local` exports to its children; the producer does not read serverless.yml itself."""
    env = os.environ if environ is None else environ
    bucket = option or env.get("UPLOAD_BUCKET")
    if not bucket:
        raise ConfigProblem("no upload bucket: pass --bucket or set UPLOAD_BUCKET")
    return bucket
