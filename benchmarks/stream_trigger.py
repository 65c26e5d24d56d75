"""The Kinesis stream trigger (gateway_adapter.esm) on the embedded backend.

1. Latency from PutRecords to the handler's invocation at poll interval 1.0 (on AWS the mean is
   about half the 1 s poll period) and 0.1, beside the backend's floor measured in the same run:
   one PutRecords followed at once by one GetRecords.
2. Records per second through the trigger (batch size 1,000) to a no-op handler, beside a bare
   GetRecords loop reading the same records in the same run (with the same raw parsing the
   trigger's client uses), which bounds what any poller can reach on this backend. Measured on
   the embedded backend as `tumble local` runs it (GetRecords served by
   gateway_adapter.embedded.patches.moto_kinesis), and again with moto's own GetRecords
   (`--plain-moto`), whose generic serializer is then the limit.

It starts its own embedded backend as a child process on a free loopback port, so moto does
not compete with the poller for this process's GIL."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiobotocore.session

from benchmarks import results
from benchmarks.common import ROOT, embedded_backend
from gateway_adapter.esm import EventSourceMappings
from gateway_adapter.esm.events import KinesisBatchEvent, raw_kinesis_parsing
from serverless_model.service import Function, Service, StreamTrigger

__all__ = ["main"]

REGION = "us-east-1"
ACCOUNT = "123456789012"
# Kinesis PutRecords: at most 500 records per call.
PUT_RECORDS_MAX = 500
# The throughput stream has serverless.yml's shard count (param shardCount).
THROUGHPUT_SHARDS = 2
# The trigger's records/s against its batch size (Lambda: 1 to 10,000 for Kinesis).
BATCH_SIZES = (1, 10, 100, 1000, 10_000)


def _service(stream: str, batch_size: int, position: str) -> Service:
    arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream}"
    trigger = StreamTrigger(
        function="noop", stream_arn=arn, batch_size=batch_size, starting_position=position
    )
    return Service(
        name=f"bench-{stream}",
        path=ROOT / "serverless.yml",
        stage="bench",
        region=REGION,
        account_id=ACCOUNT,
        route_selection_expression="$request.body.action",
        functions={"noop": Function("noop", "bench.noop", 6, 128, {})},
        routes={},
        triggers=(trigger,),
        resources={},
        document={},
    )


@contextmanager
def _backend(fast_get_records: bool) -> Iterator[str]:
    """The embedded backend, and this process's AWS settings pointing at it (the trigger's
    aiobotocore clients take them from the environment, as in Lambda)."""
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {name: os.environ.get(name) for name in names}
    with embedded_backend(plain_moto=not fast_get_records) as endpoint:
        os.environ.update(dict(zip(names, (endpoint, "test", "test", REGION), strict=True)))
        try:
            yield endpoint
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


async def _create_stream(kinesis: Any, name: str, shards: int = 1) -> None:
    await kinesis.create_stream(StreamName=name, ShardCount=shards)
    waiter = kinesis.get_waiter("stream_exists")
    await waiter.wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})


async def _latency(kinesis: Any, poll_interval: float, probes: int) -> list[float]:
    stream = f"latency-{str(poll_interval).replace('.', '-')}"
    await _create_stream(kinesis, stream)
    arrived: dict[str, float] = {}
    seen = asyncio.Event()

    async def invoke(function: str, event: KinesisBatchEvent) -> None:
        now = time.perf_counter()
        for record in event["Records"]:
            arrived[record["kinesis"]["partitionKey"]] = now
        seen.set()

    mappings = EventSourceMappings(
        _service(stream, 1000, "LATEST"), invoke, poll_interval=poll_interval
    )
    await mappings.start()
    latencies: list[float] = []
    try:
        for probe in range(probes):
            # a random phase against the poll loop, as independent producers have
            await asyncio.sleep(random.uniform(0, poll_interval))
            key = f"probe-{probe}"
            sent = time.perf_counter()
            await kinesis.put_records(
                StreamName=stream, Records=[{"PartitionKey": key, "Data": b"x"}]
            )
            while key not in arrived:
                seen.clear()
                await asyncio.wait_for(seen.wait(), poll_interval * 5 + 5)
            latencies.append(arrived[key] - sent)
    finally:
        await mappings.stop()
    return latencies


async def _floor(kinesis: Any, probes: int) -> list[float]:
    """PutRecords then one GetRecords from an iterator taken before the put."""
    stream = "latency-floor"
    await _create_stream(kinesis, stream)
    shard = (await kinesis.list_shards(StreamName=stream))["Shards"][0]["ShardId"]
    iterator = (
        await kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType="LATEST"
        )
    )["ShardIterator"]
    rounds: list[float] = []
    for _ in range(probes):
        sent = time.perf_counter()
        await kinesis.put_records(StreamName=stream, Records=[{"PartitionKey": "k", "Data": b"x"}])
        reply = await kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        rounds.append(time.perf_counter() - sent)
        iterator = reply["NextShardIterator"]
    return rounds


async def _fill(kinesis: Any, stream: str, count: int) -> None:
    await _create_stream(kinesis, stream, THROUGHPUT_SHARDS)
    payload = b'{"MessageType":"NESClick","Message":{},"EventId":"e","SentAt":"t"}'
    for start in range(0, count, PUT_RECORDS_MAX):
        size = min(PUT_RECORDS_MAX, count - start)
        reply = await kinesis.put_records(
            StreamName=stream,
            Records=[
                {"PartitionKey": f"p{(start + i) % 64}", "Data": payload} for i in range(size)
            ],
        )
        assert reply["FailedRecordCount"] == 0


async def _bare_read(kinesis: Any, stream: str, count: int) -> float:
    """A GetRecords loop per shard, all shards at once, until every record is read."""
    shards = [s["ShardId"] for s in (await kinesis.list_shards(StreamName=stream))["Shards"]]
    read = 0

    async def drain(shard: str) -> None:
        nonlocal read
        iterator = (
            await kinesis.get_shard_iterator(
                StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )
        )["ShardIterator"]
        while True:
            reply = await kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            read += len(reply["Records"])
            iterator = reply["NextShardIterator"]
            if not reply["Records"] and not reply.get("MillisBehindLatest"):
                return

    started = time.perf_counter()
    await asyncio.gather(*(drain(shard) for shard in shards))
    assert read == count, (read, count)
    return count / (time.perf_counter() - started)


async def _through_trigger(
    stream: str, count: int, batch_size: int = 1000
) -> tuple[float, float, int]:
    """(records/s once started, start-up seconds, invocations): start-up (clients, lease table,
    leases) is a one-off, reported apart from the rate."""
    delivered = 0
    done = asyncio.Event()
    invocations = 0

    async def invoke(function: str, event: KinesisBatchEvent) -> None:
        nonlocal delivered, invocations
        invocations += 1
        delivered += len(event["Records"])
        if delivered >= count:
            done.set()

    mappings = EventSourceMappings(
        _service(stream, batch_size, "TRIM_HORIZON"), invoke, poll_interval=1.0
    )
    begun = time.perf_counter()
    await mappings.start()
    started = time.perf_counter()
    try:
        await asyncio.wait_for(done.wait(), 300)
    finally:
        elapsed = time.perf_counter() - started
        await mappings.stop()
    return count / elapsed, started - begun, invocations


def _row(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"  {label:<34} mean {statistics.mean(values) * 1000:7.1f} ms   "
        f"p50 {statistics.median(values) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
        f"n={len(values)}"
    )


async def _latencies(quick: bool) -> dict[str, Any]:
    session = aiobotocore.session.get_session()
    async with session.create_client("kinesis", region_name=REGION) as kinesis:
        probes_slow, probes_fast = (3, 10) if quick else (30, 60)
        floor = await _floor(kinesis, probes_fast)
        slow = await _latency(kinesis, 1.0, probes_slow)
        fast = await _latency(kinesis, 0.1, probes_fast)
    print("PutRecords -> handler invocation latency (AWS: about 0.5 s mean at 1 s polling)")
    print(_row("baseline: PutRecords + GetRecords", floor))
    print(_row("trigger, poll interval 1.0 s", slow))
    print(_row("trigger, poll interval 0.1 s", fast))
    ms = [[value * 1000 for value in series] for series in (floor, slow, fast)]
    labels = ("baseline: PutRecords + GetRecords", "trigger, poll 1.0 s", "trigger, poll 0.1 s")
    return dict(zip(labels, ms, strict=True))


async def _throughput(count: int, label: str) -> dict[str, float]:
    session = aiobotocore.session.get_session()
    async with session.create_client("kinesis", region_name=REGION) as kinesis:
        await _fill(kinesis, "throughput", count)
    raw = aiobotocore.session.get_session()
    raw_kinesis_parsing(raw)  # parsed as the trigger's own client parses
    async with raw.create_client("kinesis", region_name=REGION) as raw_kinesis:
        bare = await _bare_read(raw_kinesis, "throughput", count)
    rate, startup, invocations = await _through_trigger("throughput", count)
    print(f"  {label}")
    print(f"    baseline: bare GetRecords loops    {bare:10,.0f} records/s")
    print(
        f"    through the trigger              {rate:10,.0f} records/s "
        f"({invocations} invocations, after a {startup:.2f} s start)"
    )
    return {"bare_per_s": bare, "trigger_per_s": rate, "invocations": invocations}


async def _batch_sweep(count: int) -> list[dict[str, float]]:
    """Records per second through the trigger against its batch size (embedded backend), each
    size on a stream of its own (a stream's checkpoints would carry over)."""
    session = aiobotocore.session.get_session()
    steps: list[dict[str, float]] = []
    for batch_size in BATCH_SIZES:
        records = min(count, max(200, batch_size * 20))
        stream = f"batch-{batch_size}"
        async with session.create_client("kinesis", region_name=REGION) as kinesis:
            await _fill(kinesis, stream, records)
        rate, _, invocations = await _through_trigger(stream, records, batch_size)
        print(
            f"    batch size {batch_size:>6,}: {rate:10,.0f} records/s "
            f"({records:,} records, {invocations} invocations)"
        )
        steps.append({"batch_size": batch_size, "records": records, "per_s": rate})
    return steps


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.stream_trigger", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer probes and records")
    args = parser.parse_args(argv)
    count = 5_000 if args.quick else 50_000
    with _backend(fast_get_records=False):
        latencies = asyncio.run(_latencies(args.quick))
        print(
            f"Throughput, {count:,} records on {THROUGHPUT_SHARDS} shards, batch size 1,000, "
            "no-op handler (target >= 10,000/s):"
        )
        plain = asyncio.run(
            _throughput(count, "plain moto (--plain-moto: moto's generic serializer)")
        )
    with _backend(fast_get_records=True):
        embedded = asyncio.run(
            _throughput(
                count,
                "embedded backend as tumble local runs it (the moto_kinesis patch's GetRecords)",
            )
        )
        print("Records/s against batch size (embedded backend):")
        sweep = asyncio.run(_batch_sweep(count))
    summaries = {
        key: {"mean_ms": statistics.mean(v), "p50_ms": statistics.median(v), "count": len(v)}
        for key, v in latencies.items()
    }
    results.record(
        "stream_trigger",
        parameters={"records": count, "shards": THROUGHPUT_SHARDS, "batch_sizes": BATCH_SIZES},
        figures={
            "latency": summaries,
            "plain_moto": plain,
            "embedded": embedded,
            "by_batch_size": sweep,
        },
        samples=latencies,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
