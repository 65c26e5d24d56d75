"""`tumble local`: the whole pipeline on one machine.

Backend first (embedded moto, LocalStack, or an explicit endpoint), then the resources of
serverless.yml, then the long-running parts as child processes, each in its own interpreter:
the gateway (WebSocket API, Lambda runtime, stream trigger), simulated players, the race page.
Ctrl-C stops everything that was started here, in reverse order, and leaves no port behind."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from .backend import (
    EMBEDDED_HOST,
    EMBEDDED_PORT,
    LOCAL_CREDENTIALS,
    Backend,
    BackendError,
    choose_backend,
    start_localstack,
    stop_localstack,
)
from .bootstrap import bootstrap_resources
from .embedded import wait_for_http
from .serverless_config import Options
from .service import Service, load_service

__all__ = ["LocalStack", "Part", "Ports", "main", "shared_environment"]

STAGE = "local"
LOOPBACK = "127.0.0.1"
STOP_GRACE_S = 5.0
TOKEN_PARAMETER_VARIABLE = "TUMBLE_TOKEN_SECRET_PARAMETER"  # noqa: S105 - a name, not a secret


class ChildFailed(RuntimeError):
    """A part of the stack exited while starting."""


@dataclass(frozen=True, slots=True)
class Ports:
    """The fixed local interface: AWS on 4566, the WebSocket API on 3001, the page on 8080."""

    aws: int = EMBEDDED_PORT
    gateway: int = 3001
    page: int = 8080


@dataclass(frozen=True, slots=True)
class Part:
    """A child process of the local stack: `python -m module args`."""

    name: str
    module: str
    args: Sequence[str]
    ready_url: str | None = None
    ready_timeout_s: float = 15.0


@dataclass
class LocalStack:
    config: Path
    ports: Ports = field(default_factory=Ports)
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    region: str = "us-east-1"
    simulate: int = 4
    rate: float = 10.0
    poll_interval: float = 1.0
    page: bool = True
    gateway_log_level: str = "INFO"
    log_dir: Path = field(default_factory=lambda: Path.cwd() / ".tumble" / "logs")
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    backend: Backend | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.ports.gateway}/{STAGE}"

    def start(self) -> None:
        started = time.monotonic()
        self.backend = choose_backend(self.env)
        print(self.backend.describe(), flush=True)
        endpoint = self._start_backend(self.backend)
        for name, value in LOCAL_CREDENTIALS.items():
            self.env.setdefault(name, value)
        self.env.setdefault("AWS_DEFAULT_REGION", self.region)
        self.env.setdefault("AWS_REGION", self.env["AWS_DEFAULT_REGION"])
        self.env["AWS_ENDPOINT_URL"] = endpoint
        session = boto3.Session(
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_DEFAULT_REGION"],
        )

        def client(name: str) -> Any:
            return session.client(name, endpoint_url=endpoint)

        account = client("sts").get_caller_identity()["Account"]
        options = Options(
            stage=STAGE, region=self.env["AWS_DEFAULT_REGION"], account_id=account, env=self.env
        )
        service = load_service(self.config, options)
        for change in bootstrap_resources(service, client):
            print(f"  {change}", flush=True)
        self._share_token_secret(service, client("ssm"))
        # The producer and the page find the stream, bucket and table as a function would.
        for name, value in shared_environment(service).items():
            self.env.setdefault(name, value)
        for part in self.parts():
            self._start_part(part)
        print(
            f"endpoints: AWS {endpoint} | WebSocket {self.ws_url} | "
            f"management http://{LOOPBACK}:{self.ports.gateway}/{STAGE}/@connections | "
            f"race page http://{LOOPBACK}:{self.ports.page}",
            flush=True,
        )
        print(f"logs: {self.log_dir}/ (one file per part)", flush=True)
        print(f"ready in {time.monotonic() - started:.1f} s; Ctrl-C stops everything", flush=True)

    def parts(self) -> list[Part]:
        gateway = f"http://{LOOPBACK}:{self.ports.gateway}"
        gateway_args = ["--config", str(self.config), "--stage", STAGE, "--host", LOOPBACK]
        gateway_args += ["--port", str(self.ports.gateway)]
        gateway_args += ["--poll-interval", str(self.poll_interval)]
        gateway_args += ["--log-level", self.gateway_log_level]
        parts = [
            Part(
                "gateway",
                "gateway_adapter",
                gateway_args,
                ready_url=f"{gateway}/{STAGE}/@connections/readiness-probe",
            )
        ]
        if self.page:
            page_args = ["--host", LOOPBACK, "--port", str(self.ports.page)]
            parts.append(
                Part(
                    "race page",
                    "spectator.page",
                    [*page_args, "--ws-url", self.ws_url],
                    ready_url=f"http://{LOOPBACK}:{self.ports.page}/",
                )
            )
        if self.simulate > 0:
            players = ["--simulate", str(self.simulate), "--rate", str(self.rate)]
            parts.append(Part("players", "producer", [*players, "--ws-url", self.ws_url]))
        return parts

    def _start_backend(self, backend: Backend) -> str:
        if backend.kind == "embedded":
            url = f"http://{EMBEDDED_HOST}:{self.ports.aws}"
            self._spawn(
                "embedded AWS",
                [
                    sys.executable,
                    "-m",
                    "gateway_adapter.embedded",
                    "--host",
                    EMBEDDED_HOST,
                    "--port",
                    str(self.ports.aws),
                ],
            )
            wait_for_http(f"{url}/moto-api/", timeout_s=15)
            return url
        assert backend.endpoint_url is not None
        if backend.started_localstack:
            start_localstack(backend.endpoint_url, self.env)
        return backend.endpoint_url

    def _share_token_secret(self, service: Service, ssm: Any) -> None:
        """One secret for the stack and for `tumble token`: TUMBLE_TOKEN_SECRET when set, else
        a fresh one; kept in the backend's SSM parameter that serverless.yml names, where the
        authorizer looks in AWS and `tumble token` looks locally."""
        secret = self.env.get("TUMBLE_TOKEN_SECRET") or secrets.token_urlsafe(32)
        self.env["TUMBLE_TOKEN_SECRET"] = secret
        parameters = {
            f.environment[TOKEN_PARAMETER_VARIABLE]
            for f in service.functions.values()
            if TOKEN_PARAMETER_VARIABLE in f.environment
        }
        for name in parameters:
            ssm.put_parameter(Name=name, Value=secret, Type="SecureString", Overwrite=True)

    def _start_part(self, part: Part) -> None:
        self._spawn(part.name, [sys.executable, "-m", part.module, *part.args])
        if part.ready_url:
            self._wait_ready(part.name, part.ready_url, part.ready_timeout_s)
        print(f"  {part.name}: running", flush=True)

    def _wait_ready(self, name: str, url: str, timeout_s: float) -> None:
        """Until `url` answers; a child that dies meanwhile fails at once, with its log."""
        _, process = self.children[-1]
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                wait_for_http(url, timeout_s=0.5)
                return
            except TimeoutError:
                if process.poll() is not None:
                    log = self.log_path(name)
                    raise ChildFailed(
                        f"{name} exited with code {process.returncode}; the end of "
                        f"{log}:\n{_tail(log)}"
                    ) from None
                if time.monotonic() > deadline:
                    raise

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name.replace(' ', '-')}.log"

    def _spawn(self, name: str, argv: list[str]) -> None:
        """Each child logs to a file of its own (the gateway writes a line per message), so the
        terminal keeps to what the user needs; a child that dies has its log's tail shown.
        A session of its own: the terminal's Ctrl-C reaches only us, and we stop the children
        in order (players flush before the gateway goes, the gateway before the backend)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path(name).open("wb") as log:
            process = subprocess.Popen(
                argv, env=self.env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT
            )
        self.children.append((name, process))

    def stop(self) -> None:
        """Children in reverse order: SIGINT (lets the producer flush and the gateway run its
        $disconnect handlers), then SIGKILL after a grace period."""
        for _, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            deadline = time.monotonic() + STOP_GRACE_S
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        players = self.log_path("players")
        if any(name == "players" for name, _ in self.children) and players.exists():
            print(f"players' summary ({players}):\n{_tail(players, 6)}", flush=True)
        self.children.clear()
        if self.backend and self.backend.started_localstack:
            stop_localstack(self.env)

    def wait(self) -> int:
        """Until Ctrl-C or SIGTERM, or until a child dies (which is reported)."""
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        while not stop.wait(0.5):
            for name, process in self.children:
                if process.poll() is not None:
                    print(
                        f"{name} exited with code {process.returncode}; stopping. "
                        f"The end of {self.log_path(name)}:",
                        flush=True,
                    )
                    print(_tail(self.log_path(name)), flush=True)
                    return 1
        return 0


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def shared_environment(service: Service) -> dict[str, str]:
    """The variables every function of the service sees alike (serverless.yml's
    provider.environment, in effect)."""
    functions = list(service.functions.values())
    if not functions:
        return {}
    first = functions[0].environment
    return {
        name: value
        for name, value in first.items()
        if all(f.environment.get(name) == value for f in functions[1:])
    }


def _interrupt(*_: object) -> None:
    """SIGTERM during start-up stops what was started, exactly like Ctrl-C."""
    raise KeyboardInterrupt


def main(
    config: Path,
    *,
    ports: Ports | None = None,
    env: Mapping[str, str] | None = None,
    simulate: int = 4,
    rate: float = 10.0,
) -> int:
    stack = LocalStack(
        config=config,
        ports=ports or Ports(),
        env=dict(os.environ if env is None else env),
        simulate=simulate,
        rate=rate,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        stack.start()
        return stack.wait()
    except KeyboardInterrupt:
        return 130
    except (
        BackendError,
        BotoCoreError,
        ChildFailed,
        ClientError,
        OSError,
        TimeoutError,
        ValueError,
    ) as error:
        print(f"tumble local: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
        print("stopped", flush=True)
