"""The @connections management API (`POST|GET|DELETE /{stage}/@connections/{connectionId}`),
answering as ApiGatewayManagementApi does so boto3's client raises its modelled exceptions:
errors carry `x-amzn-ErrorType` and a JSON body with `message`."""

from __future__ import annotations

import json
import time

from aiohttp import web

from . import events
from .connection import Connection, GatewayConfig
from .limits import POST_DATA_MAX_BYTES
from .sigv4 import SignatureError, SigV4Verifier

__all__ = ["ManagementApi"]

# DELETE closes the socket as API Gateway does for a deleted connection.
DELETED_CODE = 1000
DELETED_REASON = "Connection deleted"


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"message": message}).encode(),
        content_type="application/json",
        headers={"x-amzn-ErrorType": kind},
    )


class ManagementApi:
    def __init__(
        self, config: GatewayConfig, connections: dict[str, Connection], region: str
    ) -> None:
        self.config = config
        self.connections = connections
        self.verifier = (
            SigV4Verifier(config.access_key, config.secret_key, region) if config.auth else None
        )

    def _check(self, request: web.Request, body: bytes) -> web.Response | Connection:
        if request.match_info["stage"] != self.config.stage:
            return _error(403, "ForbiddenException", "Forbidden")
        if self.verifier is not None:
            try:
                self.verifier.verify(request.method, request.raw_path, request.headers, body)
            except SignatureError as error:
                return _error(403, "ForbiddenException", str(error))
        connection_id = request.match_info["connection_id"]
        if not events.valid_connection_id(connection_id):
            return _error(400, "BadRequestException", f"Invalid connectionId: {connection_id}")
        conn = self.connections.get(connection_id)
        if conn is None or conn.closing:
            return _error(410, "GoneException", "Gone")
        return conn

    async def post(self, request: web.Request) -> web.Response:
        length = request.content_length
        if length is not None and length > POST_DATA_MAX_BYTES:
            return _error(
                413, "PayloadTooLargeException", f"Data exceeds {POST_DATA_MAX_BYTES} bytes"
            )
        body = await request.read()
        checked = self._check(request, body)
        if isinstance(checked, web.Response):
            return checked
        if len(body) > POST_DATA_MAX_BYTES:
            return _error(
                413, "PayloadTooLargeException", f"Data exceeds {POST_DATA_MAX_BYTES} bytes"
            )
        conn = checked
        buffered = conn.buffered()
        if buffered < 0:
            return _error(410, "GoneException", "Gone")
        if buffered > self.config.send_buffer_max_bytes:
            return _error(429, "LimitExceededException", "Client send buffer is full")
        if not await conn.send(body, self.config.send_buffer_max_bytes):
            return _error(410, "GoneException", "Gone")
        conn.last_active_mono = time.monotonic()
        return web.Response(status=200)

    async def get(self, request: web.Request) -> web.Response:
        checked = self._check(request, b"")
        if isinstance(checked, web.Response):
            return checked
        facts = checked.facts
        document = {
            "connectedAt": events.iso_time(facts.connected_at_ms),
            "identity": {"sourceIp": facts.source_ip, "userAgent": facts.user_agent},
            "lastActiveAt": events.iso_time(checked.last_active_ms),
        }
        return web.json_response(document)

    async def delete(self, request: web.Request) -> web.Response:
        checked = self._check(request, b"")
        if isinstance(checked, web.Response):
            return checked
        checked.close(DELETED_CODE, DELETED_REASON)
        return web.Response(status=204)
