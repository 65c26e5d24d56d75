"""A stadium's crowd in one process: COUNT aiohttp WebSocket clients on one event loop, each a
spectator subscribed to every NESClick (batched or not), so thousands of spectators cost a few
MB each and no thread. It connects them at most RATE a second (under API Gateway's 500 new
connections a second), prints `ready N` once all are subscribed, counts what arrives after a
line `go MS` on stdin (events sent at MS, epoch ms, or later), and on a line `stop` prints one
JSON document: per spectator the frames and events received, and the press-to-spectator times
of every SAMPLE-th spectator's events. Those sampled spectators also read each event's payload
for its player's colour (the stream's partition key) and count the events that arrived before
an earlier one of the same player (per-key order, which Kinesis and the fan-out must keep).
Beside a batched crowd, each process also runs one talk-style client (subscribed without
`batched`), reported on its own: it should still get one frame per event.

    python -m benchmarks._stadium_crowd WS_URL COUNT BATCHED(0|1) RATE SAMPLE"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import aiohttp

from messages import (
    BATCHED,
    STATUS,
    STATUS_SUBSCRIBED,
    Subscription,
    decode_spectator_frame,
    unbatch,
)
from messages.envelopes import FRAME_EVENT_ID, FRAME_PAYLOAD, FRAME_SENT_AT, subscribe_envelope
from messages.events import MessageField

__all__ = ["main"]

CONNECT_TIMEOUT_S = 60.0


class Spectator:
    __slots__ = ("events", "frames", "last_by_key", "latencies", "out_of_order", "sampled", "seen")

    def __init__(self, sampled: bool) -> None:
        self.frames = 0
        self.events = 0
        self.sampled = sampled
        self.latencies: list[float] = []
        self.seen: set[str] = set()
        self.out_of_order = 0
        self.last_by_key: dict[str, float] = {}

    def received(self, text: str, now_ms: float, since_ms: float = 0.0) -> None:
        """Counts the events sent at `since_ms` or later (an earlier crowd's backlog still in
        the stream is not this crowd's to count), and the frames that held any."""
        counted = False
        for frame in unbatch(text, payloads=False):  # counted, not read: no payload parsed
            if FRAME_EVENT_ID not in frame or float(frame[FRAME_SENT_AT]) < since_ms:
                continue  # an answer, an error frame or an older event
            counted = True
            self.events += 1
            if self.sampled:
                self.sampled_event(frame, now_ms)
        self.frames += counted

    def sampled_event(self, frame: dict[str, Any], now_ms: float) -> None:
        sent_at = float(frame[FRAME_SENT_AT])
        self.seen.add(str(frame[FRAME_EVENT_ID]))
        self.latencies.append(now_ms - sent_at)
        key = str(json.loads(frame[FRAME_PAYLOAD]).get(MessageField.COLOR))
        if sent_at < self.last_by_key.get(key, 0.0):
            self.out_of_order += 1
        self.last_by_key[key] = max(sent_at, self.last_by_key.get(key, 0.0))


def _subscription(batched: bool) -> str:
    return subscribe_envelope([Subscription.from_dict({"event_type": "NESClick"})], batched=batched)


class Since:
    """When the driver's presses start (epoch ms, its `go` line): nothing counts before."""

    ms = float("inf")


async def _watch(ws: aiohttp.ClientWebSocketResponse, spectator: Spectator) -> None:
    async for message in ws:
        if message.type == aiohttp.WSMsgType.TEXT:
            spectator.received(message.data, time.time() * 1000, Since.ms)


async def _join(
    session: aiohttp.ClientSession, url: str, batched: bool
) -> tuple[aiohttp.ClientWebSocketResponse, bool]:
    """A connected, subscribed spectator, and whether the answer echoed `batched`."""
    async with asyncio.timeout(CONNECT_TIMEOUT_S):
        ws = await session.ws_connect(url, autoping=True, max_msg_size=0)
        await ws.send_str(_subscription(batched))
        answer = decode_spectator_frame((await ws.receive()).data)
    if answer.get(STATUS) != STATUS_SUBSCRIBED:
        await ws.close()
        raise RuntimeError(f"subscribe answered {answer}")
    return ws, answer.get(BATCHED) is batched


async def run(url: str, count: int, batched: bool, rate: int, sample: int) -> dict[str, Any]:
    spectators = [Spectator(n % sample == 0) for n in range(count)]
    talk = Spectator(sampled=True)  # beside a batched crowd only
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        joined: list[tuple[aiohttp.ClientWebSocketResponse, bool]] = []
        started = time.monotonic()
        step = max(1, rate // 10)  # a tenth of a second's worth at a time
        for first in range(0, count, step):
            size = min(step, count - first)
            joined += await asyncio.gather(*(_join(session, url, batched) for _ in range(size)))
            await asyncio.sleep(max(0.0, started + (first + size) / rate - time.monotonic()))
        echoed = all(echo for _, echo in joined)
        watchers = [
            asyncio.ensure_future(_watch(ws, spectator))
            for (ws, _), spectator in zip(joined, spectators, strict=True)
        ]
        if batched:
            talker, _ = await _join(session, url, batched=False)
            joined.append((talker, False))
            watchers.append(asyncio.ensure_future(_watch(talker, talk)))
        print(f"ready {count} {int(echoed)} {time.monotonic() - started:.1f}", flush=True)
        loop = asyncio.get_running_loop()
        while (line := (await loop.run_in_executor(None, sys.stdin.readline)).split()) and (
            line[0] == "go"
        ):
            Since.ms = float(line[1])
        for ws, _ in joined:
            await ws.close()
        for watcher in watchers:
            watcher.cancel()
    return {
        "frames": [s.frames for s in spectators],
        "events": [s.events for s in spectators],
        "latencies_ms": [x for s in spectators if s.sampled for x in s.latencies],
        "distinct_sampled": [len(s.seen) for s in spectators if s.sampled],
        "out_of_order": [s.out_of_order for s in spectators if s.sampled],
        "talk_frames": [talk.frames] if batched else [],
        "talk_events": [talk.events] if batched else [],
        "talk_out_of_order": [talk.out_of_order] if batched else [],
    }


def main(argv: list[str]) -> int:
    url, count, batched, rate, sample = argv
    result = asyncio.run(run(url, int(count), batched == "1", int(rate), int(sample)))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
