"""Where the producer's endpoints, names and token come from.

The standard AWS configuration wins (AWS_ENDPOINT_URL, profiles, credentials); with nothing
configured at all, the local stack's endpoint and test credentials are assumed, so `tumble
produce` works against `tumble local` / `make local` without any setup."""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import boto3
import yaml

__all__ = [
    "DEFAULT_STREAM",
    "DEFAULT_WS_URL",
    "LOCAL_ENDPOINT",
    "SHIPPER_TOKEN_TTL_S",
    "ConfigProblem",
    "aws_session",
    "stream_name",
    "token_source",
    "upload_bucket",
    "with_token",
]

DEFAULT_WS_URL = "ws://127.0.0.1:3001/local"
DEFAULT_STREAM = "iot-events"
LOCAL_ENDPOINT = "http://127.0.0.1:4566"
LOCAL_REGION = "us-east-1"
SHIPPER_TOKEN_TTL_S = 3600
SERVERLESS_YML = Path(__file__).resolve().parent.parent / "serverless.yml"


class ConfigProblem(RuntimeError):
    """Something the producer needs cannot be found; the message says where it looked."""


def aws_session(environ: Mapping[str, str] | None = None) -> tuple[Any, str | None]:
    """A boto3 session and the endpoint to give its clients (None: botocore's own choice)."""
    env = os.environ if environ is None else environ
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    session = boto3.Session(region_name=region)
    if env.get("AWS_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL_KINESIS"):
        if session.region_name is None:
            session = boto3.Session(region_name=LOCAL_REGION)
        return session, None
    if session.get_credentials() is None:
        local = boto3.Session(
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - the local stack's well-known dummy
            region_name=region or LOCAL_REGION,
        )
        return local, LOCAL_ENDPOINT
    return session, None


def stream_name(option: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return option or env.get("STREAM_NAME") or DEFAULT_STREAM


def with_token(url: str, token: str) -> str:
    """`url` with `token` in its query string (the authorizer's identity source)."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "token"]
    query.append(("token", token))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def token_source(
    token: str | None, ssm: Callable[[], Any], environ: Mapping[str, str] | None = None
) -> Callable[[], str]:
    """A callable giving a valid shipper token: `--token` as it is, else one issued with the
    secret from TUMBLE_TOKEN_SECRET or the local SSM parameter (re-issued as it nears expiry,
    so reconnections hours later still get in)."""
    if token:
        return lambda: token
    env = os.environ if environ is None else environ
    from processor.tokens import LOCAL_SECRET_PARAMETER, Role, issue

    secret = env.get("TUMBLE_TOKEN_SECRET")
    if not secret:
        try:
            response = ssm().get_parameter(Name=LOCAL_SECRET_PARAMETER, WithDecryption=True)
            secret = response["Parameter"]["Value"]
        except Exception as error:
            raise ConfigProblem(
                "no shipper token: pass --token, set TUMBLE_TOKEN_SECRET, or start `tumble "
                f"local` (it stores the secret in SSM {LOCAL_SECRET_PARAMETER}): {error}"
            ) from error
    key = str(secret).encode()
    issued: list[tuple[str, float]] = []

    def current() -> str:
        now = time.time()
        if not issued or issued[0][1] - now < SHIPPER_TOKEN_TTL_S / 4:
            expires = int(now) + SHIPPER_TOKEN_TTL_S
            issued[:] = [(issue(key, Role.SHIPPER, "producer", expires), expires)]
        return issued[0][0]

    current()
    return current


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def upload_bucket(
    account_id: Callable[[], str],
    stage: str = "local",
    environ: Mapping[str, str] | None = None,
    config: Path = SERVERLESS_YML,
) -> str:
    """UPLOAD_BUCKET, else `custom.uploadBucket` of serverless.yml for `stage`. Only the three
    variables that name uses are resolved; anything else is reported, not guessed."""
    env = os.environ if environ is None else environ
    if env.get("UPLOAD_BUCKET"):
        return env["UPLOAD_BUCKET"]
    try:
        document = yaml.safe_load(config.read_text(encoding="utf-8"))
        template = str(document["custom"]["uploadBucket"])
        service = str(document["service"])
    except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
        raise ConfigProblem(f"no UPLOAD_BUCKET and no custom.uploadBucket in {config}") from error
    values = {
        "self:service": lambda: service,
        "sls:stage": lambda: stage,
        "aws:accountId": account_id,
    }

    def resolve(found: re.Match[str]) -> str:
        name = found.group(1).strip()
        if name not in values:
            raise ConfigProblem(
                f"{config}: custom.uploadBucket uses ${{{name}}}; set UPLOAD_BUCKET"
            )
        return values[name]()

    return _VARIABLE.sub(resolve, template)
