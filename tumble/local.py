"""`tumble local`: the whole pipeline on one machine.

Backend first (embedded moto, LocalStack, or an explicit endpoint), then the resources of
serverless.yml, then the long-running parts as child processes, each in its own interpreter:
the gateway (WebSocket API, Lambda runtime, stream trigger), simulated players, the race page.
Ctrl-C stops everything that was started here, in reverse order, and leaves no port behind.

Supervision (what happens when a part dies while the stack runs), chosen so that no record
the backend acknowledged is lost:
- the embedded backend: the stack stops (players first, so they flush or spill to their
  dead-letter file); its in-memory data is gone with it, and the exit code is 1.
- the gateway or the race page: restarted, up to MAX_RESTARTS within RESTART_WINDOW_S. Neither
  keeps state of its own: connections, subscriptions and the stream trigger's checkpoints are
  in the backend, so a restarted gateway resumes the stream where the dead one stopped (once
  the dead one's shard leases expire, at most 10 s) and viewers reconnect.
- the players: reported with the end of their log; the rest goes on.
If `tumble local` itself dies, even by SIGKILL, its children die with it (tumble.supervision),
and host-mode LocalStack takes its own children (kinesis-mock) with it (tumble.watchdog)."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from gateway_adapter.embedded.backend import wait_for_http
from messages.tokens import PARAMETER_ENV, SECRET_ENV
from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import Options
from serverless_model.service import Service, load_service

from .backend import Backend, BackendError, choose_backend, start_localstack, stop_localstack
from .local_backends import embedded_part, host_localstack_part, localstack_routes
from .parts import Child, Part, shared_environment, tail, warning_lines
from .service_routes import EMBEDDED, LOCALSTACK, endpoint_variable, route_lines
from .settings import LOOPBACK, STAGE, Ports, local_environment, session
from .supervision import PortInUse, check_ports_free, spawn

__all__ = ["LocalStack", "Part", "Ports", "cli_main", "main", "shared_environment"]

STOP_GRACE_S = 5.0
MAX_RESTARTS = 5
RESTART_WINDOW_S = 60.0


class ChildFailed(RuntimeError):
    """A part of the stack exited while starting."""


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
    gateway_loop: str | None = None  # the gateway's --loop; None: its default
    log_dir: Path = field(default_factory=lambda: Path.cwd() / ".tumble" / "logs")
    children: list[Child] = field(default_factory=list)
    backend: Backend | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://{LOOPBACK}:{self.ports.gateway}/{STAGE}"

    def start(self) -> None:
        started = time.monotonic()
        self.env.setdefault("AWS_DEFAULT_REGION", self.region)
        self.backend = choose_backend(self.env)
        print(self.backend.describe(), flush=True)
        ports: dict[str, int] = {}
        if self.backend.kind == "embedded" or self.backend.start == "host":
            ports["aws"] = self.ports.aws
        if self.backend.start == "host":
            ports["dynamodb"] = self.ports.dynamodb  # the embedded backend's, for DynamoDB
        ports["gateway"] = self.ports.gateway
        if self.page:
            ports["page"] = self.ports.page
        check_ports_free(LOOPBACK, ports)
        endpoint = self._start_backend(self.backend)
        self.env = local_environment(self.env, endpoint)
        self.env.update(self._route_services(endpoint))
        aws = session(self.env)

        def client(name: str) -> Any:
            return aws.client(name, endpoint_url=self.env.get(endpoint_variable(name), endpoint))

        account = client("sts").get_caller_identity()["Account"]
        options = Options(
            stage=STAGE, region=self.env["AWS_DEFAULT_REGION"], account_id=account, env=self.env
        )
        service = load_service(self.config, options)
        for change in bootstrap_resources(service, client):
            print(f"  {change}", flush=True)
        self._share_token_secret(service, client("ssm"))
        # The producer and the page find the stream, bucket and table as a function would:
        # the ones just created, whatever a STREAM_NAME or the like inherited from the caller
        # says (a stale one sent every Kinesis put of the players to a stream that is not there).
        self.env.update(shared_environment(service))
        for part in self.parts():
            self._start_part(part)
            print(f"  {part.name}: running", flush=True)
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
        if self.gateway_loop is not None:
            gateway_args += ["--loop", self.gateway_loop]
        parts = [
            Part(
                "gateway",
                "gateway_adapter",
                gateway_args,
                ready_url=f"{gateway}/{STAGE}/@connections/readiness-probe",
                restart=True,
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
                    restart=True,
                )
            )
        if self.simulate > 0:
            players = ["--simulate", str(self.simulate), "--rate", str(self.rate)]
            parts.append(
                Part(
                    "players",
                    "producer",
                    [*players, "--ws-url", self.ws_url],
                    death_signal=signal.SIGTERM,
                )
            )
        return parts

    def _start_backend(self, backend: Backend) -> str:
        if backend.kind == "embedded":
            return self._start_embedded(self.ports.aws)
        if backend.start == "host":
            self._start_part(host_localstack_part(self.env, self.ports.aws))
            return f"http://{LOOPBACK}:{self.ports.aws}"
        assert backend.endpoint_url is not None
        if backend.start == "docker":
            start_localstack(backend.endpoint_url, self.env)
        return backend.endpoint_url

    def _route_services(self, endpoint: str) -> dict[str, str]:
        """On LocalStack: print which backend serves each service and why; start the embedded
        backend for those LocalStack cannot serve here. Returns their endpoint variables."""
        backend = self.backend
        if backend is None or backend.kind != "localstack":
            return {}
        routes = localstack_routes(backend, endpoint)
        embedded = f"http://{LOOPBACK}:{self.ports.dynamodb}"
        variables = {}
        if any(route.backend == EMBEDDED for route in routes):
            self._start_embedded(self.ports.dynamodb)
            variables = {
                endpoint_variable(route.service): embedded
                for route in routes
                if route.backend == EMBEDDED
            }
        print("services:", flush=True)
        for line in route_lines(routes, {LOCALSTACK: endpoint, EMBEDDED: embedded}):
            print(line, flush=True)
        return variables

    def _start_embedded(self, port: int) -> str:
        self._start_part(embedded_part(port))
        return f"http://{LOOPBACK}:{port}"

    def _share_token_secret(self, service: Service, ssm: Any) -> None:
        """One secret for the stack and for `tumble token`: TUMBLE_TOKEN_SECRET when set, else
        a fresh one; kept in the backend's SSM parameter that serverless.yml names, where the
        authorizer looks in AWS and `tumble token` looks locally."""
        secret = self.env.get(SECRET_ENV) or secrets.token_urlsafe(32)
        self.env[SECRET_ENV] = secret
        parameters = {
            f.environment[PARAMETER_ENV]
            for f in service.functions.values()
            if PARAMETER_ENV in f.environment
        }
        for name in parameters:
            ssm.put_parameter(Name=name, Value=secret, Type="SecureString", Overwrite=True)

    def _start_part(self, part: Part, child: Child | None = None) -> None:
        """Start `part` and wait until it answers; a restart keeps the log (appending)."""
        restart = child is not None
        process = spawn(
            [sys.executable, "-m", part.module, *part.args],
            self.env if part.env is None else part.env,
            self.log_path(part.name),
            death_signal=part.death_signal,
            append=restart,
        )
        if child is None:
            child = Child(part, process)
            self.children.append(child)
        else:
            child.process = process
        if part.ready_url:
            self._wait_ready(child)
        if not restart:  # a restart's log still holds the first start's warnings
            for line in warning_lines(self.log_path(part.name)):
                print(f"  {part.name}: {line}", flush=True)

    def _wait_ready(self, child: Child) -> None:
        """Until the part's URL answers; a child that dies meanwhile fails at once, with its
        log. The ports were free before it started, so what answers is this child."""
        part, process = child.part, child.process
        assert part.ready_url is not None
        deadline = time.monotonic() + part.ready_timeout_s
        while True:
            try:
                wait_for_http(part.ready_url, timeout_s=0.5)
                if process.poll() is None:
                    return
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise
            if process.poll() is not None:
                log = self.log_path(part.name)
                raise ChildFailed(
                    f"{part.name} exited with code {process.returncode}; the end of "
                    f"{log}:\n{tail(log)}"
                )

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name.replace(' ', '-')}.log"

    def stop(self) -> None:
        """Children in reverse order: SIGINT (lets the producer flush and the gateway run its
        $disconnect handlers), then SIGKILL after a grace period."""
        for child in reversed(self.children):
            process = child.process
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=child.part.stop_grace_s or STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        players = self.log_path("players")
        if any(child.part.name == "players" for child in self.children) and players.exists():
            print(f"players' summary ({players}):\n{tail(players, 6)}", flush=True)
        self.children.clear()
        if self.backend and self.backend.start == "docker":
            stop_localstack(self.env)

    def wait(self) -> int:
        """Until Ctrl-C or SIGTERM, or until an essential part dies; parts that die meanwhile
        are reported and handled by the rule of the module's docstring."""
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        reported: set[int] = set()
        while not stop.wait(0.5):
            for child in self.children:
                code = child.process.poll()
                if code is None or id(child.process) in reported:
                    continue
                reported.add(id(child.process))
                if not self._handle_exit(child, code):
                    return 1
        return 0

    def _handle_exit(self, child: Child, code: int) -> bool:
        """Report a dead part and apply the rule; False when the stack must stop."""
        part, log = child.part, self.log_path(child.part.name)
        now = time.monotonic()
        child.restarts = [at for at in child.restarts if now - at < RESTART_WINDOW_S]
        if part.restart and len(child.restarts) < MAX_RESTARTS:
            print(f"{part.name} exited with code {code}; restarting. The end of {log}:", flush=True)
            print(tail(log), flush=True)
            child.restarts.append(now)
            try:
                self._start_part(part, child)
            except (ChildFailed, TimeoutError) as error:
                print(f"{part.name} did not come back ({error}); stopping.", flush=True)
                return False
            print(f"  {part.name}: restarted", flush=True)
            return True
        if part.essential or part.restart:
            why = "too many restarts" if part.restart else "the stack cannot run without it"
            print(f"{part.name} exited with code {code} ({why}); stopping.", flush=True)
            print(f"The end of {log}:\n{tail(log)}", flush=True)
            return False
        print(f"{part.name} exited with code {code}; the rest goes on. The end of {log}:")
        print(tail(log), flush=True)
        return True


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
    except PortInUse as error:
        print(f"tumble local: {error}", file=sys.stderr, flush=True)
        return 2
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


def cli_main(argv: list[str]) -> int:
    """`tumble local [--config F] [--simulate N] [--rate R] [--aws-port P] ...`."""
    defaults = Ports()
    parser = argparse.ArgumentParser(
        prog="tumble local",
        description="Backend, resources, gateway with stream trigger, simulated players and the "
        "race page, until Ctrl-C.",
    )
    parser.add_argument("--config", type=Path, default=Path("serverless.yml"))
    parser.add_argument("--simulate", type=int, default=4, help="simulated players (0: none)")
    parser.add_argument("--rate", type=float, default=10.0, help="presses per player per second")
    parser.add_argument(
        "--aws-port",
        type=int,
        default=defaults.aws,
        help="port of the AWS endpoint: the embedded backend, or host-mode LocalStack",
    )
    parser.add_argument(
        "--gateway-port",
        type=int,
        default=defaults.gateway,
        help="port of the WebSocket API and its @connections API",
    )
    parser.add_argument(
        "--page-port", type=int, default=defaults.page, help="port of the race page"
    )
    parser.add_argument(
        "--dynamodb-port",
        type=int,
        default=defaults.dynamodb,
        help="port of the embedded backend serving DynamoDB beside host-mode LocalStack",
    )
    args = parser.parse_args(argv)
    ports = Ports(
        aws=args.aws_port,
        gateway=args.gateway_port,
        page=args.page_port,
        dynamodb=args.dynamodb_port,
    )
    return main(args.config, ports=ports, simulate=args.simulate, rate=args.rate)
