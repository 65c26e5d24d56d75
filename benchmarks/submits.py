"""WebSocket submits under load: the submit path's capacity on `tumble local`'s stack.

A shipper (the producer's WebSocketPath) offers NESClick submits at rising rates, one step
each, to the real gateway (Lambda concurrency 64 per function, Tumble's handlers, the
embedded backend) while a spectator subscribed to NESClick counts what is fanned out. Per step:
submits/s offered, delivered to the spectator, and answered "Internal server error" (throttled
or failed: the producer counts these). The capacity is the highest rate offered with no
refusal. Baseline, same run: frames/s the gateway answers without invoking any function (a
binary frame has no route: API Gateway's Forbidden frame), i.e. its front door alone.

Before issue 12, past capacity the submits queued behind 64 worker threads until the 29 s
integration timeout and the producer counted every one as sent; now each refusal is answered
in milliseconds and counted."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
from pathlib import Path

import websocket

from benchmarks._race_spectator import SpectatorProcess
from benchmarks.race import local_stack
from messages import submit_envelope
from messages.tokens import Role, issue, with_token
from producer.simulate import nes_click
from producer.websocket import WebSocketPath

__all__ = ["main"]

RATES = (100, 200, 400, 800, 1600)
QUICK_RATES = (100, 400, 1600)
TICK_S = 0.01
TOKEN_TTL_S = 3600
SETTLE_S = 3.0  # after a step, for the last deliveries and answers to arrive
WARM_UP_RATE = 50


async def offer(path: WebSocketPath, rate: float, seconds: float) -> int:
    """Offers `rate` submits a second for `seconds`, paced in 10 ms ticks; returns how many."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    offered = 0
    while (elapsed := loop.time() - started) < seconds:
        due = int(elapsed * rate) + 1
        for _ in range(due - offered):
            path.offer(submit_envelope(nes_click("red", "A")))
        offered = max(offered, due)
        await asyncio.sleep(TICK_S)
    return offered


def front_door(url: str, frames: int) -> float:
    """Frames/s the gateway answers with no function behind them (Forbidden)."""
    ws = websocket.create_connection(url, timeout=30)
    answered = 0

    def read() -> None:
        nonlocal answered
        while answered < frames:
            ws.recv()
            answered += 1

    reader = threading.Thread(target=read, daemon=True)
    started = time.perf_counter()
    reader.start()
    for _ in range(frames):
        ws.send_binary(b"\x00")
    reader.join(60)
    rate = answered / (time.perf_counter() - started)
    ws.close()
    return rate


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tumble bench submits", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="three short steps")
    args = parser.parse_args(argv)
    rates, seconds = (QUICK_RATES, 1.0) if args.quick else (RATES, 3.0)
    with (
        tempfile.TemporaryDirectory(prefix="tumble-submits-") as logs,
        local_stack(1.0, 0, Path(logs)) as stack,
    ):
        secret = stack.env["TUMBLE_TOKEN_SECRET"].encode()
        expires = int(time.time()) + TOKEN_TTL_S
        viewer = with_token(stack.ws_url, issue(secret, Role.VIEWER, "bench-viewer", expires))
        shipper = with_token(stack.ws_url, issue(secret, Role.SHIPPER, "bench-ship", expires))
        baseline = front_door(shipper, 2_000 if args.quick else 10_000)
        spectator = SpectatorProcess(viewer)
        rows = asyncio.run(_steps(shipper, spectator, rates, seconds))
        spectator.close()
    capacity = max((rate for rate, _, _, failed in rows if failed == 0), default=0)
    print(f"WebSocket submits, {seconds:g} s per step (submits/s; refused = answered failed)")
    print(f"  {'offered':>8} {'delivered':>10} {'refused':>10}")
    for rate, delivered, _, failed in rows:
        print(f"  {rate:>8,} {delivered / seconds:>10,.0f} {failed / seconds:>10,.0f}")
    unaccounted = sum(sent - delivered - failed for _, delivered, sent, failed in rows)
    print(f"  capacity: {capacity:,} submits/s offered with no refusal")
    print(f"  baseline: {baseline:,.0f} frames/s answered by the gateway with no function")
    print(f"  submits neither delivered nor refused: {unaccounted}")
    return 0


async def _steps(
    url: str, spectator: SpectatorProcess, rates: tuple[int, ...], seconds: float
) -> list[tuple[int, int, int, int]]:
    """Per rate: (rate, delivered, sent, answered failed)."""
    path = WebSocketPath(lambda: url)
    path.start()
    await asyncio.wait_for(path.connected.wait(), 20)
    await offer(path, WARM_UP_RATE, 1.0)  # first invocations create clients: not measured
    await asyncio.sleep(SETTLE_S)
    rows = []
    for rate in rates:
        before = (len(spectator.arrivals), path.stats.sent, path.stats.failed)
        offered = await offer(path, rate, seconds)
        await asyncio.sleep(SETTLE_S)
        rows.append(
            (
                rate,
                len(spectator.arrivals) - before[0],
                path.stats.sent - before[1],
                path.stats.failed - before[2],
            )
        )
        assert path.stats.sent - before[1] <= offered
    await path.close(10)
    return rows
