"""Fixtures for the event source mapping: a stream on the embedded backend, a Service with one
stream trigger, and a recording `invoke` that stands in for a function."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway_adapter.esm import EventSourceMappings
from gateway_adapter.service import Function, Service, StreamTrigger

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
STREAM = "esm-test"
STREAM_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{STREAM}"
POLL = 0.05


def make_service(*triggers: StreamTrigger) -> Service:
    functions = {
        t.function: Function(t.function, f"handlers.{t.function}", 6, 128, {}) for t in triggers
    }
    return Service(
        name="esmtest",
        path=Path("serverless.yml"),
        stage="test",
        region=REGION,
        account_id=ACCOUNT,
        route_selection_expression="$request.body.action",
        functions=functions,
        routes={},
        triggers=triggers,
        resources={},
        document={},
    )


def trigger(**settings: Any) -> StreamTrigger:
    values: dict[str, Any] = {
        "function": "consume",
        "stream_arn": STREAM_ARN,
        "starting_position": "TRIM_HORIZON",
        "batch_size": 100,
    }
    values.update(settings)
    return StreamTrigger(**values)


@dataclass
class Recorder:
    """An `invoke` that records every event; `behaviour(event, call)` decides its answer."""

    behaviour: Callable[[dict[str, Any], int], Any] | None = None
    calls: list[dict[str, Any]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, function: str, event: dict[str, Any]) -> Any:
        self.calls.append(event)
        self.changed.set()
        if self.behaviour is None:
            return None
        outcome = self.behaviour(event, len(self.calls))
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def sequences(self) -> list[list[str]]:
        return [[r["kinesis"]["sequenceNumber"] for r in e["Records"]] for e in self.calls]

    def datas(self) -> list[str]:
        return [
            base64.b64decode(r["kinesis"]["data"]).decode()
            for e in self.calls
            for r in e["Records"]
        ]

    async def until(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; calls so far: {self.sequences()}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))


@pytest.fixture
def kinesis(aws_client: Callable[[str], Any]) -> Any:
    return aws_client("kinesis")


def create_stream(kinesis: Any, shards: int = 1, name: str = STREAM) -> list[str]:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(
        StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
    )
    return [s["ShardId"] for s in kinesis.list_shards(StreamName=name)["Shards"]]


def put(kinesis: Any, items: list[tuple[str, str]], name: str = STREAM) -> list[dict[str, Any]]:
    """PutRecords of (partition key, data) pairs; returns the per-record results."""
    reply = kinesis.put_records(
        StreamName=name,
        Records=[{"PartitionKey": key, "Data": data.encode()} for key, data in items],
    )
    assert reply["FailedRecordCount"] == 0
    return reply["Records"]


def hash_key_for_shard(kinesis: Any, shard_id: str, name: str = STREAM) -> str:
    shard = next(
        s for s in kinesis.list_shards(StreamName=name)["Shards"] if s["ShardId"] == shard_id
    )
    return shard["HashKeyRange"]["StartingHashKey"]


async def run_mappings(
    service: Service,
    invoke: Callable[[str, dict[str, Any]], Awaitable[Any]],
    body: Callable[[EventSourceMappings], Awaitable[None]],
    **options: Any,
) -> None:
    mappings = EventSourceMappings(
        service,
        invoke,
        poll_interval=options.pop("poll_interval", POLL),
        session=options.pop("session", None),
        lease_duration_s=options.pop("lease_duration_s", 1.5),
        stop_timeout_s=options.pop("stop_timeout_s", 5.0),
        **options,
    )
    await mappings.start()
    try:
        await body(mappings)
    finally:
        await mappings.stop()
