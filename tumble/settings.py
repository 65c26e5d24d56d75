"""Where Tumble runs locally, in one place: the endpoint, credentials, region, stage, ports and
the token secret's SSM parameter of `tumble local`, and the one rule for what a client command
assumes when nothing is configured.

The packages that run elsewhere (processor in Lambda, producer and spectator anywhere) read
only the standard AWS variables and TUMBLE_TOKEN_SECRET(_PARAMETER); the `tumble` commands
fill those in from here before handing over, so a bare `tumble produce` finds `tumble local`."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from messages.local import AWS_PORT, GATEWAY_PORT, LOOPBACK, PAGE_PORT, STAGE
from messages.tokens import PARAMETER_ENV

__all__ = [
    "LOCAL_AWS_ENDPOINT",
    "LOCAL_CREDENTIALS",
    "LOCAL_REGION",
    "LOCAL_SECRET_PARAMETER",
    "LOOPBACK",
    "STAGE",
    "Ports",
    "apply_client_defaults",
    "has_credentials",
    "local_environment",
    "session",
]

LOCAL_REGION = "us-east-1"
LOCAL_AWS_ENDPOINT = f"http://{LOOPBACK}:{AWS_PORT}"
# Where `tumble local` stores the token secret on its backend (serverless.yml names it for the
# functions as TUMBLE_TOKEN_SECRET_PARAMETER with stage `local`).
LOCAL_SECRET_PARAMETER = "/tumble/local/token-secret"  # noqa: S105 - a name, not a secret
# Credentials that LocalStack and moto both accept; never real ones.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_KINESIS")


@dataclass(frozen=True, slots=True)
class Ports:
    """The fixed local interface: AWS on 4566, the WebSocket API on 3001, the page on 8080;
    with host-mode LocalStack on 4566, DynamoDB on the embedded backend at 4567."""

    aws: int = AWS_PORT
    gateway: int = GATEWAY_PORT
    page: int = PAGE_PORT
    dynamodb: int = AWS_PORT + 1


def has_credentials(environ: Mapping[str, str]) -> bool:
    """Whether `environ` (not this process's environment: a stack's children get `environ`)
    gives credentials, by its variables or by botocore's other providers (profiles, SSO,
    container and instance metadata)."""
    import botocore.session
    from botocore.exceptions import BotoCoreError

    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return True
    try:
        resolver = botocore.session.Session(profile=environ.get("AWS_PROFILE") or None)
        providers = resolver.get_component("credential_provider")
        providers.remove("env")  # read from os.environ, which is not what the children get
        return providers.load_credentials() is not None
    except BotoCoreError:
        return False


def local_environment(environ: Mapping[str, str], endpoint: str | None = None) -> dict[str, str]:
    """The one rule for local credentials: `environ` with the standard AWS variables completed.

    - `endpoint` given (tumble local's backend): AWS_ENDPOINT_URL is it.
    - no endpoint configured and no credentials found: the local stack's endpoint is assumed.
    - no credentials found: LocalStack's and moto's well-known `test` pair.
    - no region: us-east-1. No token parameter: the one `tumble local` writes."""
    env = dict(environ)
    credentials = has_credentials(env)
    if endpoint is not None:
        env["AWS_ENDPOINT_URL"] = endpoint
    elif not credentials and not any(env.get(name) for name in _ENDPOINT_VARIABLES):
        env["AWS_ENDPOINT_URL"] = LOCAL_AWS_ENDPOINT
    if not credentials:
        env.update(LOCAL_CREDENTIALS)
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or LOCAL_REGION
    env.setdefault("AWS_DEFAULT_REGION", region)
    env.setdefault("AWS_REGION", region)
    if not env.get(PARAMETER_ENV):
        env[PARAMETER_ENV] = LOCAL_SECRET_PARAMETER
    return env


def apply_client_defaults(environ: MutableMapping[str, str] | None = None) -> None:
    """`local_environment` written back into the process environment, for the client commands
    (produce, emit, watch, token) that then read only the standard variables."""
    target = os.environ if environ is None else environ
    completed = local_environment(target)
    for name, value in completed.items():
        if target.get(name) != value:
            target[name] = value


def session(environ: Mapping[str, str]) -> Any:
    """The one boto3 session factory of the `tumble` commands: from `environ`, not os.environ,
    so a stack's children and its own clients agree."""
    import boto3

    return boto3.Session(
        aws_access_key_id=environ.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=environ.get("AWS_SESSION_TOKEN"),
        region_name=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
    )
