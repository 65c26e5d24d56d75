"""API Gateway WebSocket quotas, as named constants with their source, and the pure pieces
that enforce them: the frame-size guard and the new-connection rate window.

Source for every quota: "Amazon API Gateway quotas for configuring and running a WebSocket
API" (docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-
websocket-limits-table.html) and the ApiGatewayManagementApi service model (Data max)."""

from __future__ import annotations

__all__ = [
    "AUTHORIZER_RESULT_MAX_BYTES",
    "CONNECT_RATE_PER_S",
    "FRAME_MAX_BYTES",
    "IDLE_TIMEOUT_S",
    "INTEGRATION_TIMEOUT_S",
    "MAX_LIFETIME_S",
    "MESSAGE_MAX_BYTES",
    "POST_DATA_MAX_BYTES",
    "SEND_BUFFER_MAX_BYTES",
    "ConnectRateWindow",
    "FrameSizeGuard",
    "FrameTooLarge",
]

# "WebSocket frame size: 32 KB" (quota table); a larger frame closes the connection, 1009.
FRAME_MAX_BYTES = 32 * 1024
# "Message payload size: 128 KB" (quota table); over it: close code 1009.
MESSAGE_MAX_BYTES = 128 * 1024
# ApiGatewayManagementApi model: shape Data {"type": "blob", "max": 131072}.
POST_DATA_MAX_BYTES = 131_072
# "Idle Connection Timeout: 10 minutes" (quota table).
IDLE_TIMEOUT_S = 10 * 60
# "Connection duration for WebSocket API: 2 hours" (quota table).
MAX_LIFETIME_S = 2 * 60 * 60
# "New connections per second per account (across all WebSocket APIs) per Region: 500".
CONNECT_RATE_PER_S = 500
# "Integration timeout: 50 milliseconds - 29 seconds" (quota table).
INTEGRATION_TIMEOUT_S = 29.0
# "Lambda authorizer result size: 8 KB" (quota table).
AUTHORIZER_RESULT_MAX_BYTES = 8 * 1024
# AWS does not publish the size of a client's send buffer, only that a full one gives 429
# LimitExceededException ("the WebSocket client side buffer is full", service model). Eight
# full-size messages: a slow reader still catches up, a stopped one costs at most 1 MB.
SEND_BUFFER_MAX_BYTES = 8 * POST_DATA_MAX_BYTES


class FrameTooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"frame of {size} bytes exceeds the {FRAME_MAX_BYTES} byte frame quota")
        self.size = size


class FrameSizeGuard:
    """Follows WebSocket frame boundaries in a client's byte stream (RFC 6455 section 5.2) and
    raises FrameTooLarge at the header of a data frame over `limit`, before its payload is read.

    aiohttp only bounds whole messages; AWS also bounds each frame, so this reads just the
    headers, a few operations per frame, and skips payloads by counting."""

    __slots__ = ("_header", "_limit", "_skip")

    def __init__(self, limit: int = FRAME_MAX_BYTES) -> None:
        self._limit = limit
        self._skip = 0  # payload bytes of the current frame still to pass
        self._header = b""  # an incomplete header carried over to the next chunk

    def feed(self, data: bytes) -> None:
        pos = 0
        end = len(data)
        if self._header:
            data = self._header + data
            end = len(data)
            self._header = b""
        while pos < end:
            if self._skip:
                step = min(self._skip, end - pos)
                self._skip -= step
                pos += step
                continue
            if end - pos < 2:
                self._header = data[pos:]
                return
            opcode = data[pos] & 0x0F
            second = data[pos + 1]
            length = second & 0x7F
            extended = 2 if length == 126 else 8 if length == 127 else 0
            need = 2 + extended + (4 if second & 0x80 else 0)
            if end - pos < need:
                self._header = data[pos:]
                return
            if length == 126:
                length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            elif length == 127:
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
            if opcode < 0x8 and length > self._limit:
                raise FrameTooLarge(length)
            pos += need
            self._skip = length


class ConnectRateWindow:
    """At most `rate` accepted connections in any one-second window (fixed windows keyed by the
    whole second: O(1) state, and the quota is stated per second)."""

    __slots__ = ("_count", "_rate", "_second")

    def __init__(self, rate: int = CONNECT_RATE_PER_S) -> None:
        self._rate = rate
        self._second = -1
        self._count = 0

    def allow(self, now_s: float) -> bool:
        second = int(now_s)
        if second != self._second:
            self._second = second
            self._count = 0
        if self._count >= self._rate:
            return False
        self._count += 1
        return True
