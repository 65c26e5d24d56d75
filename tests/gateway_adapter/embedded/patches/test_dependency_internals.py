"""The private internals of dependencies that the patches (gateway_adapter/embedded/patches/,
gateway_adapter/apigateway/aiohttp_frames.py) rely on, where no public API does the job. Each
test names the internals it needs, so an upgrade that moves one fails here, loudly, beside the
patch's own premise check (which switches it off with a warning at start-up). `make test-latest`
runs these against the newest releases."""

from __future__ import annotations

import asyncio
import inspect

import aiohttp
from aiohttp import web
from aiohttp.http_websocket import WebSocketReader
from aiohttp.web_protocol import RequestHandler
from moto.core.responses import ActionResult, BaseResponse
from moto.kinesis.models import KinesisBackend
from moto.kinesis.responses import KinesisResponse

from gateway_adapter.apigateway.aiohttp_frames import GuardedWebSocketResponse, _GuardedParser


def test_aiohttp_still_has_the_hooks_the_frame_guard_wraps():
    """aiohttp bounds messages, not frames: the 32 KB frame quota wraps its frame parser, set
    in `WebSocketResponse._post_start` and read from `RequestHandler._payload_parser`."""
    params = list(inspect.signature(web.WebSocketResponse._post_start).parameters)
    assert params == ["self", "request", "protocol", "writer"]
    assert "_payload_parser" in RequestHandler.__slots__
    assert callable(WebSocketReader.feed_data)
    assert callable(RequestHandler.set_parser)


async def _guarded_handshake() -> tuple[object, object, object]:
    seen: dict[str, object] = {}

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = GuardedWebSocketResponse()
        await ws.prepare(request)
        seen["parser"] = request.protocol._payload_parser
        seen["inner"] = ws._parser
        seen["queue"] = ws._reader
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"ws://127.0.0.1:{port}/") as ws,
        ):
            await ws.receive()
    finally:
        await runner.cleanup()
    return seen["parser"], seen["inner"], seen["queue"]


def test_the_guard_sits_in_front_of_aiohttps_own_frame_parser():
    parser, inner, queue = asyncio.run(_guarded_handshake())
    assert isinstance(parser, _GuardedParser)
    assert parser._inner is inner
    assert isinstance(inner, WebSocketReader)
    assert callable(getattr(queue, "set_exception", None))


def test_moto_still_answers_get_records_the_way_the_fast_path_replaces():
    """moto_speedups swaps `KinesisResponse.get_records` (moto 5.2: no argument, an
    ActionResult) and calls the backend and `_get_param` as moto's own method does."""
    method = KinesisResponse.get_records
    assert list(inspect.signature(method).parameters) == ["self"]
    assert inspect.signature(method).return_annotation in (ActionResult, "ActionResult")
    backend = inspect.signature(KinesisBackend.get_records).parameters
    assert list(backend)[1:4] == ["stream_arn", "shard_iterator", "limit"]
    assert callable(BaseResponse._get_param)
    assert callable(ActionResult.execute_result)
    assert hasattr(KinesisResponse, "kinesis_backend")


def test_moto_records_carry_the_fields_the_fast_path_writes():
    """`created_at_datetime` up to moto 5.2.5, `created_at` (a datetime) from 5.2.6; `data`
    base64 text in 5.2.5, bytes in 5.2.6: the fast path reads whichever is there."""
    from datetime import datetime

    from moto.kinesis.models import Record

    record = Record("key", b"data", 7, "1")
    arrival = getattr(record, "created_at_datetime", None) or record.created_at
    assert isinstance(arrival, datetime)
    assert isinstance(record.data, (bytes, str))
    assert (record.partition_key, record.sequence_number) == ("key", 7)


def test_every_patch_passes_its_own_premise_check():
    """The static half of each patch's start-up check, against what is installed."""
    from gateway_adapter.apigateway import aiohttp_frames
    from gateway_adapter.embedded.patches import moto_dynamodb_premises, moto_kinesis, moto_server

    for check in (
        moto_kinesis.check,
        moto_dynamodb_premises.check,
        moto_server.check,
        aiohttp_frames.check,
    ):
        check()


def test_http_client_still_has_the_header_limits_the_lean_parser_enforces():
    """moto_server_http reads header blocks itself, with http.client's (private) limits."""
    import http.client

    from gateway_adapter.embedded.patches import moto_server_http

    assert http.client._MAXLINE == moto_server_http.MAX_LINE
    assert http.client._MAXHEADERS == moto_server_http.MAX_HEADERS


def test_werkzeug_still_logs_through_the_logger_the_lean_handler_asks():
    """LeanRequestHandler skips werkzeug's request line once werkzeug's logger (a private
    module global) is set up and drops INFO."""
    from werkzeug import _internal

    assert hasattr(_internal, "_logger") and callable(_internal._log)
