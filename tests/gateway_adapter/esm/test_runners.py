"""Several runners on one stream: they share its shards without ever reading one shard at the
same time, and a runner killed with SIGKILL is replaced without losing a record."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from gateway_adapter.esm import EventSourceMappings
from gateway_adapter.esm.events import KinesisBatchEvent

from .conftest import create_stream, make_service, put, trigger

ROOT = Path(__file__).resolve().parents[3]


def in_order_without_gaps(values: list[int], count: int) -> bool:
    """Each partition key's deliveries: runs of consecutive values, a replay stepping back to
    an earlier value, never a skip; every value delivered."""
    if not values or values[0] != 0 or set(values) != set(range(count)):
        return False
    return all(b == a + 1 or b <= a for a, b in itertools.pairwise(values))


@pytest.mark.slow
def test_two_runners_share_the_shards_and_never_read_one_shard_together(kinesis):
    create_stream(kinesis, 4)
    keys = [f"key-{k}" for k in range(16)]
    service = make_service(trigger(batch_size=5))
    active: dict[str, str] = {}
    overlaps: list[str] = []
    delivered: dict[str, list[int]] = defaultdict(list)
    per_runner: dict[str, set[str]] = defaultdict(set)

    def invoker(name: str):
        async def invoke(function: str, event: KinesisBatchEvent) -> None:
            import base64

            shard = event["Records"][0]["eventID"].split(":")[0]
            if active.get(shard) not in (None, name):
                overlaps.append(f"{shard}: {active[shard]} and {name}")
            active[shard] = name
            per_runner[name].add(shard)
            await asyncio.sleep(0.01)
            for record in event["Records"]:
                key, index = base64.b64decode(record["kinesis"]["data"]).decode().split("/")
                delivered[key].append(int(index))
            del active[shard]

        return invoke

    async def scenario() -> None:
        first = EventSourceMappings(
            service, invoker("a"), poll_interval=0.05, owner_id="a", lease_duration_s=1.0
        )
        second = EventSourceMappings(
            service, invoker("b"), poll_interval=0.05, owner_id="b", lease_duration_s=1.0
        )
        await first.start()
        try:
            assert len(first.workers) == 4  # alone, it takes every shard
            await second.start()
            try:
                for round_ in range(20):
                    await asyncio.to_thread(put, kinesis, [(k, f"{k}/{round_}") for k in keys])
                    await asyncio.sleep(0.1)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    balanced = len(first.workers) == 2 and len(second.workers) == 2
                    if balanced and all(len(set(v)) == 20 for v in delivered.values()):
                        break
                    await asyncio.sleep(0.1)
                assert (len(first.workers), len(second.workers)) == (2, 2)
                assert not set(first.workers) & set(second.workers)
            finally:
                await second.stop()
        finally:
            await first.stop()

    asyncio.run(scenario())
    assert not overlaps
    assert per_runner["b"]  # the second runner did get shards
    assert len(delivered) == 16
    for key in keys:
        assert in_order_without_gaps(delivered[key], 20), (key, delivered[key])


def _runner(out: Path, owner: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.gateway_adapter.esm.runner",
            "--out",
            str(out),
            "--owner",
            owner,
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    return process


def _lines(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.endswith("}")]


def _wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_9_and_restart_loses_nothing_and_keeps_order_per_key(kinesis, tmp_path):
    create_stream(kinesis, 2)
    keys = [f"key-{k}" for k in range(6)]
    count = 60
    for start in range(0, count, 10):
        put(kinesis, [(k, f"{k}/{i}") for i in range(start, start + 10) for k in keys])
    out = tmp_path / "delivered.jsonl"
    first = _runner(out, "first")
    try:
        _wait_for(lambda: len(_lines(out)) >= 100, 30)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at = len(_lines(out))
    assert killed_at < count * len(keys)  # it died mid-stream
    second = _runner(out, "second")
    try:
        _wait_for(lambda: len({d["data"] for d in _lines(out)}) == count * len(keys), 30)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(15) == 0
    lines = _lines(out)
    by_key: dict[str, list[int]] = defaultdict(list)
    for line in lines:
        key, index = line["data"].split("/")
        by_key[key].append(int(index))
    for key in keys:
        assert in_order_without_gaps(by_key[key], count), (key, by_key[key])
    repeated = len(lines) - count * len(keys)
    print(f"killed after {killed_at} deliveries; {repeated} repeated after the restart")
    # only what was in flight or read but not committed repeats: at most a batch per shard
    assert 0 <= repeated <= 2 * 10
    assert {line["owner"] for line in lines[killed_at:]} == {"second"}


def test_a_runner_whose_lease_was_taken_stops_reading_that_shard(kinesis, aws_client):
    create_stream(kinesis, 1)
    put(kinesis, [("k", "before")])
    seen: list[str] = []

    async def invoke(function: str, event: KinesisBatchEvent) -> None:
        import base64

        seen.extend(base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"])

    async def scenario() -> None:
        mappings = EventSourceMappings(
            make_service(trigger()), invoke, poll_interval=0.05, owner_id="a", lease_duration_s=0.6
        )
        await mappings.start()
        try:
            while not seen:
                await asyncio.sleep(0.02)
            [worker] = mappings.workers.values()
            # another runner takes the lease (as after an expiry), bumping the counter
            await asyncio.to_thread(
                aws_client("dynamodb").update_item,
                TableName="esmtest-test-esm-leases",
                Key={"leaseKey": {"S": worker.lease.key}},
                UpdateExpression="SET leaseOwner = :b, leaseCounter = leaseCounter + :n, "
                "leaseExpiry = :far",
                ExpressionAttributeValues={
                    ":b": {"S": "b"},
                    ":n": {"N": "100"},
                    ":far": {"N": str(time.time() + 600)},
                },
            )
            deadline = time.monotonic() + 10
            while not worker.lost:
                assert time.monotonic() < deadline, "the lost lease went unnoticed"
                await asyncio.sleep(0.05)
            await asyncio.to_thread(put, kinesis, [("k", "after")])
            await asyncio.sleep(0.5)  # ten poll intervals: "after" is b's to deliver now
        finally:
            await mappings.stop()

    asyncio.run(scenario())
    assert seen == ["before"]
    row = aws_client("dynamodb").scan(TableName="esmtest-test-esm-leases")["Items"]
    assert [r["leaseOwner"]["S"] for r in row if "shardId" in r] == ["b"]  # stop() left it alone
