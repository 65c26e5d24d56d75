"""Fixtures for the spectator tests: a scripted WebSocket peer (for the watcher's failure
paths) and a page server on a free port, each on its own event loop in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway_adapter.embedded.backend import free_port
from serverless_model.service import Service

from .stack import Process, Shipper, start_gateway, stream_name

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ServerThread:
    """An aiohttp app served on 127.0.0.1:<free port> from a private loop."""

    def __init__(self, app: web.Application) -> None:
        self.port = free_port("127.0.0.1")
        self._app = app
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._call(self._start()).result(timeout=10)
        return self

    def __exit__(self, *_: object) -> None:
        self._call(self._stop()).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _call(self, coroutine: Awaitable[Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]

    async def _start(self) -> None:
        self._runner = web.AppRunner(self._app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
def serve() -> Iterator[Callable[[web.Application], ServerThread]]:
    started: list[ServerThread] = []

    def start(app: web.Application) -> ServerThread:
        server = ServerThread(app).__enter__()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.__exit__()


@pytest.fixture
def scripted_gateway(
    serve: Callable[[web.Application], ServerThread],
) -> Callable[[Handler], str]:
    """A WebSocket endpoint whose behaviour the test writes; returns its ws:// URL."""

    def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_get("/local", handler)
        return serve(app).url.replace("http://", "ws://") + "/local"

    return start


@dataclass
class RunningGateway:
    process: Process
    url: str
    shipper: Shipper
    logs: Path

    def restart(self) -> None:
        """Stop the gateway (every client is disconnected) and start it on the same port."""
        self.shipper.close()
        self.process.stop()
        port = int(self.url.rsplit(":", 1)[1].split("/", 1)[0])
        self.process, _ = start_gateway(self.logs, port)
        self.shipper = Shipper(self.url, self.shipper.kinesis, self.shipper.stream)

    def stop(self) -> None:
        self.shipper.close()
        self.process.stop()


@pytest.fixture
def gateway(
    tumble_service: Service, aws_client: Callable[[str], Any], tmp_path: Path
) -> Iterator[RunningGateway]:
    """`python -m gateway_adapter` over fresh resources, with a connected shipper."""
    process, url = start_gateway(tmp_path)
    try:
        shipper = Shipper(url, aws_client("kinesis"), stream_name(tumble_service))
    except Exception:
        process.stop()
        raise
    running = RunningGateway(process, url, shipper, tmp_path)
    try:
        yield running
    finally:
        running.stop()
