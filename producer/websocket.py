"""The WebSocket path: aiohttp's client on the producer's own loop, reconnecting with backoff,
buffering while away.

The loop owns the buffer, the socket and the decisions, as it owns the Kinesis path, so no
thread hands results back (the path once ran websocket-client in worker threads). While
disconnected, frames wait in a bounded buffer; when it overflows the OLDEST frame goes (a race
cares about the latest presses) and is counted."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass

import aiohttp
from yarl import URL

from messages import Answer, classify_answer

from .batching import RetryPolicy, backoff_s
from .lifecycle import Warnings, finish_within

__all__ = [
    "ANSWER_GRACE_S",
    "DEFAULT_BUFFER",
    "RECONNECT_POLICY",
    "WebSocketPath",
    "WebSocketStats",
]

DEFAULT_BUFFER = 10_000
# Reconnecting never gives up (max_attempts is not used here); the delay is capped at 5 s so a
# restarted gateway is found again quickly.
RECONNECT_POLICY = RetryPolicy(max_attempts=0, base_s=0.1, cap_s=5.0)
CONNECT_TIMEOUT_S = 5.0
CLOSE_TIMEOUT_S = 1.0
# Frames sent before the path yields the loop once: a burst of thousands never holds up the
# Kinesis path or a reader.
SEND_CHUNK = 200
# What a failed write raises: the peer gone (reset, closing transport) or the socket closed.
_SEND_ERRORS = (ConnectionError, aiohttp.ClientError, RuntimeError)


# How long a close waits, after the last send, for the gateway's answers to the submits still
# in flight: a throttled or failed submit is answered within milliseconds, and without this
# wait a producer that stops right after a burst would report every one of them as sent.
ANSWER_GRACE_S = 0.5


@dataclass
class WebSocketStats:
    """`sent` counts frames written; `failed` and `rejected` the answers that say a submit
    never reached anyone (the submit route has no route response: silence means accepted)."""

    sent: int = 0
    dropped: int = 0
    connects: int = 0
    refused: int = 0  # handshakes refused
    failed: int = 0  # "Internal server error": throttled, failed or timed out at the gateway
    rejected: int = 0  # no route, or refused by the processor (an error frame)
    other_frames: int = 0


class WebSocketPath:
    """`url` is a callable so each (re)connection can carry a freshly issued token."""

    def __init__(
        self,
        url: Callable[[], str],
        *,
        buffer_size: int = DEFAULT_BUFFER,
        policy: RetryPolicy = RECONNECT_POLICY,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.buffer: deque[str] = deque()
        self.buffer_size = max(buffer_size, 1)
        self.policy = policy
        self.rng = rng or random.Random()
        self.stats = WebSocketStats()
        self.connected = asyncio.Event()
        self._wake = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closing = False
        self._in_flight: list[str] = []
        self._task: asyncio.Task[None] | None = None
        # The reader of each connection and the closes of dropped ones, kept so none is
        # collected mid-flight and close() can wait for them.
        self._background: set[asyncio.Task[None]] = set()
        self.warnings = Warnings("websocket")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name="websocket-path")

    def offer(self, frame: str) -> None:
        """Buffer one frame, never waiting; the oldest makes room when the buffer is full."""
        if len(self.buffer) >= self.buffer_size:
            self.buffer.popleft()
            self.stats.dropped += 1
        self.buffer.append(frame)
        self._wake.set()

    async def run(self) -> None:
        attempt = 0
        while not (self._closing and not self.buffer):
            if self._ws is None:
                if await self._connect():
                    attempt = 0
                    continue
                attempt += 1
                await asyncio.sleep(backoff_s(attempt, self.policy, self.rng))
                continue
            if not self.buffer:
                self._wake.clear()
                await self._wake.wait()
                continue
            frames = [self.buffer.popleft() for _ in range(min(SEND_CHUNK, len(self.buffer)))]
            ws = self._ws
            self._in_flight = frames
            count, error = await _send_all(ws, frames)
            self._in_flight = []
            self.stats.sent += count
            if error is not None:
                self.buffer.extendleft(reversed(frames[count:]))
                self.warnings.once(f"connection lost ({error}); reconnecting")
                self._drop(ws)
            await asyncio.sleep(0)

    async def _connect(self) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            # encoded=True: the token goes out in the query string byte for byte.
            url = URL(self.url(), encoded=True)
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                ws = await self._session.ws_connect(
                    url,
                    compress=0,  # websocket-client never offered deflate; the gateway has none
                    max_msg_size=0,
                    timeout=aiohttp.ClientWSTimeout(ws_close=CLOSE_TIMEOUT_S),
                )
        except aiohttp.WSServerHandshakeError as error:
            self.stats.refused += 1
            self.warnings.once(f"handshake refused: HTTP {error.status}")
            return False
        except (OSError, TimeoutError, aiohttp.ClientError) as error:
            self.warnings.once(f"cannot connect ({type(error).__name__}); retrying with backoff")
            return False
        self._ws = ws
        self.stats.connects += 1
        self.warnings.reset()
        self.connected.set()
        self._spawn(self._read(ws))
        return True

    def _spawn(self, coroutine: Coroutine[None, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Reads what the server says (error frames) and notices when it goes away."""
        with contextlib.suppress(*_SEND_ERRORS):
            async for message in ws:
                if message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    self._count_answer(message.data)
        self._drop(ws)

    def _count_answer(self, frame: str | bytes) -> None:
        answer = classify_answer(frame)
        stats = self.stats
        if answer is Answer.FAILED:
            stats.failed += 1
        elif answer is Answer.REFUSED:
            stats.rejected += 1
        else:
            stats.other_frames += 1
        if stats.failed + stats.rejected + stats.other_frames <= 3:
            print(f"producer: websocket: server said {frame!r}", file=sys.stderr, flush=True)

    def _drop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        if self._ws is ws:
            self._ws = None
            self.connected.clear()
            self._wake.set()
            self._spawn(_close_quietly(ws))

    async def close(self, timeout_s: float) -> None:
        """Send what is buffered within `timeout_s`; what is still left counts as dropped."""
        self._closing = True
        self._wake.set()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await finish_within(self._task, timeout_s)
        if self._ws is not None and self.stats.sent:
            # The answers to the last submits (see ANSWER_GRACE_S), within the same budget.
            left = timeout_s - (loop.time() - started)
            await asyncio.sleep(max(0.0, min(ANSWER_GRACE_S, left)))
        # A chunk cut off mid-send may be partly out; counting it as dropped errs on the side
        # of reporting a loss that did not happen, never of hiding one.
        self.stats.dropped += len(self.buffer) + len(self._in_flight)
        self.buffer.clear()
        self._in_flight = []
        ws, self._ws = self._ws, None
        if ws is not None:
            await _close_quietly(ws)
        if self._background:  # readers end with their sockets; closes are bounded
            _, pending = await asyncio.wait(set(self._background), timeout=CLOSE_TIMEOUT_S)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _send_all(
    ws: aiohttp.ClientWebSocketResponse, frames: list[str]
) -> tuple[int, str | None]:
    for index, frame in enumerate(frames):
        if ws.closed:
            return index, "closed"
        try:
            await ws.send_str(frame)
        except _SEND_ERRORS as error:
            return index, type(error).__name__
    return len(frames), None


async def _close_quietly(ws: aiohttp.ClientWebSocketResponse) -> None:
    with contextlib.suppress(*_SEND_ERRORS, TimeoutError):
        async with asyncio.timeout(CLOSE_TIMEOUT_S):
            await ws.close()
