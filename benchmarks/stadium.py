"""The stadium, locally (issue 22): as many spectators as this machine holds, through the local
stack's own doors (authorizer, $connect, subscribe), watching the race's press rate on the
Kinesis path; one frame per event (the talk's clients) against batched frames (one per ESM
batch), in the same run and on the same stack, one crowd after the other.

Per crowd: events delivered (every spectator should get every press), frames per spectator
per second, press-to-spectator p50/p99 (of every SAMPLE-th spectator, the crowd's clock is the
driver's), and the CPU and peak RSS of the gateway process, which runs the processor's handlers
in process as `tumble local` does (so the two are one figure here), and of the backend.

The spectators are aiohttp clients in a few processes of their own (benchmarks._stadium_crowd),
so they never share an interpreter with the gateway. The ESM batches are counted from the
processor's own log line per send_iot_message invocation (in the gateway's log): a batched
spectator should get at most one frame per batch. A gateway whose subscribe answer does not
echo `batched` (one that predates batched frames) gets the batched crowd reported as skipped.

A third crowd, batched again, runs on a second stack whose fan-out must split each batch into
SPLIT_SLICES slices (TUMBLE_FANOUT_SLICE_POSTS) handed to fanout_worker through the emulated
SQS queue: beside the plain batched crowd, it shows what the split costs in latency (the
trigger waits for its slices, processor/split.py says why). On one machine the slices share
the same cores, so it cannot show the gain, only the price of the hand-over.

`--spectators 500 --seconds 10` is issue 22's done-when: 500 batched spectators receiving
every event of 40 events/s for 10 s, in at most one frame per ESM batch each."""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psutil

from benchmarks import results
from benchmarks.race import TOKEN_TTL_S, local_stack
from messages import COLORS, encode_kinesis_data
from messages.tokens import Role, issue, with_token
from producer.simulate import nes_click
from tumble.local import LocalStack
from tumble.local_backends import BACKEND_NAME
from tumble.supervision import dying_with_this_process

__all__ = ["main"]

SPECTATORS, QUICK_SPECTATORS = 5_000, 1_000
SECONDS, QUICK_SECONDS = 10.0, 4.0
PLAYERS, PRESSES_PER_S = 4, 10.0  # the race's load: make local's simulated players
CROWD_PROCESSES = 2
CONNECTS_PER_S = 400  # under the gateway's (and API Gateway's) 500 new connections a second
SAMPLE_EVERY = 50
DRAIN_S = 120.0  # after the last put, how long delivery may take before the crowd is stopped
IDLE_PERCENT = 10.0
SKIPPED = "skipped: the gateway did not echo batched"
SPLIT_SLICES = 4
CROWDS = ("unbatched", "batched", "batched_split")


@dataclass
class Crowd:
    processes: list[subprocess.Popen[str]] = field(default_factory=list)
    echoed: bool = True
    connect_s: float = 0.0

    def go(self, since_ms: float) -> None:
        """From now on the crowd counts events sent at `since_ms` or later."""
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(f"go {since_ms:.0f}\n")
            process.stdin.flush()

    def stop(self) -> dict[str, list[Any]]:
        merged: dict[str, list[Any]] = {}
        for process in self.processes:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write("stop\n")
            process.stdin.flush()
            document = json.loads(process.stdout.readline() or "{}")
            for key, values in document.items():
                merged.setdefault(key, []).extend(values)
            process.wait(30)
        return merged

    def kill(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def start_crowd(url: str, count: int, batched: bool) -> Crowd:
    crowd = Crowd()
    share = -(-count // CROWD_PROCESSES)
    rate = max(1, CONNECTS_PER_S // CROWD_PROCESSES)
    for index in range(CROWD_PROCESSES):
        size = min(share, count - index * share)
        argv = [sys.executable, "-m", "benchmarks._stadium_crowd", url, str(size)]
        argv += ["1" if batched else "0", str(rate), str(SAMPLE_EVERY)]
        crowd.processes.append(
            subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                preexec_fn=dying_with_this_process(),
            )
        )
    for process in crowd.processes:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if not line or line[0] != "ready":
            crowd.kill()
            raise RuntimeError(f"a crowd process did not get its spectators in: {line}")
        crowd.echoed = crowd.echoed and line[2] == "1"
        crowd.connect_s = max(crowd.connect_s, float(line[3]))
    return crowd


class Usage:
    """CPU seconds and peak RSS of some processes, sampled in a thread while a block runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.cpu_s: dict[str, float] = {}
        self.peak_mb: dict[str, float] = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._started: dict[str, float] = {}
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _cpu(self, process: psutil.Process) -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for name, process in self.processes.items():
                rss = process.memory_info().rss / 2**20
                self.peak_mb[name] = max(self.peak_mb[name], rss)

    def __enter__(self) -> Usage:
        self._started = {name: self._cpu(p) for name, p in self.processes.items()}
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        for name, process in self.processes.items():
            self.cpu_s[name] = self._cpu(process) - self._started[name]
            self.peak_mb[name] = max(self.peak_mb[name], process.memory_info().rss / 2**20)


def drive(stack: LocalStack, seconds: float) -> int:
    """The race's presses put on the stream, a tenth of a second's worth at a time, each
    player's on its own partition key (its order holds); returns how many."""
    kinesis = boto3.Session(
        aws_access_key_id=stack.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.env["AWS_SECRET_ACCESS_KEY"],
        region_name=stack.env["AWS_DEFAULT_REGION"],
    ).client("kinesis", endpoint_url=stack.env["AWS_ENDPOINT_URL"])
    colors = list(COLORS)[:PLAYERS]
    per_tick = max(1, round(PLAYERS * PRESSES_PER_S / 10))
    started, sent = time.monotonic(), 0
    for tick in range(round(seconds * 10)):
        events = [nes_click(colors[(sent + n) % len(colors)], "A") for n in range(per_tick)]
        records: list[Any] = [
            {"Data": encode_kinesis_data(e), "PartitionKey": e.message["color"]} for e in events
        ]
        kinesis.put_records(StreamName=stack.env["STREAM_NAME"], Records=records)
        sent += len(events)
        time.sleep(max(0.0, started + (tick + 1) / 10 - time.monotonic()))
    return sent


def settle(gateway: psutil.Process) -> None:
    """Until the gateway is idle again (the last polls and fan-outs done: under a tenth of a
    core for a second, after at least two polls) or DRAIN_S has passed."""
    deadline = time.monotonic() + DRAIN_S
    time.sleep(2.0)
    gateway.cpu_percent()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        if gateway.cpu_percent() < IDLE_PERCENT:
            return


def fanout_lines(log: Path, offset: int) -> list[dict[str, Any]]:
    """The processor's log lines of the Kinesis path's fan-out, written after `offset` bytes
    of the gateway's log: each send_iot_message invocation that carried records, and each
    fanout_worker invocation (a slice of a fan-out that split)."""
    with log.open("rb") as file:
        file.seek(offset)
        text = file.read().decode(errors="replace")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith('{"')]
    return [
        line
        for line in lines
        if line.get("function") in ("send_iot_message", "fanout_worker")
        and line.get("records", 0) > 0
    ]


# Where the frames that never reached a spectator went, by the fan-out's own count.
LOSS_COUNTS = ("dropped", "closed", "failed", "abandoned")


def _percentile(values: Sequence[float], q: int) -> float | None:
    if len(values) < 2:
        return values[0] if values else None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def one_crowd(
    stack: LocalStack, url: str, spectators: int, seconds: float, batched: bool
) -> dict[str, Any]:
    crowd = start_crowd(url, spectators, batched)
    try:
        if batched and not crowd.echoed:
            return {"skipped": SKIPPED}
        pids = {c.part.name: c.process.pid for c in stack.children}
        log = stack.log_path("gateway")
        offset = log.stat().st_size
        with Usage({"gateway": pids["gateway"], "backend": pids[BACKEND_NAME]}) as usage:
            started = time.monotonic()
            crowd.go(time.time() * 1000)
            sent = drive(stack, seconds)
            settle(usage.processes["gateway"])
            took = time.monotonic() - started
        got = crowd.stop()
        fanout = fanout_lines(log, offset)
    finally:
        crowd.kill()
    batches = [line for line in fanout if line["function"] == "send_iot_message"]
    workers = [line for line in fanout if line["function"] == "fanout_worker"]
    events, frames = got.get("events", []), got.get("frames", [])
    latencies = got.get("latencies_ms", [])
    complete = sum(1 for n in events if n >= sent)
    talk_frames, talk_events = got.get("talk_frames", []), got.get("talk_events", [])
    # The crowd's frames of each invocation: the talk-style clients beside a batched crowd get
    # one frame per record of it (every press is a NESClick), which are not the crowd's.
    most = max(
        (b.get("delivered", 0) - len(talk_frames) * b.get("records", 0) for b in batches),
        default=0,
    )
    return {
        "spectators": spectators,
        "connect_s": crowd.connect_s,
        "events_sent": sent,
        "events_delivered": sum(events),
        "events_expected": sent * spectators,
        "spectators_with_every_event": complete,
        "frames_per_spectator_per_s": sum(frames) / max(1, len(frames)) / seconds,
        "esm_batches": len(batches),
        # A fan-out over one invocation's post budget goes out in slices to fanout_worker.
        "split_batches": sum(1 for b in batches if b.get("slices", 0) > 0),
        "slices": sum(b.get("slices", 0) for b in batches),
        "worker_invocations": len(workers),
        **{f"frames_{name}": sum(line.get(name, 0) for line in fanout) for name in LOSS_COUNTS},
        "most_frames_per_spectator": max(frames, default=0),
        # Frames one invocation delivered, per spectator: 1 when batched (under 32 KB).
        "max_frames_per_spectator_per_batch": most / max(1, spectators),
        "spectators_within_one_frame_per_batch": sum(1 for n in frames if n <= len(batches)),
        # Of the sampled spectators: events that came before an earlier press of their player.
        "order_checked_spectators": len(got.get("out_of_order", [])),
        "events_out_of_order": sum(got.get("out_of_order", []))
        + sum(got.get("talk_out_of_order", [])),
        # Beside a batched crowd: talk-style clients (no `batched`), one frame per event each.
        "talk_clients": len(talk_frames),
        "talk_frames": sum(talk_frames),
        "talk_events": sum(talk_events),
        "p50_ms": _percentile(latencies, 50),
        "p99_ms": _percentile(latencies, 99),
        "gateway_cpu_s_per_s": usage.cpu_s["gateway"] / took,
        "gateway_peak_rss_mb": usage.peak_mb["gateway"],
        "backend_cpu_s_per_s": usage.cpu_s["backend"] / took,
        "backend_peak_rss_mb": usage.peak_mb["backend"],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tumble bench stadium", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SPECTATORS:,} spectators")
    parser.add_argument("--spectators", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args(argv)
    spectators = args.spectators or (QUICK_SPECTATORS if args.quick else SPECTATORS)
    seconds = args.seconds or (QUICK_SECONDS if args.quick else SECONDS)
    figures: dict[str, Any] = {}
    split = {"TUMBLE_FANOUT_SLICE_POSTS": str(math.ceil(spectators / SPLIT_SLICES))}
    # Batched first: it keeps up, so the one-frame-per-event crowd after it starts on an idle
    # stack; the other way round, the first crowd's backlog (records still in the stream when
    # its drain time ran out) would load the second crowd's run. The split crowd gets a stack
    # of its own, since the slice size is the processor's setting.
    for settings, crowds in ((None, ("batched", "unbatched")), (split, ("batched_split",))):
        with (
            tempfile.TemporaryDirectory(prefix="tumble-stadium-") as logs,
            local_stack(1.0, 0, Path(logs), settings=settings) as stack,
        ):
            secret = stack.env["TUMBLE_TOKEN_SECRET"].encode()
            viewer = issue(secret, Role.VIEWER, "stadium", int(time.time()) + TOKEN_TTL_S)
            url = with_token(stack.ws_url, viewer)
            for name in crowds:
                figures[name] = one_crowd(stack, url, spectators, seconds, name != "unbatched")
    figures = {name: figures[name] for name in CROWDS}
    parameters = {
        "spectators": spectators,
        "seconds": seconds,
        "presses_per_s": 40.0,
        "split_slices": SPLIT_SLICES,
    }
    results.record("stadium", parameters=parameters, figures=figures)
    print(f"stadium: {spectators:,} spectators, {PLAYERS * PRESSES_PER_S:g} presses/s on Kinesis")
    failed = False
    for name, row in figures.items():
        if "skipped" in row:
            print(f"  {name}: {row['skipped']}")
            continue
        print(
            f"  {name}: delivered {row['events_delivered']:,} of {row['events_expected']:,} "
            f"events ({row['spectators_with_every_event']:,} spectators got all), "
            f"{row['frames_per_spectator_per_s']:.1f} frames/spectator/s "
            f"({row['esm_batches']} ESM batches, at most "
            f"{row['max_frames_per_spectator_per_batch']:.2f} frames per spectator per batch), "
            f"p50 {row['p50_ms'] or 0:,.0f} ms, p99 {row['p99_ms'] or 0:,.0f} ms, "
            f"gateway {row['gateway_cpu_s_per_s']:.2f} CPU, {row['gateway_peak_rss_mb']:,.0f} MB, "
            f"backend {row['backend_cpu_s_per_s']:.2f} CPU, {row['backend_peak_rss_mb']:,.0f} MB; "
            f"{row['events_out_of_order']} out of per-key order "
            f"({row['order_checked_spectators']} spectators checked)"
        )
        if row["talk_clients"]:
            print(
                f"    beside it, {row['talk_clients']} talk-style clients: "
                f"{row['talk_frames']:,} frames for {row['talk_events']:,} events "
                f"(of {row['talk_clients'] * row['events_sent']:,})"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
