"""Fan-out cost and throughput.

1. Scaling: one NESClick with 10 subscribers among 10,000 connections costs what it costs with
   the 10 alone (baseline, same run): the lookup reads only the index items of the 10.
2. Throughput: a Kinesis batch of 1,000 NESClicks given to send_iot_message reaches 100
   subscribers; frames per second beside a one-at-a-time baseline of the same run.

It starts its own embedded backend (a child process) and a minimal @connections sink (another
child) on free loopback ports, so neither competes with the fan-out for this process's GIL.
`ConnectionsSink` is also what the processor's tests use as a stand-in @connections API."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import boto3
from aiohttp import web

from benchmarks._fanout_gateway import measure, readers
from benchmarks._fanout_sweeps import record_sweeps
from benchmarks.common import CLICK, ROOT, embedded_backend, kinesis_event, scoped_environ
from gateway_adapter.apigateway.sigv4 import SignatureError, SigV4Verifier
from gateway_adapter.embedded.backend import free_port, wait_for_http
from messages import Event, Subscription, decode_spectator_frame
from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import Options
from serverless_model.service import load_service

__all__ = ["ConnectionsSink", "main"]

REGION = "us-east-1"


class ConnectionsSink:
    """A minimal @connections API (POST and DELETE) on a loopback port, in its own thread and
    loop: records frames per connection, answers 410 for ids marked gone and 429 a set number
    of times for ids marked throttled, like API Gateway's management API. Given credentials it
    verifies SigV4 as the gateway does (403 ForbiddenException otherwise)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, verify: tuple[str, str] | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.frames: dict[str, list[bytes]] = defaultdict(list)
        self.gone: set[str] = set()
        self.deleted: list[str] = []
        self.throttle: dict[str, int] = {}
        self.fail_5xx: dict[str, int] = {}
        self.posts = 0
        self.forbidden = 0
        self._verifier = SigV4Verifier(*verify) if verify else None
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def domain_name(self) -> str:
        return f"{self.host}:{self.port}"

    def _refusal(self, request: web.Request, data: bytes) -> web.Response | None:
        if self._verifier is None:
            return None
        try:
            self._verifier.verify(request.method, request.raw_path, request.headers, data)
        except SignatureError as error:
            with self._lock:
                self.forbidden += 1
            return _error(403, "ForbiddenException", str(error))
        return None

    async def _delete(self, request: web.Request) -> web.Response:
        refused = self._refusal(request, b"")
        if refused is not None:
            return refused
        connection_id = request.match_info["connection_id"]
        with self._lock:
            if connection_id in self.gone:
                return _error(410, "GoneException")
            self.deleted.append(connection_id)
            self.gone.add(connection_id)
        return web.Response(status=204)

    async def _post(self, request: web.Request) -> web.Response:
        connection_id = request.match_info["connection_id"]
        data = await request.read()
        refused = self._refusal(request, data)
        if refused is not None:
            return refused
        with self._lock:
            self.posts += 1
            if connection_id in self.gone:
                return _error(410, "GoneException")
            if self.throttle.get(connection_id, 0) > 0:
                self.throttle[connection_id] -= 1
                return _error(429, "LimitExceededException")
            if self.fail_5xx.get(connection_id, 0) > 0:
                self.fail_5xx[connection_id] -= 1
                return _error(500, "InternalServerErrorException")
            self.frames[connection_id].append(data)
        return web.Response(status=200)

    async def _stats(self, request: web.Request) -> web.Response:
        with self._lock:
            frames = sum(len(v) for v in self.frames.values())
            return web.json_response({"posts": self.posts, "frames": frames})

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/{stage}/@connections/{connection_id}", self._post)
        app.router.add_delete("/{stage}/@connections/{connection_id}", self._delete)
        app.router.add_get("/_stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()

    def start(self) -> ConnectionsSink:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def received(self, connection_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [decode_spectator_frame(f) for f in self.frames.get(connection_id, [])]

    def __enter__(self) -> ConnectionsSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error(status: int, code: str, message: str | None = None) -> web.Response:
    return web.json_response(
        {"message": message or code}, status=status, headers={"x-amzn-ErrorType": code}
    )


@contextmanager
def _child(args: list[str], url: str) -> Iterator[None]:
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT)
    try:
        wait_for_http(url, 20)
        yield
    finally:
        process.terminate()
        process.wait(10)


def _environment(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def _median_s(action: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _connections(prefix: str, count: int, domain: str) -> Iterator[Any]:
    from processor.store import Connection

    for index in range(count):
        yield Connection(f"{prefix}{index:06d}=", domain, "bench", "viewer", "bench", 0)


def _scaling(pipeline: Any, domain: str, crowd: int, repeat: int) -> bool:
    """Fan-out time with the 10 alone, then among the crowd. moto answers a GSI Query by
    scanning the whole table in Python (DynamoDB reads only the index partition), so the
    Query's round trip is timed apart and the processor's own work is compared too."""
    from messages import Source

    store = pipeline.store
    wanted = Subscription.from_dict({"event_type": "NESClick"})
    others = [Subscription.from_dict({"event_type": "DashClick"})]
    store.put_many((c, [wanted]) for c in _connections("ten", 10, domain))
    event = [(0, Event.create("NESClick", CLICK))]

    def fan_out() -> Any:
        return pipeline.fan_out(event, Source.KINESIS)

    def lookup() -> Any:
        return store.subscribers("NESClick")

    def measure() -> tuple[float, float]:
        return _median_s(fan_out, repeat), _median_s(lookup, repeat)

    fan_out()  # warm the clients
    alone, alone_query = measure()
    # The crowd: half subscribe to another type, half to nothing; none to NESClick.
    store.put_many(
        (c, others if i % 2 else []) for i, c in enumerate(_connections("crowd", crowd, domain))
    )
    report = fan_out()
    found = report.lookups["NESClick"]
    crowded, crowded_query = measure()
    own_alone, own_crowded = alone - alone_query, max(0.0, crowded - crowded_query)
    ratio, own_ratio = crowded / alone, own_crowded / max(own_alone, 1e-6)
    print(
        f"scaling: 10 subscribers alone (baseline): {alone * 1000:.1f} ms per fan-out, of which "
        f"the index Query {alone_query * 1000:.1f} ms"
    )
    print(
        f"scaling: 10 among {crowd + 10:,} connections: {crowded * 1000:.1f} ms per fan-out "
        f"= {ratio:.2f}x baseline, of which the index Query {crowded_query * 1000:.1f} ms "
        f"(moto scans its whole table per GSI Query); without it {own_crowded * 1000:.1f} ms vs "
        f"{own_alone * 1000:.1f} ms = {own_ratio:.2f}x (target < 3x)"
    )
    print(
        f"scaling: index pages read {found.pages}, index items read {found.items} "
        f"(target: only the 10), delivered {report.delivered}"
    )
    return own_ratio < 3 and found.items == 10


def _throughput(pipeline: Any, domain: str, sink_url: str, batch: int, baseline: int) -> bool:
    import json
    import urllib.request

    from processor.handlers import BatchResponse, send_iot_message

    store = pipeline.store
    wanted = [Subscription.from_dict({"event_type": "NESClick"})]
    store.put_many((c, wanted) for c in _connections("hundred", 90, domain))

    def frames() -> int:
        with urllib.request.urlopen(f"{sink_url}/_stats", timeout=5) as response:
            return int(json.load(response)["frames"])

    def run(count: int) -> tuple[float, int, BatchResponse]:
        event = kinesis_event([Event.create("NESClick", CLICK) for _ in range(count)])
        before = frames()
        started = time.perf_counter()
        result = send_iot_message.handle(event, None)
        elapsed = time.perf_counter() - started
        return elapsed, frames() - before, result

    concurrency = pipeline.deliverer.concurrency
    pipeline.deliverer.concurrency = 1
    slow_s, slow_frames, _ = run(baseline)
    pipeline.deliverer.concurrency = concurrency
    fast_s, fast_frames, result = run(batch)
    slow_rate, fast_rate = slow_frames / slow_s, fast_frames / fast_s
    print(
        f"throughput: baseline, one post at a time: {slow_frames:,} frames in {slow_s:.2f} s "
        f"= {slow_rate:,.0f} frames/s"
    )
    print(
        f"throughput: batch of {batch:,} NESClicks to 100 subscribers, concurrency "
        f"{concurrency}: {fast_frames:,} frames in {fast_s:.2f} s = {fast_rate:,.0f} frames/s "
        f"({fast_rate / slow_rate:.1f}x baseline; target >= 3,000); "
        f"batchItemFailures {len(result['batchItemFailures'])}"
    )
    ceiling = _raw_post_rate(f"http://{domain}/bench/@connections", 3000, concurrency)
    print(
        f"throughput: ceiling, bare unsigned aiohttp POSTs to the same sink, concurrency "
        f"{concurrency}: {ceiling:,.0f} frames/s (what this machine allows without botocore)"
    )
    return fast_rate >= 3000 and fast_frames == batch * 100


def _raw_post_rate(url: str, count: int, concurrency: int) -> float:
    """Posts per second of a bare aiohttp client: the machine's ceiling for any fan-out."""

    async def run() -> float:
        limit = asyncio.Semaphore(concurrency)
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def post(index: int) -> None:
                async with limit, session.post(f"{url}/ceiling{index % 100}", data=b"{}") as r:
                    await r.read()

            started = time.perf_counter()
            await asyncio.gather(*(post(i) for i in range(count)))
            return count / (time.perf_counter() - started)

    return asyncio.run(run())


def _serve_sink(port: int) -> int:
    with ConnectionsSink(port=port):
        threading.Event().wait()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tumble bench fanout", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run for smoke tests")
    parser.add_argument("--serve-sink", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--readers", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=100, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_sink:
        return _serve_sink(args.serve_sink)
    if args.readers:
        asyncio.run(readers(args.readers, args.count))
        return 0
    crowd, repeat, batch, baseline = (990, 5, 100, 10) if args.quick else (9_990, 11, 1000, 10)
    signed_events, sweep, rounds = (50, [], 1) if args.quick else (300, [16, 32, 128], 2)
    sink_port = free_port()
    sink_url = f"http://127.0.0.1:{sink_port}"
    sink = ["-m", "benchmarks.fanout", "--serve-sink", str(sink_port)]
    with scoped_environ(), embedded_backend() as endpoint, _child(sink, f"{sink_url}/_stats"):
        os.environ.update(_environment(endpoint))
        session = boto3.Session(region_name=REGION)
        service = load_service(
            ROOT / "serverless.yml",
            Options(stage="bench", region=REGION, account_id="123456789012"),
        )
        make: Callable[..., Any] = session.client  # the service is named at run time
        bootstrap_resources(service, lambda name: make(name, endpoint_url=endpoint))
        os.environ.update(service.functions["send_iot_message"].environment)
        # One invocation's own fan-out is what this measures (the rate the split's budget is
        # derived from); with no fan-out worker running here, a split would only wait.
        from processor import wiring

        os.environ.pop(wiring.FANOUT_QUEUE_ENV, None)

        pipeline = wiring.pipeline()
        domain = f"127.0.0.1:{sink_port}"
        try:
            scaled = _scaling(pipeline, domain, crowd, repeat)
            fast = _throughput(pipeline, domain, sink_url, batch, baseline)
            pipeline.store.delete_connections(
                [c.connection_id for c in _connections("ten", 10, domain)]
                + [c.connection_id for c in _connections("hundred", 90, domain)]
            )
            signed = measure(pipeline, {**os.environ}, signed_events, sweep, rounds)
            record_sweeps(pipeline, domain, args.quick)
        finally:
            pipeline.close()
    if not (scaled and fast and signed):
        print("fanout: a target was missed (the machine is shared: timings are noisy)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
