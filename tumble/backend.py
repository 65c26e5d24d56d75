"""Choosing the AWS backend and bringing it up.

Order: an explicit `AWS_ENDPOINT_URL`; a LocalStack already answering at localhost:4566;
`BACKEND=localstack`, which starts LocalStack (the pinned compose file where a Docker engine
answers, else host mode: tumble.localstack_host); otherwise the embedded backend (moto's
server). Each choice says why it was made, since a surprise backend is the commonest cause of
"my stream is empty". Asked for LocalStack and not getting it is an error with the reason,
never a quiet fall back to another backend."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .localstack_host import host_mode_unavailable

__all__ = [
    "LOCALSTACK_MODE_ENV",
    "Backend",
    "BackendError",
    "choose_backend",
    "docker_unavailable",
    "localstack_health",
    "localstack_healthy",
    "localstack_url",
    "start_localstack",
    "stop_localstack",
]

COMPOSE_FILE = Path(__file__).resolve().parent.parent / "localstack" / "docker-compose.yml"
LOCALSTACK_START_TIMEOUT_S = 120
# `docker` (the compose file) or `host` (no Docker); unset: docker where an engine answers.
LOCALSTACK_MODE_ENV = "LOCALSTACK_MODE"


class BackendError(RuntimeError):
    """The chosen backend could not be reached or started."""


@dataclass(frozen=True, slots=True)
class Backend:
    kind: str  # "endpoint", "localstack" or "embedded"
    endpoint_url: str | None
    reason: str
    start: str | None = None  # how tumble local starts it: "docker", "host", or None (running)

    @property
    def started_localstack(self) -> bool:
        return self.start is not None

    def describe(self) -> str:
        where = self.endpoint_url or "(to be started)"
        return f"backend: {self.kind} at {where} ({self.reason})"


def docker_unavailable() -> str | None:
    """Why the compose file cannot run here, or None when a Docker engine answers."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`docker info` failed ({error})"
    if probe.returncode != 0:
        return "no Docker engine answers `docker info`"
    return None


def localstack_health(url: str, timeout_s: float = 1.0) -> dict[str, Any] | None:
    """LocalStack's `/_localstack/health` answer (services and their states), or None when
    nothing like LocalStack answers at `url`."""
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=timeout_s) as response:
            body = json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("services"), dict):
        return None
    return body


def localstack_healthy(url: str, timeout_s: float = 1.0) -> bool:
    return localstack_health(url, timeout_s) is not None


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
        return _localstack_to_start(env, url)
    return Backend(
        "embedded",
        None,
        "no endpoint set and no LocalStack reachable; moto's server "
        "runs in-process, no Docker needed",
    )


def _localstack_to_start(env: Mapping[str, str], url: str) -> Backend:
    """BACKEND=localstack: Docker where an engine answers (or LOCALSTACK_MODE=docker), else
    host mode; BackendError, saying why, when the mode it comes to cannot run here."""
    mode = env.get(LOCALSTACK_MODE_ENV, "")
    if mode not in ("", "docker", "host"):
        raise BackendError(f"{LOCALSTACK_MODE_ENV}={mode!r}: expected docker or host")
    no_docker = docker_unavailable() if mode != "host" else "LOCALSTACK_MODE=host"
    if no_docker is None:
        return Backend("localstack", url, "BACKEND=localstack: the pinned compose file", "docker")
    if mode == "docker":
        raise BackendError(f"BACKEND=localstack with LOCALSTACK_MODE=docker: {no_docker}")
    no_host = host_mode_unavailable()
    if no_host is not None:
        raise BackendError(f"BACKEND=localstack: no Docker ({no_docker}), and {no_host}")
    # Host mode listens on tumble local's --aws-port (127.0.0.1), not at LOCALSTACK_HOST.
    return Backend(
        "localstack", None, f"BACKEND=localstack: host mode, no Docker ({no_docker})", "host"
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
