"""The parts of the gateway benchmark that run in child processes: the service under test
(its serverless.yml and handlers), the baseline server (a bare aiohttp WebSocket echo with a
POST endpoint) and the load generators (a signed poster, an idle-connection holder)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from typing import Any

import aiohttp

__all__ = ["HANDLERS", "SERVICE_YML", "STAGE", "baseline_server", "holder", "poster"]

STAGE = "bench"

SERVICE_YML = """
service: gatewaybench
provider:
  name: aws
  timeout: 10
functions:
  connect:
    handler: bench_handlers.connect
    events:
      - websocket: $connect
  whoami:
    handler: bench_handlers.whoami
    events:
      - websocket:
          route: whoami
          routeResponseSelectionExpression: $default
  echo:
    handler: bench_handlers.echo
    events:
      - websocket: echo
  reply:
    handler: bench_handlers.reply
    events:
      - websocket:
          route: reply
          routeResponseSelectionExpression: $default
"""

HANDLERS = """
import aiobotocore.session

_clients = {}


def connect(event, context):
    return {"statusCode": 200}


async def reply(event, context):
    return {"statusCode": 200, "body": event["body"]}


def whoami(event, context):
    return {"statusCode": 200, "body": event["requestContext"]["connectionId"]}


async def echo(event, context):
    request = event["requestContext"]
    url = f"http://{request['domainName']}/{request['stage']}"
    client = _clients.get(url)
    if client is None:
        creator = aiobotocore.session.get_session().create_client(
            "apigatewaymanagementapi", endpoint_url=url
        )
        client = _clients[url] = await creator.__aenter__()
    await client.post_to_connection(
        ConnectionId=request["connectionId"], Data=event["body"].encode()
    )
"""


# -- the baseline server: a bare aiohttp WebSocket echo with a POST endpoint -----------------


async def baseline_server(port: int) -> None:
    from aiohttp import web

    sockets: dict[str, web.WebSocketResponse] = {}

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        cid = f"{len(sockets):015d}="
        sockets[cid] = ws
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                await ws.send_str(cid if msg.data == '{"action":"whoami"}' else msg.data)
        sockets.pop(cid, None)
        return ws

    async def post(request: web.Request) -> web.Response:
        ws = sockets.get(request.match_info["cid"])
        if ws is None:
            return web.Response(status=410)
        await ws.send_str((await request.read()).decode())
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get(f"/{STAGE}", ws_handler)
    app.router.add_post(f"/{STAGE}/@connections/{{cid}}", post)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"gateway ready: ws://127.0.0.1:{bound}/{STAGE}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runner.cleanup()


# -- load generators (child processes) ---------------------------------------------------------


async def poster(url: str, ids: list[str], total: int, concurrency: int) -> None:
    """PostToConnection as the processor sends it: SigV4-signed like botocore, through its lean
    client (processor.connections_api). aiobotocore's per-call CPU (about 0.5 ms here) capped
    every server at the driver's own rate, so the servers' difference did not show."""
    from botocore.session import Session

    from processor.connections_api import SignedConnectionsApi
    from processor.sigv4 import SigV4Signer
    from processor.transport import SessionCredentials

    botocore_session = Session()
    botocore_session.set_credentials("test", "test")
    api = SignedConnectionsApi(
        SessionCredentials(botocore_session), SigV4Signer("us-east-1"), concurrency
    )
    counter = iter(range(total))
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for n in counter:
            answer = await api.post(url, ids[n % len(ids)], b'{"n":%d}' % n)
            if answer.status is None or not 200 <= answer.status < 300:
                errors += 1  # counted and reported

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await api.close()
    elapsed = time.perf_counter() - started
    print(json.dumps({"posts": total, "errors": errors, "seconds": elapsed}), flush=True)


async def holder(url: str, count: int, concurrency: int = 200) -> None:
    """Opens `count` idle connections, `concurrency` handshakes at a time, says so, holds them
    until stdin closes."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        held: list[Any] = []
        pending = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with pending:
                for _ in range(50):
                    try:
                        held.append(await session.ws_connect(url, autoping=True, heartbeat=None))
                        return
                    except aiohttp.WSServerHandshakeError:
                        await asyncio.sleep(0.05)

        await asyncio.gather(*(one() for _ in range(count)))
        print(json.dumps({"held": len(held)}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        for ws in held:
            await ws.close()
