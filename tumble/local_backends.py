"""The backend parts of `tumble local` (the embedded backend, host-mode LocalStack) and which
of them serves each AWS service, kept apart from the orchestration in tumble.local."""

from __future__ import annotations

import signal
from collections.abc import Mapping

from .backend import Backend, BackendError, localstack_health
from .localstack_host import UNSERVED, host_environment, host_runtime
from .parts import Part
from .service_routes import Route, UnservedService, route_services
from .settings import LOOPBACK

__all__ = ["embedded_part", "host_localstack_part", "localstack_routes"]

BACKEND_NAME = "embedded AWS"
LOCALSTACK_NAME = "LocalStack"
# Host-mode LocalStack is Ready in about 20 s on a loaded 2-core machine; twice that, and more.
LOCALSTACK_READY_TIMEOUT_S = 90.0
# Its shutdown stops kinesis-mock, whose node process may ignore SIGTERM: the watchdog kills
# what is left after its own grace (3 s), well within this one.
LOCALSTACK_STOP_GRACE_S = 10.0


def embedded_part(port: int) -> Part:
    url = f"http://{LOOPBACK}:{port}"
    args = ["--host", LOOPBACK, "--port", str(port)]
    return Part(
        BACKEND_NAME, "gateway_adapter.embedded", args, ready_url=f"{url}/moto-api/", essential=True
    )


def host_localstack_part(env: Mapping[str, str], port: int) -> Part:
    """LocalStack on 127.0.0.1:`port`, under the watchdog that takes kinesis-mock down with it."""
    return Part(
        LOCALSTACK_NAME,
        "tumble.watchdog",
        ["--", *host_runtime()],
        ready_url=f"http://{LOOPBACK}:{port}/_localstack/health",
        ready_timeout_s=LOCALSTACK_READY_TIMEOUT_S,
        essential=True,
        env=host_environment(env, LOOPBACK, port),
        stop_grace_s=LOCALSTACK_STOP_GRACE_S,
        death_signal=signal.SIGTERM,  # the watchdog then takes the whole tree down
    )


def localstack_routes(backend: Backend, endpoint: str) -> list[Route]:
    """Per service, LocalStack or the embedded backend, from LocalStack's health answer."""
    health = localstack_health(endpoint)
    if health is None:
        raise BackendError(f"LocalStack stopped answering at {endpoint}/_localstack/health")
    try:
        return route_services(health, UNSERVED if backend.start == "host" else None)
    except UnservedService as error:
        raise BackendError(str(error)) from error
