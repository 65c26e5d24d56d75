"""The Kinesis path against the embedded backend, directly and through a fault-injecting proxy."""

from __future__ import annotations

import asyncio
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from gateway_adapter.embedded.backend import free_port
from messages import Event, Source
from producer.batching import RetryPolicy
from producer.cli import produce_main
from producer.deadletter import DeadLetter, read_dead_letters
from producer.kinesis import KinesisPath
from producer.shipper import Shipper
from producer.simulate import nes_click, run_players

from .conftest import STREAM, FaultProxy, read_stream

FAST = RetryPolicy(max_attempts=6, base_s=0.005, cap_s=0.05)


def client_for(endpoint: str) -> Any:
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


async def ship(path: KinesisPath, events: list[Event], timeout_s: float = 20.0) -> Shipper:
    shipper = Shipper(path, None)
    shipper.start()
    for event in events:
        await shipper.submit(event)
    await shipper.close(timeout_s)
    return shipper


def presses(count: int, seed: int = 7) -> list[Event]:
    events: list[Event] = []

    async def collect(event: Event) -> None:
        events.append(event)

    asyncio.run(run_players(4, 1e6, seed, collect, asyncio.Event(), limit=count))
    return events


def by_color(records: list[tuple[str, Event]]) -> dict[str, list[str]]:
    order: dict[str, list[str]] = defaultdict(list)
    for key, event in records:
        order[key].append(event.event_id)
    return order


def test_presses_land_once_each_in_order_per_color(kinesis: Any, fresh_aws: str):
    events = presses(150)
    path = KinesisPath(client_for(fresh_aws), STREAM, linger_s=0.01)
    shipper = asyncio.run(ship(path, events))
    records = read_stream(kinesis)
    assert len(records) == len(events) == shipper.summary().kinesis_sent
    expected = by_color([(e.message["color"], e) for e in events])
    assert by_color(records) == expected
    assert all(e.message["source"] == Source.KINESIS for _, e in records)
    assert path.stats.calls < len(events) / 50  # batched, not one call per press


def test_partial_failures_resend_only_failed_entries_and_lose_nothing(kinesis: Any, fresh_aws: str):
    rng = random.Random(3)
    failed_once: set[str] = set()

    def fail(event: Event) -> bool:
        # A third of the records fail on their first try, some on their second as well.
        tries = sum(1 for i in proxy.received if i == event.event_id)
        if (tries == 1 and rng.random() < 0.33) or (tries == 2 and event.event_id in failed_once):
            failed_once.add(event.event_id)
            return rng.random() < 0.5 or tries == 1
        return False

    proxy = FaultProxy(fresh_aws, fail).start()
    try:
        events = presses(100)
        path = KinesisPath(client_for(proxy.url), STREAM, linger_s=0.01, policy=FAST)
        shipper = asyncio.run(ship(path, events))
    finally:
        proxy.stop()
    summary = shipper.summary()
    assert proxy.failed, "the proxy injected no failure"
    # Only the failed entries came back: every extra arrival at the proxy is one failure.
    assert len(proxy.received) == len(events) + len(proxy.failed)
    assert summary.retried == len(proxy.failed) and summary.spilled == 0
    records = read_stream(kinesis)
    assert sorted(e.event_id for _, e in records) == sorted(e.event_id for e in events)


def test_what_keeps_failing_is_spilled_and_replays(
    kinesis: Any, fresh_aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    proxy = FaultProxy(fresh_aws, lambda event: event.message["color"] == "red").start()
    dead = tmp_path / "dead.jsonl"
    try:
        events = presses(20)
        path = KinesisPath(
            client_for(proxy.url), STREAM, linger_s=0.0, policy=FAST, dead_letter=DeadLetter(dead)
        )
        shipper = asyncio.run(ship(path, events))
    finally:
        proxy.stop()
    reds = [e.event_id for e in events if e.message["color"] == "red"]
    spilled = list(read_dead_letters(dead))
    assert [s.event.event_id for s in spilled] == reds
    assert {s.error for s in spilled} == {"ProvisionedThroughputExceededException"}
    assert {s.attempts for s in spilled} == {FAST.max_attempts}
    assert shipper.summary().spilled == len(reds)
    assert len(read_stream(kinesis)) == len(events) - len(reds)

    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_aws)
    code = produce_main(["--replay", str(dead), "--dead-letter", str(dead), "--linger-ms", "0"])
    assert code == 0
    records = read_stream(kinesis)
    replayed = [e for _, e in records if e.event_id in set(reds)]
    assert [e.event_id for e in replayed] == reds
    original = {e.event_id: e for e in events}
    assert all(e.sent_at == original[e.event_id].sent_at for e in replayed)  # same SentAt
    assert dead.read_text() == ""


def test_a_flush_that_runs_out_of_time_spills_everything_left(tmp_path: Path, aws_endpoint: str):
    dead = tmp_path / "dead.jsonl"
    nowhere = f"http://127.0.0.1:{free_port()}"
    path = KinesisPath(
        client_for(nowhere),
        STREAM,
        policy=RetryPolicy(max_attempts=1000, base_s=0.01, cap_s=0.05),
        dead_letter=DeadLetter(dead),
    )
    events = [nes_click("blue", "A") for _ in range(30)]
    shipper = asyncio.run(ship(path, events, timeout_s=0.5))
    assert shipper.summary().spilled == 30 and shipper.summary().kinesis_sent == 0
    rows = [json.loads(line) for line in dead.read_text().splitlines()]
    assert len(rows) == 30 and all("FlushTimeout" in row["error"] for row in rows)


def test_a_full_buffer_makes_submit_wait(kinesis: Any, fresh_aws: str):
    async def scenario() -> tuple[bool, int]:
        path = KinesisPath(client_for(fresh_aws), STREAM, linger_s=10.0, capacity=5)
        shipper = Shipper(path, None)
        for _ in range(5):
            await shipper.submit(nes_click("red", "A"))
        sixth = asyncio.create_task(shipper.submit(nes_click("red", "B")))
        await asyncio.sleep(0.05)
        waited = not sixth.done()
        shipper.start()  # the path drains (the buffer is full, so linger doesn't hold it)
        await asyncio.wait_for(sixth, 10)
        await shipper.close(10)
        return waited, shipper.summary().kinesis_sent

    assert asyncio.run(scenario()) == (True, 6)


def test_an_unwritable_dead_letter_file_is_a_loud_counted_loss(
    tmp_path: Path, aws_endpoint: str, capsys: pytest.CaptureFixture[str]
):
    path = KinesisPath(
        client_for(f"http://127.0.0.1:{free_port()}"),
        STREAM,
        policy=RetryPolicy(max_attempts=1),
        dead_letter=DeadLetter(tmp_path),  # a directory: cannot be appended to
    )
    shipper = asyncio.run(ship(path, [nes_click("red", "A"), nes_click("red", "B")]))
    summary = shipper.summary()
    assert (summary.spilled, summary.lost) == (0, 2)
    assert "LOST 2" in "\n".join(summary.lines())
    assert "LOST" in capsys.readouterr().err
