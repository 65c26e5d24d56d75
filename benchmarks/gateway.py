"""Gateway adapter benchmark: @connections deliveries per second (signed posts, concurrency 64,
100 connected clients), echo latency (client -> handler -> @connections post -> same client)
and RSS with 10,000 idle connections. Each beside a bare aiohttp WebSocket server measured in
the same run (no routing, no Lambda runtime, no SigV4), so the numbers say what the adapter
itself costs on this machine.

Every server and every load generator is its own process: the gateway child, the baseline
child, a poster child (the processor's signed client) and a holder child (idle connections);
this process runs the receiving clients. `--quick` shrinks everything to a few seconds.

serverless-offline (pinned serverless 3 and serverless-offline 13 in benchmarks/serverless-
offline/, the same service in Node) is measured the same way in the same run whenever Node and
that folder's node_modules are there; otherwise its column says why it is missing. It answers
204 to a POST where AWS answers 200 (botocore takes any 2xx), and its idle connections are
opened a few at a time (one worker thread per concurrent $connect)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from benchmarks import _serverless_offline as sls_offline
from benchmarks import results
from benchmarks._gateway_parts import (
    HANDLERS,
    SERVICE_YML,
    STAGE,
    baseline_server,
    holder,
    poster,
)
from benchmarks.common import process_cpu_s, start_server, stop_server

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = 64
HOLD_CONCURRENCY = 200
SERVERS = ("gateway", "baseline", "serverless_offline")

# -- measurements (this process) ---------------------------------------------------------------


async def _latency(url: str, rounds: int, action: str) -> list[float]:
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        samples: list[float] = []
        for n in range(rounds + 50):
            payload = json.dumps({"action": action, "seq": n}, separators=(",", ":"))
            started = time.perf_counter()
            await ws.send_str(payload)
            reply = await ws.receive_str()
            elapsed = (time.perf_counter() - started) * 1000
            assert reply == payload, reply
            if n >= 50:  # warm-up: imports, client creation, first connections
                samples.append(elapsed)
        return samples


async def _throughput(
    url: str, management: str, clients: int, total: int, pid: int, posters: int
) -> dict[str, Any]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets = [await session.ws_connect(url) for _ in range(clients)]
        ids = []
        for ws in sockets:
            await ws.send_str('{"action":"whoami"}')
            ids.append(await ws.receive_str())
        received = 0
        done = asyncio.Event()

        async def drain(ws: Any) -> None:
            nonlocal received
            async for _msg in ws:
                received += 1
                if received >= total:
                    done.set()

        readers = [asyncio.create_task(drain(ws)) for ws in sockets]
        cpu_before = process_cpu_s(pid)
        started = time.perf_counter()
        commands = [
            asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.gateway",
                "--poster",
                management,
                "--ids",
                ",".join(ids),
                "--total",
                str(total // posters),
                "--concurrency",
                str(CONCURRENCY // posters),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
            )
            for _ in range(posters)
        ]
        children = [await command for command in commands]  # all running before any waits
        outputs = await asyncio.gather(*(child.communicate() for child in children))
        elapsed = time.perf_counter() - started
        parts = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
        result = {
            "posts": sum(part["posts"] for part in parts),
            "errors": sum(part["errors"] for part in parts),
            # Posters start together; the slowest one bounds the run.
            "seconds": max(max(part["seconds"] for part in parts), 1e-9),
            "wall_s": elapsed,
            "server_cpu_s": process_cpu_s(pid) - cpu_before,
        }
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), 10)
        result["received"] = received
        for task in readers:
            task.cancel()
        for ws in sockets:
            await ws.close()
        return result


def _rss_mb(pid: int) -> float:
    """The server's resident memory, with any child it started (a server is one process tree)."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
        return float(sum(p.memory_info().rss for p in family)) / 2**20
    except psutil.NoSuchProcess:
        return float("nan")


def _idle_rss(url: str, pid: int, count: int, concurrency: int) -> dict[str, float]:
    before = _rss_mb(pid)
    argv = ["--hold", url, "--count", str(count), "--concurrency", str(concurrency)]
    holder = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.gateway", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert holder.stdout is not None and holder.stdin is not None
    started = time.perf_counter()
    held = json.loads(holder.stdout.readline())["held"]
    opened_s = time.perf_counter() - started
    time.sleep(0.5)
    after = _rss_mb(pid)
    holder.stdin.close()
    holder.wait(timeout=120)
    return {"held": held, "rss_before_mb": before, "rss_mb": after, "open_s": opened_s}


def _measure(
    ws_url: str, pid: int, args: argparse.Namespace, hold_concurrency: int
) -> dict[str, Any]:
    management = ws_url.replace("ws://", "http://")
    samples = asyncio.run(_latency(ws_url, args.rounds, "echo"))
    # The route response path (no @connections post, no client in the handler): what the
    # adapter itself adds to a round trip.
    replies = asyncio.run(_latency(ws_url, args.rounds, "reply"))
    result: dict[str, Any] = {
        "p50_ms": statistics.median(samples),
        "p99_ms": statistics.quantiles(samples, n=100)[98],
        "reply_p50_ms": statistics.median(replies),
        "reply_p99_ms": statistics.quantiles(replies, n=100)[98],
        "echo_samples_ms": samples,
    }
    throughput = asyncio.run(
        _throughput(ws_url, management, args.clients, args.posts, pid, args.posters)
    )
    result["posts_per_s"] = throughput["posts"] / throughput["seconds"]
    # What the server itself spends per delivery: on a machine where the poster is the
    # bottleneck, 1 / this is the rate one core of server could sustain.
    result["server_us_per_post"] = throughput["server_cpu_s"] / throughput["posts"] * 1e6
    result["server_capacity_per_s"] = 1e6 / max(result["server_us_per_post"], 1e-9)
    result["post_errors"] = throughput["errors"]
    result["received"] = throughput["received"]
    result.update(_idle_rss(ws_url, pid, args.idle, hold_concurrency))
    result["rss_per_1000_idle_mb"] = (
        (result["rss_mb"] - result["rss_before_mb"]) / max(result["held"], 1) * 1000
    )
    return result


ROWS = (
    ("@connections posts/s (signed, 64 in flight)", "posts_per_s", "{:,.0f}", ">= 3,000"),
    ("server CPU per delivery, us", "server_us_per_post", "{:.0f}", ""),
    ("deliveries/s one server core sustains (1/CPU)", "server_capacity_per_s", "{:,.0f}", ""),
    ("echo round trip p50 ms", "p50_ms", "{:.2f}", "< 2"),
    ("echo round trip p99 ms", "p99_ms", "{:.2f}", "< 10"),
    ("route-response echo p50 ms (no post)", "reply_p50_ms", "{:.2f}", ""),
    ("route-response echo p99 ms (no post)", "reply_p99_ms", "{:.2f}", ""),
    ("RSS MB with the idle connections", "rss_mb", "{:.0f}", "< 500 (10k)"),
    ("RSS MB per 1,000 idle connections", "rss_per_1000_idle_mb", "{:.1f}", ""),
)


def _cell(measured: dict[str, Any] | None, key: str, fmt: str) -> str:
    return "-" if measured is None else fmt.format(measured[key])


def _report(measured: dict[str, dict[str, Any]], missing: dict[str, str], idle: int) -> None:
    print(f"{idle:,} idle connections; baseline = bare aiohttp WebSocket echo, same run")
    print(f"{'':52} {'gateway':>10} {'baseline':>10} {'sls-offline':>12} {'target':>12}")
    for label, key, fmt, target in ROWS:
        cells = [_cell(measured.get(name), key, fmt) for name in SERVERS]
        print(f"{label:52} {cells[0]:>10} {cells[1]:>10} {cells[2]:>12} {target:>12}")
    for name, reason in missing.items():
        print(f"{name}: not measured: {reason}")
    for name, result in measured.items():
        print(
            f"{name}: {result['held']} held (opened in {result['open_s']:.1f} s, RSS "
            f"{result['rss_before_mb']:.0f} MB before), post errors {result['post_errors']}, "
            f"received {result['received']}"
        )
    print("(shared 2-core machine: noisy)")


def _record(measured: dict[str, dict[str, Any]], missing: dict[str, str], args: Any) -> None:
    figures = {
        name: {k: v for k, v in result.items() if k != "echo_samples_ms"}
        for name, result in measured.items()
    }
    results.record(
        "gateway",
        parameters={
            "clients": args.clients,
            "posts": args.posts,
            "rounds": args.rounds,
            "idle": args.idle,
            "concurrency": CONCURRENCY,
            "posters": args.posters,
            "hold_concurrency": {"serverless_offline": sls_offline.HOLD_CONCURRENCY},
        },
        figures={**figures, "missing": missing},
        samples={f"{name}_echo_ms": r["echo_samples_ms"] for name, r in measured.items()},
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.gateway", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--poster", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=64, help=argparse.SUPPRESS)
    parser.add_argument("--hold", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--posters",
        type=int,
        default=1,
        help="poster processes sharing the 64 in-flight requests (default 1)",
    )
    args = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.serve_baseline:
        asyncio.run(baseline_server(args.port))
        return 0
    if args.poster:
        asyncio.run(poster(args.poster, args.ids.split(","), args.total, args.concurrency))
        return 0
    if args.hold:
        asyncio.run(holder(args.hold, args.count, args.concurrency))
        return 0
    args.rounds = 300 if args.quick else 3000
    args.clients = 100
    args.posts = 2000 if args.quick else 10000
    args.idle = 1000 if args.quick else 10000
    if args.idle + 200 > hard:
        print(f"RLIMIT_NOFILE hard limit {hard} is too low for {args.idle} connections")
        return 1
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    env.pop("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", None)
    measured: dict[str, dict[str, Any]] = {}
    missing: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        config = Path(tmp) / "serverless.yml"
        config.write_text(SERVICE_YML)
        (Path(tmp) / "bench_handlers.py").write_text(HANDLERS)
        servers = {
            "baseline": [sys.executable, "-m", "benchmarks.gateway", "--serve-baseline"],
            "gateway": [
                sys.executable,
                "-m",
                "gateway_adapter",
                "--config",
                str(config),
                "--port",
                "0",
                "--stage",
                STAGE,
                "--log-level",
                "WARNING",
                # The 500/s quota paces AWS's own front door; here it would only stretch the
                # idle-connection step, which measures memory.
                "--connect-rate",
                "100000",
            ],
        }
        for name, command in servers.items():
            process, url = start_server(command, env, Path(tmp) / f"{name}.log")
            try:
                measured[name] = _measure(url, process.pid, args, HOLD_CONCURRENCY)
            finally:
                stop_server(process)
        reason = sls_offline.unavailable_reason()
        if reason is None:
            node, url = sls_offline.start(Path(tmp) / "serverless-offline.log")
            try:
                measured["serverless_offline"] = _measure(
                    url, node.pid, args, sls_offline.HOLD_CONCURRENCY
                )
            finally:
                sls_offline.stop(node)
        else:
            missing["serverless_offline"] = reason
    _report(measured, missing, args.idle)
    _record(measured, missing, args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
