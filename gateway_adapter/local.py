"""`tumble local`: the whole pipeline on one machine.

Backend first (embedded moto, LocalStack, or an explicit endpoint), then the resources of
serverless.yml, then the long-running parts as child processes, each in its own interpreter:
the gateway (WebSocket API, Lambda runtime, stream trigger), simulated players, the race page.
Ctrl-C stops everything that was started here, in reverse order, and leaves no port behind."""

from __future__ import annotations

import importlib.util
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

import boto3
from botocore.exceptions import ClientError

from .backend import (
    EMBEDDED_HOST,
    EMBEDDED_PORT,
    LOCAL_CREDENTIALS,
    Backend,
    choose_backend,
    start_localstack,
    stop_localstack,
)
from .bootstrap import bootstrap_resources
from .embedded import wait_for_http
from .serverless_config import Options
from .service import Service, load_service

__all__ = ["LocalStack", "Part", "main"]

GATEWAY_PORT = 3001
PAGE_PORT = 8080
STAGE = "local"
STOP_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class Part:
    """A child process of the local stack; `module` must be importable for it to start."""

    name: str
    module: str
    args: Sequence[str]
    ready_url: str | None = None
    ready_timeout_s: float = 15.0


@dataclass
class LocalStack:
    config: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    region: str = "us-east-1"
    simulate: int = 4
    rate: float = 10.0
    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    backend: Backend | None = None

    def start(self) -> None:
        started = time.monotonic()
        self.backend = choose_backend(self.env)
        print(self.backend.describe(), flush=True)
        endpoint = self._start_backend(self.backend)
        self.env.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_DEFAULT_REGION": self.env.get("AWS_DEFAULT_REGION", self.region),
                "AWS_REGION": self.env.get("AWS_REGION", self.region),
            }
        )
        for name, value in LOCAL_CREDENTIALS.items():
            self.env.setdefault(name, value)
        session = boto3.Session(
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
            region_name=self.env["AWS_DEFAULT_REGION"],
        )

        def client(name: str) -> object:
            return session.client(name, endpoint_url=endpoint)

        account = client("sts").get_caller_identity()["Account"]  # type: ignore[attr-defined]
        service = load_service(
            self.config, Options(stage=STAGE, region=self.region, account_id=account, env=self.env)
        )
        for change in bootstrap_resources(service, client):
            print(f"  {change}", flush=True)
        self._share_token_secret(service, client("ssm"))
        for part in self.parts(service):
            self._start_part(part)
        print(
            f"endpoints: AWS {endpoint} | WebSocket ws://127.0.0.1:{GATEWAY_PORT}/{STAGE} | "
            f"management http://127.0.0.1:{GATEWAY_PORT}/{STAGE}/@connections | "
            f"race page http://127.0.0.1:{PAGE_PORT}",
            flush=True,
        )
        print(f"ready in {time.monotonic() - started:.1f} s; Ctrl-C stops everything", flush=True)

    def parts(self, service: Service) -> list[Part]:
        python_args = ["--config", str(self.config), "--stage", STAGE]
        return [
            Part(
                "gateway",
                "gateway_adapter",
                [*python_args, "--host", "127.0.0.1", "--port", str(GATEWAY_PORT)],
                ready_url=f"http://127.0.0.1:{GATEWAY_PORT}/{STAGE}/@connections/ready",
            ),
            Part(
                "race page",
                "spectator.page",
                [
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(PAGE_PORT),
                    "--ws-url",
                    f"ws://127.0.0.1:{GATEWAY_PORT}/{STAGE}",
                ],
                ready_url=f"http://127.0.0.1:{PAGE_PORT}/",
            ),
            Part(
                "players",
                "producer",
                [
                    "--simulate",
                    str(self.simulate),
                    "--rate",
                    str(self.rate),
                    "--ws-url",
                    f"ws://127.0.0.1:{GATEWAY_PORT}/{STAGE}",
                ],
            ),
        ]

    def _start_backend(self, backend: Backend) -> str:
        if backend.kind == "embedded":
            url = f"http://{EMBEDDED_HOST}:{EMBEDDED_PORT}"
            self._spawn(
                "embedded AWS",
                [
                    sys.executable,
                    "-m",
                    "gateway_adapter.embedded",
                    "--host",
                    EMBEDDED_HOST,
                    "--port",
                    str(EMBEDDED_PORT),
                ],
            )
            wait_for_http(f"{url}/moto-api/", timeout_s=15)
            return url
        assert backend.endpoint_url is not None
        if backend.started_localstack:
            start_localstack(backend.endpoint_url, self.env)
        return backend.endpoint_url

    def _share_token_secret(self, service: Service, ssm: object) -> None:
        """One secret for the stack and for `tumble token`: TUMBLE_TOKEN_SECRET when set, else
        a fresh one; kept in the backend's SSM parameter that serverless.yml names, where the
        authorizer looks in AWS and `tumble token` looks locally."""
        secret = self.env.get("TUMBLE_TOKEN_SECRET") or secrets.token_urlsafe(32)
        self.env["TUMBLE_TOKEN_SECRET"] = secret
        parameter = _token_parameter(service)
        if parameter:
            ssm.put_parameter(
                Name=parameter,
                Value=secret,  # type: ignore[attr-defined]
                Type="SecureString",
                Overwrite=True,
            )

    def _start_part(self, part: Part) -> None:
        if importlib.util.find_spec(part.module) is None or (
            importlib.util.find_spec(f"{part.module}.__main__") is None
        ):
            print(f"  {part.name}: not available ({part.module} has no __main__)", flush=True)
            return
        self._spawn(part.name, [sys.executable, "-m", part.module, *part.args])
        if part.ready_url:
            wait_for_http(part.ready_url, timeout_s=part.ready_timeout_s)
        print(f"  {part.name}: running", flush=True)

    def _spawn(self, name: str, argv: list[str]) -> None:
        process = subprocess.Popen(argv, env=self.env, start_new_session=True)
        self.children.append((name, process))

    def stop(self) -> None:
        """Children in reverse order: SIGINT (lets the producer flush and the gateway run its
        $disconnect handlers), then SIGKILL after a grace period."""
        for _, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_S
        for _name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
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
                    print(f"{name} exited with code {process.returncode}; stopping", flush=True)
                    return 1
        return 0


def _token_parameter(service: Service) -> str | None:
    for function in service.functions.values():
        if "TUMBLE_TOKEN_SECRET_PARAMETER" in function.environment:
            return function.environment["TUMBLE_TOKEN_SECRET_PARAMETER"]
    return None


def main(
    config: Path, env: Mapping[str, str] | None = None, simulate: int = 4, rate: float = 10.0
) -> int:
    stack = LocalStack(
        config=config, env=dict(os.environ if env is None else env), simulate=simulate, rate=rate
    )
    try:
        stack.start()
        return stack.wait()
    except KeyboardInterrupt:
        return 130
    except (ClientError, OSError, TimeoutError, ValueError) as error:
        print(f"tumble local: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
        print("stopped", flush=True)
