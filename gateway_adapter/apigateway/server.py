"""The gateway: one aiohttp server, one port, serving the WebSocket API at `GET /{stage}` and
the management API at `/{stage}/@connections/{connectionId}`, with a LambdaRuntime behind it.

Usable in-process (tests, benchmarks) as well as from `python -m gateway_adapter`:

    gateway = Gateway(service, runtime, GatewayConfig(stage="local", port=0))
    await gateway.start()        # gateway.port is the bound port
    ...
    await gateway.stop()         # every connection closed with its $disconnect run
"""

from __future__ import annotations

import logging

from aiohttp import web

from serverless_model.service import Service

from ..lambda_runtime.runtime import LambdaRuntime
from . import aiohttp_frames
from .connection import Connection, GatewayConfig
from .management_api import ManagementApi
from .websocket_api import WebSocketApi

__all__ = ["Gateway", "GatewayConfig"]

log = logging.getLogger("gateway_adapter.apigateway.server")

# Room for a full POST body (128 KB) plus slack, so our own 413 answers and not aiohttp's.
_CLIENT_MAX_SIZE = 1024 * 1024
SHUTDOWN_TIMEOUT_S = 30.0


class Gateway:
    def __init__(self, service: Service, runtime: LambdaRuntime, config: GatewayConfig) -> None:
        self.service = service
        self.runtime = runtime
        self.config = config
        self.port = config.port
        self.connections: dict[str, Connection] = {}
        self.websocket = WebSocketApi(
            service, runtime, config, self.connections, lambda: self.domain_name
        )
        self.management = ManagementApi(config, self.connections, service.region)
        self.app = web.Application(client_max_size=_CLIENT_MAX_SIZE)
        connections = "/{stage}/@connections/{connection_id}"
        self.app.router.add_get("/{stage}", self.websocket.handle)
        self.app.router.add_post(connections, self.management.post)
        self.app.router.add_get(connections, self.management.get)
        self.app.router.add_delete(connections, self.management.delete)
        self._runner: web.AppRunner | None = None

    @property
    def domain_name(self) -> str:
        """`host:port` as events carry it, so handlers find the management API (events.py).
        Bound to every interface, handlers (same machine) reach it through loopback."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(  # noqa: S104
            self.config.host, self.config.host
        )
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"ws://{self.domain_name}/{self.config.stage}"

    async def start(self) -> None:
        # The frame quota wraps aiohttp's internals: proven in place first, or no start-up.
        await aiohttp_frames.verify()
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, backlog=4096)
        await site.start()
        addresses = self._runner.addresses  # what the sockets bound: port 0 becomes a real one
        if addresses:
            self.port = addresses[0][1]

    async def stop(self) -> None:
        """Closes every connection with 1001 and waits (bounded) for their $disconnect."""
        await self.websocket.close_all(SHUTDOWN_TIMEOUT_S)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Gateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
