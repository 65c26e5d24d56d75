"""The race the talk demonstrated: the same presses over the WebSocket and through Kinesis.

It brings up the local stack (embedded backend, gateway with the stream trigger) exactly as
`tumble local` does, subscribes one spectator to NESClick, and sends each press on both paths
at the same moment with the same EventId and SentAt. The WebSocket path is the baseline; the
Kinesis path is reported beside it, with where its extra time goes:

    SentAt ─► PutRecords acknowledged ─► wait for the next poll ─► GetRecords, Lambda, fan-out

The wait is the event source mapping's cadence (Lambda polls each shard once a second while
idle, so a record waits half a second on average), which is why Kinesis loses the race.
The producer's batching linger (50 ms by default) is left out here: presses are put one by one.

One more lap runs on LocalStack (host mode, no Docker: Kinesis is LocalStack's kinesis-mock,
DynamoDB stays embedded, see tumble.localstack_host), at the first poll interval; it is skipped,
saying why, where LocalStack is not installed (`make .localstack/.installed`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import websocket

from benchmarks._race_record import record_race
from benchmarks._race_spectator import SpectatorProcess
from gateway_adapter.embedded.backend import free_port
from messages import (
    COLORS,
    Event,
    Source,
    encode_kinesis_data,
    submit_envelope,
)
from messages.tokens import Role, issue, with_token
from tumble.local import LocalStack, Ports
from tumble.localstack_host import host_mode_unavailable

__all__ = ["main"]

SERVERLESS_YML = Path(__file__).resolve().parent.parent / "serverless.yml"
BUTTONS = ("UP", "DOWN", "A", "B")
TOKEN_TTL_S = 3600


@dataclass
class Lap:
    """One poll interval's race: per press, when it was sent, acknowledged and seen."""

    poll_interval: float
    sent: dict[str, float] = field(default_factory=dict)
    put_acked: dict[str, float] = field(default_factory=dict)
    arrivals: dict[tuple[str, str], float] = field(default_factory=dict)

    def latencies(self, source: Source) -> list[float]:
        return [
            self.arrivals[(event_id, source.value)] - sent
            for event_id, sent in self.sent.items()
            if (event_id, source.value) in self.arrivals
        ]

    def after_ack(self) -> list[float]:
        return [
            self.arrivals[(event_id, Source.KINESIS.value)] - acked
            for event_id, acked in self.put_acked.items()
            if (event_id, Source.KINESIS.value) in self.arrivals
        ]

    def put_ack(self) -> list[float]:
        return [acked - self.sent[event_id] for event_id, acked in self.put_acked.items()]


@contextmanager
def local_stack(
    poll_interval: float,
    players: int,
    log_dir: Path,
    loop: str | None = None,
    localstack: bool = False,
    settings: Mapping[str, str] | None = None,
) -> Iterator[LocalStack]:
    """The stack on the embedded backend, or on host-mode LocalStack (`localstack`); the
    caller's TUMBLE_ settings never leak in, the benchmark's own (`settings`) do."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TUMBLE_"))}
    env.update(settings or {})
    env["LOCALSTACK_HOST"] = f"127.0.0.1:{free_port()}"  # no LocalStack adopted: free ports
    if localstack:
        env.update(BACKEND="localstack", LOCALSTACK_MODE="host")
    stack = LocalStack(
        config=SERVERLESS_YML,
        ports=Ports(aws=free_port(), gateway=free_port(), page=free_port(), dynamodb=free_port()),
        env=env,
        simulate=players,  # make local's load: each player presses 10 times a second, both ways
        poll_interval=poll_interval,
        page=False,
        gateway_log_level="WARNING",
        log_dir=log_dir,
        gateway_loop=loop,
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def run_lap(stack: LocalStack, presses: int, rate: float) -> Lap:
    lap = Lap(stack.poll_interval)
    secret = stack.env["TUMBLE_TOKEN_SECRET"].encode()
    expires = int(time.time()) + TOKEN_TTL_S
    viewer = issue(secret, Role.VIEWER, "race-viewer", expires)
    shipper_token = issue(secret, Role.SHIPPER, "race-shipper", expires)
    spectator = SpectatorProcess(with_token(stack.ws_url, viewer))
    shipper = websocket.create_connection(with_token(stack.ws_url, shipper_token), timeout=10)
    kinesis = boto3.Session(
        aws_access_key_id=stack.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=stack.env["AWS_SECRET_ACCESS_KEY"],
        region_name=stack.env["AWS_DEFAULT_REGION"],
    ).client("kinesis", endpoint_url=stack.env["AWS_ENDPOINT_URL"])
    stream = stack.env["STREAM_NAME"]  # serverless.yml's, for the stack's stage

    def put(event: Event) -> None:
        data, key = encode_kinesis_data(event), event.message["color"]
        kinesis.put_records(StreamName=stream, Records=[{"Data": data, "PartitionKey": key}])
        lap.put_acked[event.event_id] = time.time() * 1000

    try:
        with ThreadPoolExecutor(max_workers=4) as puts:
            for number in range(presses):
                message = {
                    "color": COLORS[number % len(COLORS)],
                    "button": BUTTONS[number % len(BUTTONS)],
                    "source": Source.WEBSOCKET.value,
                }
                event = Event.create("NESClick", message)
                frame = submit_envelope(event)
                # SentAt is whole milliseconds; the race times the send itself, to the us.
                lap.sent[event.event_id] = time.time() * 1000
                puts.submit(put, event.with_source(Source.KINESIS))
                shipper.send(frame)
                time.sleep(1 / rate)
        wanted = {
            (eid, src.value) for eid in lap.sent for src in (Source.WEBSOCKET, Source.KINESIS)
        }
        spectator.wait_for(wanted, timeout_s=stack.poll_interval * 3 + 10)
        lap.arrivals = dict(spectator.arrivals)
    finally:
        spectator.close()
        shipper.close()
    return lap


def handler_lines(log: Path, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The processor's one log line per submit_iot_event invocation, by event id (the gateway
    runs the handlers in its process, so their lines are in its log)."""
    wanted = set(event_ids)
    found: dict[str, dict[str, Any]] = {}
    for line in log.read_text(errors="replace").splitlines():
        if '"submit_iot_event"' not in line or not line.startswith("{"):
            continue
        fields = json.loads(line)
        if fields.get("event_id") in wanted:
            found[fields["event_id"]] = fields
    return found


def breakdown(lap: Lap, lines: dict[str, dict[str, Any]]) -> list[tuple[str, list[float]]]:
    """Where the WebSocket path's time goes, from the timestamps each part already has: the
    send (this process), the handler's start, decode, lookup and posts (its log line), the
    arrival (the spectator)."""
    rows: dict[str, list[float]] = {
        "frame in: send -> handler starts": [],
        "handler: decode and validate": [],
        "handler: subscriber lookup (Query)": [],
        "handler: posts (@connections round trip)": [],
        "post starts -> spectator has the frame": [],
        "handler: whole invocation": [],
    }
    for event_id, fields in lines.items():
        arrival = lap.arrivals.get((event_id, Source.WEBSOCKET.value))
        if arrival is None or "lookup_ms" not in fields:
            continue
        started = float(fields["started_at_ms"])
        posting = started + float(fields["decoded_ms"]) + float(fields["lookup_ms"])
        for label, value in zip(
            rows,
            (
                started - lap.sent[event_id],
                float(fields["decoded_ms"]),
                float(fields["lookup_ms"]),
                float(fields["deliver_ms"]),
                arrival - posting,
                float(fields["duration_ms"]),
            ),
            strict=True,
        ):
            rows[label].append(value)
    return list(rows.items())


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def row(label: str, values: Sequence[float], expected: int) -> str:
    if not values:
        return f"  {label:<42} no frames arrived"
    stats = [statistics.mean(values), *(percentile(values, f) for f in (0.5, 0.95, 0.99))]
    numbers = " ".join(f"{value:8.1f}" for value in stats)
    return f"  {label:<42} {numbers}   {len(values)}/{expected}"


def report(lap: Lap, presses: int, label: str, lines: dict[str, dict[str, Any]]) -> None:
    websocket_path = lap.latencies(Source.WEBSOCKET)
    kinesis_path = lap.latencies(Source.KINESIS)
    print(
        f"\n{label}: poll interval {lap.poll_interval:.1f} s, {presses} presses (ms; received/sent)"
    )
    print(f"  {'':<42} {'mean':>8} {'p50':>8} {'p95':>8} {'p99':>8}")
    print(row("websocket path (baseline)", websocket_path, presses))
    for part, values in breakdown(lap, lines):
        print(row(f"  {part}", values, presses))
    print(row("kinesis path", kinesis_path, presses))
    print(row("  of which PutRecords acknowledged", lap.put_ack(), presses))
    print(row("  of which ack -> spectator", lap.after_ack(), presses))
    if websocket_path and kinesis_path:
        kinesis_p50, websocket_p50 = (
            statistics.median(kinesis_path),
            statistics.median(websocket_path),
        )
        slower = kinesis_p50 - websocket_p50
        # After the ack, a record waits for the next poll, then travels GetRecords -> Lambda ->
        # the same fan-out as the WebSocket path; subtracting that path leaves the wait.
        waited = statistics.mean(lap.after_ack()) - statistics.mean(websocket_path)
        print(
            f"  kinesis is {slower:.0f} ms slower at the median "
            f"({kinesis_p50 / max(websocket_p50, 0.1):.0f}x):"
            f" a record waits about {waited:.0f} ms for the next poll (expected: half the "
            f"{lap.poll_interval * 1000:.0f} ms poll interval, {lap.poll_interval * 500:.0f} ms)"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tumble bench race", description=__doc__)
    parser.add_argument("--presses", type=int, default=200, help="presses per lap")
    parser.add_argument("--rate", type=float, default=20.0, help="presses per second")
    parser.add_argument(
        "--poll-interval",
        type=float,
        nargs="+",
        default=[1.0, 0.2, 0.1],
        help="seconds between polls of a shard, one lap each (1.0 is Lambda's idle cadence)",
    )
    parser.add_argument(
        "--players", type=int, default=4, help="simulated players running meanwhile (make local)"
    )
    parser.add_argument(
        "--loops",
        nargs="+",
        choices=("asyncio", "uvloop"),
        default=["asyncio", "uvloop"] if _uvloop_installed() else ["asyncio"],
        help="the gateway's event loop, one lap each at the first poll interval",
    )
    parser.add_argument(
        "--no-localstack", action="store_true", help="no lap on host-mode LocalStack"
    )
    parser.add_argument("--quick", action="store_true", help="40 presses, one lap at 1.0 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.presses, args.poll_interval = 40, [1.0]
    players = f"{args.players} players running" if args.players else "no players"
    laps = [(args.poll_interval[0], loop) for loop in args.loops]
    laps += [(poll_interval, args.loops[0]) for poll_interval in args.poll_interval[1:]]
    medians: dict[str, float] = {}
    recorded: dict[float, Lap] = {}
    for poll_interval, loop in laps:
        with tempfile.TemporaryDirectory(prefix="tumble-race-") as logs:
            with local_stack(poll_interval, args.players, Path(logs), loop) as stack:
                lap = run_lap(stack, args.presses, args.rate)
            lines = handler_lines(Path(logs) / "gateway.log", lap.sent)
        report(lap, args.presses, f"{players}, gateway on {loop}", lines)
        if loop == args.loops[0]:
            recorded[poll_interval] = lap
        if poll_interval == args.poll_interval[0] and lap.latencies(Source.WEBSOCKET):
            medians[loop] = statistics.median(lap.latencies(Source.WEBSOCKET))
    parameters = {"presses": args.presses, "rate": args.rate, "players": args.players}
    skipped = "--no-localstack" if args.no_localstack else host_mode_unavailable()
    localstack_laps: dict[float, Lap] = {}
    if skipped is None:
        poll_interval = args.poll_interval[0]
        with tempfile.TemporaryDirectory(prefix="tumble-race-") as logs:
            with local_stack(poll_interval, args.players, Path(logs), localstack=True) as stack:
                lap = run_lap(stack, args.presses, args.rate)
            lines = handler_lines(Path(logs) / "gateway.log", lap.sent)
        report(lap, args.presses, f"{players}, on LocalStack (host mode, kinesis-mock)", lines)
        localstack_laps[poll_interval] = lap
    else:
        print(f"\nno LocalStack lap: {skipped}")
        parameters["localstack_skipped"] = skipped
    record_race(recorded, parameters, localstack_laps)
    if "uvloop" not in args.loops:
        print("\nno uvloop row: uvloop is not installed (pip install -e '.[uvloop]')")
    if len(medians) == 2:
        gain = 1 - medians["uvloop"] / medians["asyncio"]
        print(
            f"\nuvloop against asyncio, websocket path p50: {medians['uvloop']:.1f} against "
            f"{medians['asyncio']:.1f} ms ({gain:+.0%}; adopted only at +15% or more)"
        )
    return 0


def _uvloop_installed() -> bool:
    return importlib.util.find_spec("uvloop") is not None


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
