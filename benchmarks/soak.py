"""`tumble bench soak`: the whole local stack under the load of `make local` (four simulated
players at 10 presses/s each, on both paths) with a spectator subscribed to every press, for a
while; each part's resident memory is sampled and must stay flat (growth within 10% from the
end of the warm-up to the end). `tests/reliability/test_soak.py` runs two minutes of it;
`make bench` runs five."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import websocket

from gateway_adapter.embedded.backend import free_port
from messages import Subscription, decode_spectator_frame
from messages.envelopes import subscribe_envelope
from messages.tokens import Role, issue, with_token
from tumble.local import LocalStack, Ports

__all__ = ["MAX_GROWTH", "SoakResult", "main", "run_soak"]

MAX_GROWTH = 0.10
SERVERLESS_YML = Path(__file__).resolve().parent.parent / "serverless.yml"


@dataclass
class PartMemory:
    name: str
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds in, RSS bytes)

    def level(self, start_s: float, end_s: float) -> float:
        window = [rss for at, rss in self.samples if start_s <= at <= end_s]
        return statistics.median(window) if window else float("nan")


@dataclass
class SoakResult:
    duration_s: float
    warmup_s: float
    parts: list[PartMemory]
    frames: int
    restarts: int

    def growth(self, part: PartMemory) -> float:
        """End level over post-warm-up level, minus one (medians of 15 s windows)."""
        start = part.level(self.warmup_s, self.warmup_s + 15)
        end = part.level(self.duration_s - 15, self.duration_s)
        return end / start - 1

    def lines(self) -> list[str]:
        lines = [
            f"{self.duration_s:.0f} s, warm-up {self.warmup_s:.0f} s, "
            f"{self.frames} frames to one spectator, {self.restarts} restarts"
        ]
        for part in self.parts:
            start = part.level(self.warmup_s, self.warmup_s + 15) / 2**20
            end = part.level(self.duration_s - 15, self.duration_s) / 2**20
            lines.append(
                f"  {part.name:<13} RSS {start:7.1f} MB -> {end:7.1f} MB "
                f"({self.growth(part):+.1%}; limit +{MAX_GROWTH:.0%})"
            )
        return lines


def _rss(pid: int) -> int:
    """A part's memory: the process and everything it started."""
    try:
        process = psutil.Process(pid)
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for member in family:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


class Watcher(threading.Thread):
    """A spectator of every NESClick, counting frames; it reconnects if the socket drops."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.frames = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                socket = websocket.create_connection(self.url, timeout=5)
                socket.send(
                    subscribe_envelope([Subscription.from_dict({"event_type": "NESClick"})])
                )
                decode_spectator_frame(socket.recv())
                socket.settimeout(1)
                while not self.stop.is_set():
                    try:
                        if socket.recv():
                            self.frames += 1
                    except websocket.WebSocketTimeoutException:
                        continue
            except (websocket.WebSocketException, OSError):
                time.sleep(0.2)


@contextmanager
def soak_stack(players: int = 4, rate: float = 10.0) -> Iterator[LocalStack]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TUMBLE_"))}
    env["LOCALSTACK_HOST"] = f"127.0.0.1:{free_port()}"  # the embedded backend, on free ports
    stack = LocalStack(
        config=SERVERLESS_YML,
        ports=Ports(aws=free_port(), gateway=free_port(), page=free_port()),
        env=env,
        simulate=players,
        rate=rate,
        gateway_log_level="WARNING",
        log_dir=Path(tempfile.mkdtemp(prefix="tumble-soak-")),
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def run_soak(
    duration_s: float,
    warmup_s: float = 30.0,
    sample_s: float = 2.0,
    progress: Callable[[str], None] = lambda _: None,
) -> SoakResult:
    with soak_stack() as stack:
        secret = stack.env["TUMBLE_TOKEN_SECRET"].encode()
        token = issue(secret, Role.VIEWER, "soak", int(time.time()) + int(duration_s) + 3600)
        watcher = Watcher(with_token(stack.ws_url, token))
        watcher.start()
        parts = {child.part.name: PartMemory(child.part.name) for child in stack.children}
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < duration_s:
            for child in stack.children:
                parts[child.part.name].samples.append((elapsed, _rss(child.process.pid)))
            if int(elapsed) % 30 == 0:
                progress(f"{elapsed:.0f} s: {watcher.frames} frames")
            time.sleep(sample_s)
        watcher.stop.set()
        restarts = sum(len(child.restarts) for child in stack.children)
        return SoakResult(duration_s, warmup_s, list(parts.values()), watcher.frames, restarts)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tumble bench soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds (default 300)")
    parser.add_argument("--quick", action="store_true", help="60 s instead")
    args = parser.parse_args(argv)
    duration = 60.0 if args.quick else args.duration
    result = run_soak(duration, warmup_s=min(30.0, duration / 3), progress=print)
    for line in result.lines():
        print(line, flush=True)
    grown = [p.name for p in result.parts if result.growth(p) > MAX_GROWTH]
    if grown:
        print(f"grew more than {MAX_GROWTH:.0%}: {', '.join(grown)}", flush=True)
    return 1 if grown or result.restarts else 0
