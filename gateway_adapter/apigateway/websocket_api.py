"""The WebSocket side of the API: `GET /{stage}` runs the authorizer and `$connect` before the
upgrade (so a refusal is a real HTTP status), then routes every message to its function and
runs `$disconnect` however the connection ends."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.http_websocket import WebSocketError

from serverless_model.service import Service

from ..lambda_runtime.runtime import (
    FunctionThrottled,
    FunctionTimeout,
    InvocationError,
    LambdaRuntime,
)
from . import events
from .aiohttp_frames import GuardedWebSocketResponse
from .authorizer import AuthorizerDecision, evaluate_authorizer_result, missing_identity_source
from .connection import Connection, GatewayConfig
from .limits import INTEGRATION_TIMEOUT_S, MESSAGE_MAX_BYTES, ConnectRateWindow
from .logs import access
from .routing import RouteSelector, route_response_body

__all__ = ["WebSocketApi"]

log = logging.getLogger("gateway_adapter.websocket")

GOING_AWAY = 1001
ABNORMAL = 1006
NO_STATUS = 1005
# How long a server-side close waits for the client's close frame before dropping it.
CLOSE_TIMEOUT_S = 3.0
# With the 2 h lifetime and the idle timeout alike, API Gateway closes with 1001 "Going away".
GOING_AWAY_REASON = "Going away"
# The transport's high-water mark sits above every bound we enforce, so a send never waits.
_HIGH_WATER_SLACK = 4 * MESSAGE_MAX_BYTES


def _response(protocols: tuple[str, ...]) -> GuardedWebSocketResponse:
    return GuardedWebSocketResponse(
        max_msg_size=MESSAGE_MAX_BYTES + 1,
        compress=False,
        autoping=True,
        timeout=CLOSE_TIMEOUT_S,
        protocols=protocols,
    )


def _multi(pairs: Any) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for name, value in pairs.items():
        multi.setdefault(name, []).append(value)
    return multi


class WebSocketApi:
    def __init__(
        self,
        service: Service,
        runtime: LambdaRuntime,
        config: GatewayConfig,
        connections: dict[str, Connection],
        domain_name: Callable[[], str],
    ) -> None:
        self.service = service
        self.runtime = runtime
        self.config = config
        self.connections = connections
        self.domain_name = domain_name
        self.api_id = events.api_id(service.name)
        self.routes = service.routes
        self.selector = RouteSelector(service.route_selection_expression, service.routes)
        self.rate = ConnectRateWindow(config.connect_rate)
        self.method_arn = (
            f"arn:aws:execute-api:{service.region}:{service.account_id}:{self.api_id}/"
            f"{config.stage}/$connect"
        )
        self.tasks: set[asyncio.Task[Any]] = set()
        self.open_handlers = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.accepting = True

    async def _integrate(
        self, function_name: str, event: Mapping[str, Any], throttle: bool = True
    ) -> Any:
        """The Lambda integration, cut off at API Gateway's 29 s even when the function's own
        timeout is longer (the function then runs on, as in AWS)."""
        try:
            async with asyncio.timeout(INTEGRATION_TIMEOUT_S):
                return await self.runtime.invoke(function_name, event, throttle=throttle)
        except TimeoutError:
            raise FunctionTimeout(function_name, "integration timeout (29 s)") from None

    # -- the handshake ---------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["stage"] != self.config.stage:
            return web.json_response({"message": "Forbidden"}, status=403)
        if not _response(()).can_prepare(request).ok:
            return web.Response(status=426, text="Upgrade Required")
        if not self.accepting:
            return web.json_response({"message": "Service Unavailable"}, status=503)
        now = time.time()
        if not self.rate.allow(now):
            access("connect", "$connect", 429, 0.0, "-")
            return web.json_response({"message": "Too Many Requests"}, status=429)
        started = time.perf_counter()
        facts = events.ConnectionFacts(
            connection_id=events.new_id(),
            connected_at_ms=int(now * 1000),
            source_ip=request.remote or "",
            user_agent=request.headers.get("User-Agent", ""),
            domain_name=self.domain_name(),
            stage=self.config.stage,
            api_id=self.api_id,
        )
        headers = _multi(request.headers)
        query = _multi(request.query)
        status, body, protocol = await self._authorize_and_connect(facts, headers, query, now)
        if status >= 300 or status < 200:
            access(
                "connect",
                "$connect",
                status,
                (time.perf_counter() - started) * 1000,
                facts.connection_id,
            )
            return web.Response(status=status, text=body, content_type="application/json")
        self.open_handlers += 1
        self.idle.clear()
        try:
            # A subprotocol is agreed only when $connect returns it, as with API Gateway.
            ws = _response((protocol,) if protocol else ())
            return await self._run(request, ws, facts, started)
        finally:
            self.open_handlers -= 1
            if not self.open_handlers:
                self.idle.set()

    async def _authorize_and_connect(
        self,
        facts: events.ConnectionFacts,
        headers: dict[str, list[str]],
        query: dict[str, list[str]],
        now: float,
    ) -> tuple[int, str, str | None]:
        """The handshake's status and body, and the subprotocol $connect chose, if any."""
        route = self.routes.get("$connect")
        if route is None:
            return 200, "", None
        if route.authorizer is not None:
            decision = await self._authorize(route.authorizer, facts, headers, query, now)
            if decision.status != 200:
                message = {401: "Unauthorized", 403: "Forbidden"}.get(
                    decision.status, "Internal server error"
                )
                return decision.status, json.dumps({"message": message}), None
            facts.authorizer = decision.context
        request_id = events.new_id()
        event = events.connect_event(facts, request_id, now, headers, query)
        try:
            result = await self._integrate(route.function, event)
        except InvocationError:
            return 500, json.dumps({"message": "Internal server error"}), None
        status = result.get("statusCode", 200) if isinstance(result, dict) else 200
        try:
            status = int(status)
        except (TypeError, ValueError):
            return 502, json.dumps({"message": "Internal server error"}), None
        body = result.get("body") if isinstance(result, dict) else None
        protocol = None
        response_headers = result.get("headers") if isinstance(result, dict) else None
        if isinstance(response_headers, dict):
            for name, value in response_headers.items():
                if name.lower() == "sec-websocket-protocol" and isinstance(value, str):
                    protocol = value.split(",")[0].strip()
        return status, body if isinstance(body, str) else "", protocol

    async def _authorize(
        self,
        authorizer: Any,
        facts: events.ConnectionFacts,
        headers: dict[str, list[str]],
        query: dict[str, list[str]],
        now: float,
    ) -> AuthorizerDecision:
        missing = missing_identity_source(authorizer.identity_sources, headers, query)
        if missing is not None:
            log.info("%s: identity source %s missing: 401", facts.connection_id, missing)
            return AuthorizerDecision(401, reason=f"{missing} missing")
        event = events.authorizer_event(
            facts, events.new_id(), now, headers, query, self.method_arn
        )
        started = time.perf_counter()
        try:
            result = await self._integrate(authorizer.function, event)
        except InvocationError as error:
            # Lambda authorizers deny by raising "Unauthorized" (API Gateway: 401).
            cause = error.__cause__
            if cause is not None and str(cause) == "Unauthorized":
                return AuthorizerDecision(401, reason="Unauthorized")
            return AuthorizerDecision(500, reason=str(error))
        decision = evaluate_authorizer_result(result, self.method_arn)
        if decision.status != 200:
            log.info(
                "%s: authorizer: %s (%s)", facts.connection_id, decision.status, decision.reason
            )
        elif decision.context is not None:
            decision.context["integrationLatency"] = int((time.perf_counter() - started) * 1000)
        return decision

    # -- the open connection ---------------------------------------------------------------

    async def _run(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        facts: events.ConnectionFacts,
        started: float,
    ) -> web.WebSocketResponse:
        await ws.prepare(request)
        transport = request.transport
        if transport is not None:
            transport.set_write_buffer_limits(
                high=self.config.send_buffer_max_bytes + _HIGH_WATER_SLACK
            )
        conn = Connection(facts, ws, transport)
        self.connections[facts.connection_id] = conn
        loop = asyncio.get_running_loop()
        conn.timers = [
            loop.call_later(self.config.idle_timeout_s, self._check_idle, conn),
            loop.call_later(self.config.max_lifetime_s, conn.close, GOING_AWAY, GOING_AWAY_REASON),
        ]
        access(
            "connect", "$connect", 200, (time.perf_counter() - started) * 1000, facts.connection_id
        )
        client_reason = ""
        client_code = 0
        try:
            while True:
                msg = await ws.receive()
                kind = msg.type
                if kind is WSMsgType.TEXT:
                    self._dispatch(conn, msg.data, False)
                elif kind is WSMsgType.BINARY:
                    self._dispatch(conn, base64.b64encode(msg.data).decode("ascii"), True)
                elif kind is WSMsgType.CLOSE:
                    # A close frame without a code is reported as 1005 (RFC 6455 7.1.5).
                    client_code = int(msg.data or NO_STATUS)
                    client_reason = msg.extra or ""
                    break
                else:  # CLOSING, CLOSED, ERROR
                    if kind is WSMsgType.ERROR and isinstance(msg.data, WebSocketError):
                        # A quota broken by the client (1009): report that code, not how the
                        # socket went down after it.
                        conn.close_code = conn.close_code or int(msg.data.code)
                        conn.close_reason = conn.close_reason or str(msg.data)
                    break
        finally:
            self.connections.pop(facts.connection_id, None)
            conn.closing = True
            for timer in conn.timers:
                timer.cancel()
            if not ws.closed:
                with contextlib.suppress(Exception):  # the socket may be gone already
                    await ws.close(code=conn.close_code or GOING_AWAY)
            if conn.close_code is not None:
                code, reason = conn.close_code, conn.close_reason
            else:
                code, reason = client_code or int(ws.close_code or ABNORMAL), client_reason
            await self._disconnect(facts, code, reason)
        return ws

    def _check_idle(self, conn: Connection) -> None:
        due = conn.last_active_mono + self.config.idle_timeout_s
        if time.monotonic() >= due - 0.001:
            conn.close(GOING_AWAY, GOING_AWAY_REASON)
        else:
            conn.timers[0] = asyncio.get_running_loop().call_later(
                due - time.monotonic(), self._check_idle, conn
            )

    async def _disconnect(self, facts: events.ConnectionFacts, code: int, reason: str) -> None:
        route = self.routes.get("$disconnect")
        if route is None:
            access("disconnect", "$disconnect", 200, 0.0, facts.connection_id, code=code)
            return
        started = time.perf_counter()
        event = events.disconnect_event(facts, events.new_id(), time.time(), code, reason)
        status = 200
        try:
            # At the emulator's own shutdown every connection disconnects at once; none of
            # those $disconnect runs is throttled, so each connection's items are removed.
            await self._integrate(route.function, event, throttle=self.accepting)
        except InvocationError:
            status = 500
        access(
            "disconnect",
            "$disconnect",
            status,
            (time.perf_counter() - started) * 1000,
            facts.connection_id,
            code=code,
        )

    # -- messages --------------------------------------------------------------------------

    def _dispatch(self, conn: Connection, body: str, is_binary: bool) -> None:
        conn.last_active_mono = time.monotonic()
        task = asyncio.get_running_loop().create_task(self._message(conn, body, is_binary))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _message(self, conn: Connection, body: str, is_binary: bool) -> None:
        started = time.perf_counter()
        facts = conn.facts
        request_id = events.new_id()
        route_key = self.selector.select(body, is_binary)
        limit = self.config.send_buffer_max_bytes
        if route_key is None:
            await conn.send(self._error_frame("Forbidden", facts, request_id), limit)
            access("message", "-", 403, (time.perf_counter() - started) * 1000, facts.connection_id)
            return
        route = self.routes[route_key]
        event = events.message_event(
            facts, route_key, request_id, events.new_id(), time.time(), body, is_binary
        )
        try:
            result = await self._integrate(route.function, event)
        except InvocationError as error:
            # A throttled Lambda is "Internal server error" to the client too (API Gateway's
            # knowledge center, api-gateway-internal-server-error); the access line says 429.
            await conn.send(self._error_frame("Internal server error", facts, request_id), limit)
            access(
                "message",
                route_key,
                429 if isinstance(error, FunctionThrottled) else 500,
                (time.perf_counter() - started) * 1000,
                facts.connection_id,
            )
            return
        status = 200
        if route.route_response and result is not None:
            reply = route_response_body(result)
            if reply is not None:
                await conn.send(reply, limit)
            if isinstance(result, dict) and isinstance(result.get("statusCode"), int):
                status = result["statusCode"]
        access(
            "message",
            route_key,
            status,
            (time.perf_counter() - started) * 1000,
            facts.connection_id,
        )

    @staticmethod
    def _error_frame(message: str, facts: events.ConnectionFacts, request_id: str) -> str:
        return json.dumps(
            {"message": message, "connectionId": facts.connection_id, "requestId": request_id}
        )

    # -- shutdown --------------------------------------------------------------------------

    async def close_all(self, timeout_s: float) -> None:
        """Going away for every connection; waits (bounded) until each $disconnect ran."""
        self.accepting = False
        for conn in list(self.connections.values()):
            conn.close(GOING_AWAY, GOING_AWAY_REASON)
        try:
            await asyncio.wait_for(self.idle.wait(), timeout_s)
        except TimeoutError:
            log.warning("%d connections still closing after %.0f s", self.open_handlers, timeout_s)
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout_s)
