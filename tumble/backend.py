"""Choosing the AWS backend and bringing it up.

Order: an explicit `AWS_ENDPOINT_URL`; a LocalStack already answering at localhost:4566;
`BACKEND=localstack`, which starts the pinned compose file; otherwise the embedded backend
(moto's server). Each choice says why it was made, since a surprise backend is the commonest
cause of "my stream is empty"."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Backend",
    "BackendError",
    "choose_backend",
    "localstack_healthy",
    "localstack_url",
    "start_localstack",
]

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "localstack" / "docker-compose.yml"
LOCALSTACK_START_TIMEOUT_S = 120


class BackendError(RuntimeError):
    """The chosen backend could not be reached or started."""


@dataclass(frozen=True, slots=True)
class Backend:
    kind: str  # "endpoint", "localstack" or "embedded"
    endpoint_url: str | None
    reason: str
    started_localstack: bool = False

    def describe(self) -> str:
        where = self.endpoint_url or "(to be started)"
        return f"backend: {self.kind} at {where} ({self.reason})"


def localstack_healthy(url: str, timeout_s: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=timeout_s) as response:
            return response.status == 200 and "services" in json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return False


def localstack_url(env: Mapping[str, str]) -> str:
    """LocalStack's edge URL from LOCALSTACK_HOST and USE_SSL, parsed as localstack-client
    parses them (default http://localhost:4566)."""
    from localstack_client.config import DEFAULT_EDGE_PORT, parse_localstack_host

    host, port = parse_localstack_host(env.get("LOCALSTACK_HOST", f"localhost:{DEFAULT_EDGE_PORT}"))
    scheme = "https" if env.get("USE_SSL") in ("1", "true") else "http"
    return f"{scheme}://{host}:{port}"


def choose_backend(env: Mapping[str, str] | None = None) -> Backend:
    env = os.environ if env is None else env
    if env.get("AWS_ENDPOINT_URL"):
        return Backend("endpoint", env["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL is set")
    url = localstack_url(env)
    if localstack_healthy(url):
        return Backend("localstack", url, f"a LocalStack answers at {url}/_localstack/health")
    if env.get("BACKEND") == "localstack":
        return Backend(
            "localstack",
            url,
            "BACKEND=localstack: starting the pinned compose file",
            started_localstack=True,
        )
    return Backend(
        "embedded",
        None,
        "no endpoint set and no LocalStack reachable; moto's server "
        "runs in-process, no Docker needed",
    )


def start_localstack(url: str, env: Mapping[str, str] | None = None) -> None:
    """`docker compose up -d` on the pinned file, then wait until LocalStack is healthy."""
    env = dict(os.environ if env is None else env)
    command = ["docker", "compose", "-f", str(COMPOSE_FILE), "up", "-d"]
    try:
        subprocess.run(command, check=True, env=env, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise BackendError("BACKEND=localstack needs the docker client on PATH") from exc
    except subprocess.CalledProcessError as exc:
        raise BackendError(f"{' '.join(command)} failed: {exc.stderr.strip()}") from exc
    deadline = time.monotonic() + LOCALSTACK_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if localstack_healthy(url):
            return
        time.sleep(1)
    raise BackendError(
        f"LocalStack did not become healthy at {url} within {LOCALSTACK_START_TIMEOUT_S} s"
    )


def stop_localstack(env: Mapping[str, str] | None = None) -> None:
    subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "down"],
        check=False,
        env=dict(os.environ if env is None else env),
        capture_output=True,
    )
