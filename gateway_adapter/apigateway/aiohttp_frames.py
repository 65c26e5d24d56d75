"""API Gateway's 32 KB frame quota on aiohttp's WebSocket server, which bounds only messages.

`GuardedWebSocketResponse` puts a FrameSizeGuard (limits.py) in front of aiohttp's frame
parser, so a data frame over the quota closes the connection with 1009 at its header, before
its payload is read. There is no safe fallback: without the guard the gateway would accept
frames AWS refuses, so a failed premise stops start-up (`verify`, PatchUnsafe) instead.

Private symbols touched: `WebSocketResponse._post_start(request, protocol, writer)` (extended),
`WebSocketResponse._parser` and `_reader` (read), `RequestHandler._payload_parser` (a slot,
replaced), `WebSocketReader.feed_data`/`feed_eof` and the reader queue's `set_exception`
(called). Checked against aiohttp 3.13 and 3.14. Premises: those names and the signature, then
one loopback connection served through the guard: an ordinary frame is echoed as aiohttp
echoes it, a frame over the quota closes with 1009. Gain: not a speed-up (it enforces a quota);
its cost per frame is in `tumble bench gateway`."""

from __future__ import annotations

import asyncio
import importlib.metadata
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.http_websocket import WebSocketError, WebSocketReader
from aiohttp.web_protocol import RequestHandler

from ..embedded.patches.premises import PatchUnsafe, PremiseFailed, require, require_parameters
from .limits import FRAME_MAX_BYTES, FrameSizeGuard, FrameTooLarge

__all__ = ["GuardedWebSocketResponse", "check", "verify"]

_PROBE_TIMEOUT_S = 5.0
_verified = False


class _GuardedParser:
    """aiohttp's frame parser behind a FrameSizeGuard (aiohttp bounds messages, not frames)."""

    __slots__ = ("_guard", "_inner", "_queue")

    def __init__(self, inner: Any, queue: Any) -> None:
        self._inner = inner
        self._queue = queue
        self._guard = FrameSizeGuard()

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        try:
            self._guard.feed(bytes(data))
        except FrameTooLarge as error:
            self._queue.set_exception(WebSocketError(WSCloseCode.MESSAGE_TOO_BIG, str(error)))
            return True, b""
        result: tuple[bool, bytes] = self._inner.feed_data(data)
        return result

    def feed_eof(self) -> None:
        self._inner.feed_eof()


class GuardedWebSocketResponse(web.WebSocketResponse):
    """aiohttp's WebSocketResponse with the 32 KB frame quota enforced on what it reads."""

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        super()._post_start(request, protocol, writer)
        request.protocol._payload_parser = _GuardedParser(self._parser, self._reader)


def check() -> None:
    params = ["self", "request", "protocol", "writer"]
    require_parameters(web.WebSocketResponse._post_start, params, "WebSocketResponse._post_start")
    require("_payload_parser" in RequestHandler.__slots__, "RequestHandler._payload_parser")
    require(callable(getattr(WebSocketReader, "feed_data", None)), "WebSocketReader.feed_data")
    require(callable(getattr(WebSocketReader, "feed_eof", None)), "WebSocketReader.feed_eof")


async def _echo(request: web.Request) -> web.WebSocketResponse:
    ws = GuardedWebSocketResponse()
    await ws.prepare(request)
    parser = request.protocol._payload_parser
    if not isinstance(parser, _GuardedParser) or not callable(
        getattr(ws._reader, "set_exception", None)
    ):
        await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"guard not in place")
        return ws
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            await ws.send_str(message.data)
    return ws


async def _compare() -> None:
    app = web.Application()
    app.router.add_get("/", _echo)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send_str("probe")
                echo = await ws.receive()
                require(echo.type is WSMsgType.TEXT and echo.data == "probe", f"echo: {echo}")
            async with session.ws_connect(f"ws://127.0.0.1:{port}/") as ws:
                await ws.send_str("x" * (FRAME_MAX_BYTES + 1))
                closed = await ws.receive()
                require(
                    closed.type is WSMsgType.CLOSE and closed.data == WSCloseCode.MESSAGE_TOO_BIG,
                    f"a frame over {FRAME_MAX_BYTES} bytes got {closed}, not a 1009 close",
                )
    finally:
        await runner.cleanup()


async def verify() -> None:
    """Once per process, before serving: the guard's premises hold, or PatchUnsafe."""
    global _verified
    if _verified:
        return
    try:
        check()
        await asyncio.wait_for(_compare(), _PROBE_TIMEOUT_S)
    except Exception as error:
        premise = str(error) if isinstance(error, PremiseFailed) else repr(error)
        version = importlib.metadata.version("aiohttp")
        raise PatchUnsafe(
            f"aiohttp {version}: the 32 KB WebSocket frame guard cannot be installed ({premise}); "
            "the gateway will not run without it: install the aiohttp of requirements.lock"
        ) from error
    _verified = True
