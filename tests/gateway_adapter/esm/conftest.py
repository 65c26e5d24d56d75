"""Fixtures for the event source mapping: a stream on the embedded backend (or on kinesis-mock,
see KINESIS_BACKENDS), a Service with one stream trigger, and a recording `invoke` that stands
in for a function."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway_adapter.esm import EventSourceMappings
from gateway_adapter.esm.events import KinesisBatchEvent
from serverless_model.service import Function, Service, StreamTrigger

from .kinesis_mock import KinesisMock, unavailable

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


class SequenceNames:
    """The tests name records as moto numbers them: "1", "2", ... per shard in put order. AWS
    (and kinesis-mock) give 56-digit sequence numbers instead; on such a backend `put` notes
    each one's ordinal, recordings show ordinals, and item identifiers a test's function
    returns are turned back into the real numbers (so the trigger only ever sees real ones)."""

    def __init__(self) -> None:
        self.active = False
        self._ordinal: dict[str, str] = {}
        self._real: dict[str, str] = {}
        self._per_shard: dict[str, int] = {}

    def reset(self, active: bool) -> None:
        self.active = active
        self._ordinal.clear()
        self._real.clear()
        self._per_shard.clear()

    def note(self, results: list[dict[str, Any]]) -> None:
        if not self.active:
            return
        for result in results:
            count = self._per_shard.get(result["ShardId"], 0) + 1
            self._per_shard[result["ShardId"]] = count
            self._ordinal[result["SequenceNumber"]] = str(count)
            self._real.setdefault(str(count), result["SequenceNumber"])

    def ordinal(self, sequence_number: str) -> str:
        return self._ordinal.get(sequence_number, sequence_number)

    def real(self, name: str) -> str:
        return self._real.get(name, name)

    def to_real(self, outcome: Any) -> Any:
        failures = outcome.get("batchItemFailures") if isinstance(outcome, dict) else None
        if not self.active or not isinstance(failures, list):
            return outcome
        return {
            **outcome,
            "batchItemFailures": [
                {**f, "itemIdentifier": self.real(f["itemIdentifier"])}
                if isinstance(f, dict) and isinstance(f.get("itemIdentifier"), str)
                else f
                for f in failures
            ],
        }


SEQUENCES = SequenceNames()


@dataclass
class Recorder:
    """An `invoke` that records every event; `behaviour(event, call)` decides its answer."""

    behaviour: Callable[[KinesisBatchEvent, int], Any] | None = None
    calls: list[KinesisBatchEvent] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, function: str, event: KinesisBatchEvent) -> Any:
        self.calls.append(event)
        self.changed.set()
        if self.behaviour is None:
            return None
        outcome = self.behaviour(event, len(self.calls))
        if isinstance(outcome, BaseException):
            raise outcome
        return SEQUENCES.to_real(outcome)

    def sequences(self) -> list[list[str]]:
        return [
            [SEQUENCES.ordinal(r["kinesis"]["sequenceNumber"]) for r in e["Records"]]
            for e in self.calls
        ]

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


# The Kinesis implementations the trigger is checked against: moto's (the embedded backend)
# and kinesis-mock's (LocalStack's). Tests marked `kinesis_mock` run on both; set
# TUMBLE_ESM_BACKENDS=all to run every test that uses a stream on both.
KINESIS_BACKENDS = ("moto", "kinesis-mock")
ALL_BACKENDS_ENV = "TUMBLE_ESM_BACKENDS"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kinesis_backend" not in metafunc.fixturenames:
        return
    both = metafunc.definition.get_closest_marker("kinesis_mock") is not None
    if both or os.environ.get(ALL_BACKENDS_ENV) == "all":
        metafunc.parametrize("kinesis_backend", KINESIS_BACKENDS, indirect=True)
    else:
        metafunc.parametrize("kinesis_backend", KINESIS_BACKENDS[:1], indirect=True)


@pytest.fixture(scope="session")
def kinesis_mock() -> Iterator[KinesisMock]:
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"kinesis-mock: {reason}")
    running = KinesisMock(ACCOUNT, REGION)
    yield running
    running.stop()


@pytest.fixture
def kinesis_backend(request: pytest.FixtureRequest) -> str:
    backend: str = getattr(request, "param", KINESIS_BACKENDS[0])
    return backend


@pytest.fixture
def kinesis(
    aws_client: Callable[[str], Any],
    kinesis_backend: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Any:
    """A Kinesis client of the backend under test; DynamoDB (leases), SQS and SNS stay on the
    embedded backend. The mappings find kinesis-mock through AWS_ENDPOINT_URL_KINESIS, as any
    AWS SDK would."""
    SEQUENCES.reset(active=kinesis_backend != "moto")
    if kinesis_backend == "moto":
        return aws_client("kinesis")
    mock: KinesisMock = request.getfixturevalue("kinesis_mock")
    mock.reset(REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", mock.endpoint_url)
    return mock.client(REGION)


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
    SEQUENCES.note(reply["Records"])
    return reply["Records"]


def hash_key_for_shard(kinesis: Any, shard_id: str, name: str = STREAM) -> str:
    shard = next(
        s for s in kinesis.list_shards(StreamName=name)["Shards"] if s["ShardId"] == shard_id
    )
    return shard["HashKeyRange"]["StartingHashKey"]


async def run_mappings(
    service: Service,
    invoke: Callable[[str, KinesisBatchEvent], Awaitable[Any]],
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
