"""Host-mode LocalStack: the `localstack-core` runtime as a plain process, no Docker.

`make .localstack/.installed` builds its virtual environment (.localstack/venv, Python 3.13,
the exact versions of localstack/requirements.txt) and has LocalStack install kinesis-mock
under .localstack/filesystem; both stay inside the project and out of git. Started by
`tumble local` (BACKEND=localstack where no Docker engine answers) and by the tests, always
under tumble.watchdog, since LocalStack starts kinesis-mock in a session of its own.

What it serves here: Kinesis, S3, SSM, SQS, SNS and STS. Not DynamoDB: LocalStack's DynamoDB
is DynamoDB Local, which needs Java and a download from AWS (and whose licence rules it out as
a dependency); that service goes to the embedded backend through AWS_ENDPOINT_URL_DYNAMODB."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "HOST_SERVICES",
    "LOCALSTACK_HOME",
    "LOCALSTACK_VERSION",
    "UNSERVED",
    "host_environment",
    "host_mode_unavailable",
    "host_runtime",
    "localstack_python",
]

ROOT = Path(__file__).resolve().parent.parent
LOCALSTACK_HOME = ROOT / ".localstack"
REQUIREMENTS = ROOT / "localstack" / "requirements.txt"
# The last release that runs without LOCALSTACK_AUTH_TOKEN (26 Feb 2026); the compose file's too.
LOCALSTACK_VERSION = "4.14.0"
HOST_SERVICES = ("kinesis", "s3", "ssm", "sqs", "sns", "sts")
# What host mode cannot serve here, and why (the banner says it).
UNSERVED = {
    "dynamodb": "LocalStack's DynamoDB in host mode is DynamoDB Local, which needs Java 21 and a "
    "download from AWS (CreateTable answers 500 without them)",
}
# Variables of the caller that must not reach LocalStack: they would point its own internal
# clients at the endpoints the stack's clients use.
_NOT_PASSED = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KINESIS")


def localstack_python(home: Path = LOCALSTACK_HOME) -> Path:
    return home / "venv" / "bin" / "python"


def host_mode_unavailable(home: Path = LOCALSTACK_HOME) -> str | None:
    """Why host-mode LocalStack cannot start here, or None."""
    if (home / ".installed").exists() and localstack_python(home).exists():
        return None
    if not python_313_exists():
        return (
            "host-mode LocalStack needs Python 3.13 (none found: not python3.13 on PATH, "
            "nor under pyenv)"
        )
    return f"host-mode LocalStack is not installed in {home}: run `make .localstack/.installed`"


def python_313_exists() -> bool:
    if sys.version_info[:2] == (3, 13) or shutil.which("python3.13"):
        return True
    return any((Path.home() / ".pyenv" / "versions").glob("3.13*/bin/python3.13"))


def host_runtime(home: Path = LOCALSTACK_HOME) -> list[str]:
    """LocalStack's runtime in its own interpreter; always run it under tumble.watchdog."""
    return [str(localstack_python(home)), "-m", "localstack.runtime.main"]


def host_environment(
    environ: Mapping[str, str], host: str, port: int, home: Path = LOCALSTACK_HOME
) -> dict[str, str]:
    """LocalStack's configuration for host mode on `host:port`; the caller's Kinesis settings
    (KINESIS_LATENCY, KINESIS_ERROR_PROBABILITY...) and LOCALSTACK_AUTH_TOKEN pass through.

    - OVERRIDE_IN_DOCKER=0: LocalStack guesses it runs in its own image when it finds itself in
      any container (CI runners, dev containers) and would use /var/lib/localstack;
    - FILESYSTEM_ROOT: its libraries (kinesis-mock), cache and state under `home`;
    - KINESIS_LATENCY=0: kinesis-mock otherwise takes 500 ms for every stream operation;
    - KINESIS_PERSISTENCE=0: in memory, like the embedded backend;
    - DNS_ADDRESS=0, SKIP_SSL_CERT_DOWNLOAD=1: no DNS server on port 53 and no certificate
      download (both fail harmlessly offline, after a delay);
    - DISABLE_EVENTS=1: no usage analytics sent to LocalStack's servers."""
    env = {name: value for name, value in environ.items() if name not in _NOT_PASSED}
    env.update(
        GATEWAY_LISTEN=f"{host}:{port}",
        SERVICES=",".join(HOST_SERVICES),
        OVERRIDE_IN_DOCKER="0",
        FILESYSTEM_ROOT=str(home / "filesystem"),
        DNS_ADDRESS="0",
        SKIP_SSL_CERT_DOWNLOAD="1",
        DISABLE_EVENTS="1",
    )
    env.setdefault("KINESIS_LATENCY", "0")
    env.setdefault("KINESIS_ERROR_PROBABILITY", "0.0")
    env.setdefault("KINESIS_PERSISTENCE", "0")
    return env
