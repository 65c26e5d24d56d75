"""Fixtures of the producer's tests: a stream on the embedded backend, a reader of it, a small
recording WebSocket server that can be restarted on its port, and a fault-injecting proxy."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from gateway_adapter.embedded.backend import free_port
from messages import Event, decode_kinesis_data
from producer.config import DEFAULT_STREAM

STREAM = DEFAULT_STREAM


@pytest.fixture
def kinesis(aws_client: Callable[[str], Any]) -> Any:
    """A boto3 Kinesis client with a fresh 2-shard stream, the default one."""
    client = aws_client("kinesis")
    client.create_stream(StreamName=STREAM, ShardCount=2)
    client.get_waiter("stream_exists").wait(
        StreamName=STREAM, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
    )
    return client


def read_stream(client: Any, stream: str = STREAM) -> list[tuple[str, Event]]:
    """Every record of the stream as (partition key, event), shard by shard in stream order."""
    found: list[tuple[str, Event]] = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = client.get_records(ShardIterator=iterator, Limit=10_000)
            found += [(r["PartitionKey"], decode_kinesis_data(r["Data"])) for r in page["Records"]]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return found


@dataclass
class RecordingServer:
    """An aiohttp WebSocket server on its own loop and thread; `restart()` drops every client
    and comes back on the same port, as a restarted gateway would."""

    port: int = field(default_factory=free_port)
    frames: list[str] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    refuse: bool = False
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/test"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.queries.append(dict(request.query))
        if self.refuse:
            raise web.HTTPUnauthorized()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self.frames.append(message.data)
        finally:
            self._sockets.discard(ws)
        return ws

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/test", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

    async def _stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def start(self) -> RecordingServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[str]:
        deadline = time.monotonic() + timeout_s
        while len(self.frames) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.frames)


@pytest.fixture
def ws_server() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class FaultProxy:
    """An HTTP proxy in front of the backend that fails chosen PutRecords entries the way
    Kinesis does: the entry is NOT written and its result carries an ErrorCode. `fail(data)`
    decides per record (its decoded event) whether this attempt fails."""

    upstream: str
    fail: Callable[[Event], bool]
    port: int = field(default_factory=free_port)
    received: list[str] = field(default_factory=list)  # EventIds, every attempt
    failed: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                if target.endswith(".PutRecords"):
                    status, payload = proxy._put_records(dict(self.headers), body)
                else:
                    status, payload = proxy._forward(dict(self.headers), body)
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _forward(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        # The signature covers the body; moto does not check it, so a rewritten body passes.
        keep = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(self.upstream + "/", data=body, headers=keep)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def _put_records(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        request = json.loads(body)
        verdicts = []
        for record in request["Records"]:
            event = decode_kinesis_data(base64.b64decode(record["Data"]))
            self.received.append(event.event_id)
            verdicts.append(self.fail(event))
            if verdicts[-1]:
                self.failed.append(event.event_id)
        kept = [r for r, bad in zip(request["Records"], verdicts, strict=True) if not bad]
        results: list[dict[str, Any]] = []
        if kept:
            status, payload = self._forward(
                headers, json.dumps({**request, "Records": kept}).encode()
            )
            if status != 200:
                return status, payload
            results = json.loads(payload)["Records"]
        merged, upstream = [], iter(results)
        for bad in verdicts:
            merged.append(
                {
                    "ErrorCode": "ProvisionedThroughputExceededException",
                    "ErrorMessage": "Rate exceeded for shard (injected by the test proxy)",
                }
                if bad
                else next(upstream)
            )
        answer = {"FailedRecordCount": sum(verdicts), "Records": merged}
        return 200, json.dumps(answer).encode()
