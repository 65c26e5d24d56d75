"""The WebSocket path: websocket-client, reconnecting with backoff, buffering while away.

websocket-client is blocking, so its calls run in worker threads while the event loop owns the
buffer and the decisions. While disconnected, frames wait in a bounded buffer; when it
overflows the OLDEST frame goes (a race cares about the latest presses) and is counted."""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import websocket as wsc

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
# Frames handed to one worker-thread call: bounds the time a close has to wait for a send.
SEND_CHUNK = 200


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
        self._ws: Any = None
        self._closing = False
        self._in_flight: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.warnings = Warnings("websocket")

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self.run(), name="websocket-path")

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
            count, error = await asyncio.to_thread(_send_all, ws, frames)
            self._in_flight = []
            self.stats.sent += count
            if error is not None:
                self.buffer.extendleft(reversed(frames[count:]))
                self.warnings.once(f"connection lost ({error}); reconnecting")
                self._drop(ws)

    async def _connect(self) -> bool:
        try:
            url = self.url()
            ws = await asyncio.to_thread(wsc.create_connection, url, timeout=CONNECT_TIMEOUT_S)
        except wsc.WebSocketBadStatusException as error:
            self.stats.refused += 1
            self.warnings.once(f"handshake refused: HTTP {error.status_code}")
            return False
        except (OSError, wsc.WebSocketException) as error:
            self.warnings.once(f"cannot connect ({type(error).__name__}); retrying with backoff")
            return False
        self._ws = ws
        self.stats.connects += 1
        self.warnings.reset()
        self.connected.set()
        threading.Thread(
            target=self._read, args=(ws,), name="websocket-reader", daemon=True
        ).start()
        return True

    def _read(self, ws: Any) -> None:
        """Reads what the server says (error frames) and notices when it goes away."""
        while True:
            try:
                frame = ws.recv()
            except wsc.WebSocketTimeoutException:
                continue
            except (OSError, wsc.WebSocketException):
                break
            if not frame:  # a close frame arrived
                break
            self._count_answer(frame)
        loop = self._loop
        if loop is not None:
            # RuntimeError: the loop has closed, nobody is left to tell.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._drop, ws)

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

    def _drop(self, ws: Any) -> None:
        if self._ws is ws and ws is not None:
            self._ws = None
            self.connected.clear()
            self._wake.set()
            threading.Thread(target=_close_quietly, args=(ws,), daemon=True).start()

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
            await asyncio.to_thread(_close_quietly, ws)


def _send_all(ws: Any, frames: list[str]) -> tuple[int, str | None]:
    for index, frame in enumerate(frames):
        try:
            ws.send(frame)
        except (OSError, wsc.WebSocketException) as error:
            return index, type(error).__name__
    return len(frames), None


def _close_quietly(ws: Any) -> None:
    with contextlib.suppress(OSError, wsc.WebSocketException):
        ws.close(timeout=1)
