"""One WebSocket connection of the API and the settings every part of the gateway shares."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .events import ConnectionFacts
from .limits import (
    CONNECT_RATE_PER_S,
    IDLE_TIMEOUT_S,
    MAX_LIFETIME_S,
    SEND_BUFFER_MAX_BYTES,
)

__all__ = ["Connection", "GatewayConfig"]


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    stage: str
    host: str = "127.0.0.1"
    port: int = 3001
    auth: bool = True  # SigV4 on @connections
    idle_timeout_s: float = IDLE_TIMEOUT_S
    max_lifetime_s: float = MAX_LIFETIME_S
    connect_rate: int = CONNECT_RATE_PER_S
    send_buffer_max_bytes: int = SEND_BUFFER_MAX_BYTES
    access_key: str = field(default_factory=lambda: os.environ.get("AWS_ACCESS_KEY_ID", "test"))
    secret_key: str = field(
        default_factory=lambda: os.environ.get("AWS_SECRET_ACCESS_KEY", "test"), repr=False
    )


class Connection:
    """An established connection: its event facts, its socket, activity times and why it is
    being closed (set before a server-side close so $disconnect reports it)."""

    __slots__ = (
        "close_code",
        "close_reason",
        "closing",
        "connected_mono",
        "facts",
        "last_active_mono",
        "timers",
        "transport",
        "ws",
    )

    def __init__(self, facts: ConnectionFacts, ws: web.WebSocketResponse, transport: Any) -> None:
        self.facts = facts
        self.ws = ws
        self.transport = transport
        self.connected_mono = time.monotonic()
        self.last_active_mono = self.connected_mono
        self.closing = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.timers: list[asyncio.TimerHandle] = []

    @property
    def last_active_ms(self) -> int:
        return self.facts.connected_at_ms + int(
            (self.last_active_mono - self.connected_mono) * 1000
        )

    def buffered(self) -> int:
        """Bytes queued for the client and not yet taken by its socket; -1 once gone."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return -1
        size: int = transport.get_write_buffer_size()
        return size

    async def send(self, data: bytes | str, limit: int) -> bool:
        """Queues one message unless the client's buffer is over `limit`; never waits on a
        slow reader (the transport's high-water mark is set above the limit)."""
        buffered = self.buffered()
        if self.closing or buffered < 0 or buffered > limit:
            return False
        try:
            if isinstance(data, str):
                await self.ws.send_str(data)
                return True
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_frame(data, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):  # the client went away meanwhile
            return False
        return True

    def close(self, code: int, reason: str) -> None:
        """Starts a server-side close; the connection's handler runs $disconnect."""
        if self.closing:
            return
        self.closing = True
        self.close_code = code
        self.close_reason = reason
        for timer in self.timers:
            timer.cancel()
        task = asyncio.get_running_loop().create_task(
            self.ws.close(code=code, message=reason.encode())
        )
        _closing_tasks.add(task)
        task.add_done_callback(_closing_tasks.discard)


_closing_tasks: set[asyncio.Task[Any]] = set()
