"""The poll loop against the embedded Kinesis: order, batching, starting positions, shards."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from gateway_adapter.esm import EventSourceMappings
from gateway_adapter.esm.decisions import MAX_PAYLOAD_BYTES
from gateway_adapter.esm.events import KinesisBatchEvent

from .conftest import (
    SEQUENCES,
    STREAM,
    Recorder,
    create_stream,
    hash_key_for_shard,
    make_service,
    put,
    run_mappings,
    trigger,
)

LEASES = "esmtest-test-esm-leases"


def go(settings: dict[str, Any], recorder: Any, body, **options: Any) -> None:
    asyncio.run(run_mappings(make_service(trigger(**settings)), recorder, body, **options))


def lease_rows(aws_client) -> dict[str, dict[str, Any]]:
    items = aws_client("dynamodb").scan(TableName=LEASES)["Items"]
    return {i["shardId"]["S"]: i for i in items if "shardId" in i}


@pytest.mark.kinesis_mock
def test_records_arrive_in_shard_order_in_batches_of_batch_size(kinesis, aws_client):
    create_stream(kinesis)
    sent = [f"r{i}" for i in range(250)]
    for start in range(0, 250, 50):
        put(kinesis, [(f"key-{i % 7}", sent[i]) for i in range(start, start + 50)])
    recorder = Recorder()

    async def body(_):
        await recorder.until(lambda: len(recorder.datas()) >= 250)

    go({"batch_size": 7}, recorder, body)
    assert recorder.datas() == sent
    assert max(len(e["Records"]) for e in recorder.calls) == 7
    checkpoint = lease_rows(aws_client)["shardId-000000000000"]["checkpoint"]["S"]
    assert SEQUENCES.ordinal(checkpoint) == "250"


def test_backlog_is_read_back_to_back_not_once_per_poll_interval(kinesis):
    create_stream(kinesis)
    put(kinesis, [("k", f"r{i}") for i in range(30)])
    recorder = Recorder()

    async def body(_):
        started = time.monotonic()
        await recorder.until(lambda: len(recorder.calls) >= 30)
        assert time.monotonic() - started < 10  # 30 polls at 1 s each would take 30 s

    go({"batch_size": 1}, recorder, body, poll_interval=1.0)


def test_batching_window_gathers_records_that_arrive_within_it(kinesis):
    create_stream(kinesis)
    recorder = Recorder()

    async def body(_):
        await asyncio.to_thread(put, kinesis, [("k", "a"), ("k", "b")])
        await asyncio.sleep(0.2)
        await asyncio.to_thread(put, kinesis, [("k", "c")])
        await recorder.until(lambda: len(recorder.datas()) >= 3)

    go({"maximum_batching_window_s": 1.0, "starting_position": "LATEST"}, recorder, body)
    assert recorder.sequences() == [["1", "2", "3"]]


def test_batches_stay_under_the_6_mb_payload_cap(kinesis):
    create_stream(kinesis)
    for i in range(7):
        put(kinesis, [("k", f"{i}" * 1_000_000)])
    recorder = Recorder()

    async def body(_):
        await recorder.until(lambda: sum(len(e["Records"]) for e in recorder.calls) >= 7, 30)

    go({"batch_size": 100}, recorder, body)
    sizes = [len(json.dumps(e, separators=(",", ":"))) for e in recorder.calls]
    assert len(sizes) > 1
    assert max(sizes) <= MAX_PAYLOAD_BYTES
    assert [len(e["Records"]) for e in recorder.calls] == [4, 3]


@pytest.mark.kinesis_mock
def test_latest_skips_what_was_there_before_the_mapping(kinesis):
    create_stream(kinesis)
    put(kinesis, [("k", "before")])
    recorder = Recorder()

    async def body(_):
        await asyncio.to_thread(put, kinesis, [("k", "after")])
        await recorder.until(lambda: recorder.datas() == ["after"])

    go({"starting_position": "LATEST"}, recorder, body)


@pytest.mark.kinesis_mock
def test_at_timestamp_starts_at_the_first_record_from_then(kinesis):
    create_stream(kinesis)
    put(kinesis, [("k", "early")])
    time.sleep(0.05)
    moment = time.time()
    time.sleep(0.05)
    put(kinesis, [("k", "late")])
    recorder = Recorder()

    async def body(_):
        await recorder.until(lambda: len(recorder.datas()) >= 1)
        await asyncio.sleep(0.2)

    settings = {"starting_position": "AT_TIMESTAMP", "starting_position_timestamp": moment}
    go(settings, recorder, body)
    assert recorder.datas() == ["late"]


@pytest.mark.kinesis_mock
def test_renewed_iterators_resume_after_the_last_record(kinesis):
    create_stream(kinesis)
    put(kinesis, [("k", f"r{i}") for i in range(20)])
    recorder = Recorder()

    async def body(_):
        await recorder.until(lambda: len(recorder.datas()) >= 20)
        await asyncio.to_thread(put, kinesis, [("k", f"s{i}") for i in range(5)])
        await recorder.until(lambda: len(recorder.datas()) >= 25)
        await asyncio.sleep(0.2)

    # every iterator is treated as expired, so each read starts from a fresh one
    go({"batch_size": 3}, recorder, body, iterator_lifetime_s=0.0)
    assert recorder.datas() == [f"r{i}" for i in range(20)] + [f"s{i}" for i in range(5)]


def test_two_shards_are_processed_in_parallel(kinesis):
    shards = create_stream(kinesis, 2)
    for shard in shards:
        kinesis.put_record(
            StreamName=STREAM,
            PartitionKey="p",
            Data=shard.encode(),
            ExplicitHashKey=hash_key_for_shard(kinesis, shard),
        )
    started: dict[str, asyncio.Event] = {}

    async def invoke(function: str, event: KinesisBatchEvent) -> None:
        shard = event["Records"][0]["eventID"].split(":")[0]
        started.setdefault(shard, asyncio.Event()).set()
        for other in shards:  # each batch waits until the other shard's batch is running too
            await asyncio.wait_for(started.setdefault(other, asyncio.Event()).wait(), 10)

    async def body(_):
        async def both() -> None:
            for shard in shards:
                await started.setdefault(shard, asyncio.Event()).wait()

        await asyncio.wait_for(both(), 10)

    go({}, invoke, body)


def test_parallelization_factor_keeps_order_per_partition_key(kinesis, aws_client):
    create_stream(kinesis)
    keys = [f"key-{k}" for k in range(8)]
    put(kinesis, [(keys[i % 8], f"{keys[i % 8]}/{i}") for i in range(120)])
    delivered: list[str] = []
    running = 0
    most = 0

    async def invoke(function: str, event: KinesisBatchEvent) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.03)
        import base64

        delivered.extend(base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"])
        running -= 1

    async def body(_):
        while len(delivered) < 120:
            await asyncio.sleep(0.05)

    go({"batch_size": 5, "parallelization_factor": 3}, invoke, body)
    assert most == 3
    for key in keys:
        mine = [int(d.split("/")[1]) for d in delivered if d.startswith(key + "/")]
        assert mine == sorted(mine)
        assert len(mine) == 15
    checkpoint = lease_rows(aws_client)["shardId-000000000000"]["checkpoint"]["S"]
    assert SEQUENCES.ordinal(checkpoint) == "120"


@pytest.mark.kinesis_mock
def test_a_parent_shard_finishes_before_its_children_start(kinesis, aws_client):
    """After a split, the children's leases appear with their parent, and no child is read
    while the parent is still being read. moto limits what more can be shown: it keeps routing
    records to the closed parent (it matches shards by hash range without skipping closed
    ones), so the children stay empty and their delivery cannot be observed here."""
    create_stream(kinesis)
    put(kinesis, [("k", f"a{i}") for i in range(4)])
    calls: list[str] = []

    async def invoke(function: str, event: KinesisBatchEvent) -> None:
        calls.append(event["Records"][0]["eventID"].split(":")[0])
        if len(calls) <= 6:
            raise RuntimeError("hold the parent's batch while the stream is resharded")

    snapshots: list[set[str]] = []

    async def body(mappings: EventSourceMappings) -> None:
        while not calls:
            await asyncio.sleep(0.02)
        await asyncio.to_thread(
            kinesis.split_shard,
            StreamName=STREAM,
            ShardToSplit="shardId-000000000000",
            NewStartingHashKey=str(2**127),
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            running = {
                w.lease.shard_id
                for k, w in mappings.workers.items()
                if not mappings._tasks[k].done()
            }
            snapshots.append(running)
            if running == {"shardId-000000000001", "shardId-000000000002"}:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"children never started: {snapshots[-5:]}")

    go({"batch_size": 10}, invoke, body)
    assert calls == ["shardId-000000000000"] * 7
    assert not any("shardId-000000000000" in s and len(s) > 1 for s in snapshots)
    rows = lease_rows(aws_client)
    assert rows["shardId-000000000000"]["checkpoint"]["S"] == "SHARD_END"
    for child in ("shardId-000000000001", "shardId-000000000002"):
        assert [p["S"] for p in rows[child]["parentShardIds"]["L"]] == ["shardId-000000000000"]
        assert rows[child]["checkpoint"]["S"] == "TRIM_HORIZON"


def test_stop_lets_the_in_flight_batch_finish_and_releases_the_lease(kinesis, aws_client):
    create_stream(kinesis)
    put(kinesis, [("k", "r1"), ("k", "r2")])
    finished: list[str] = []
    entered = asyncio.Event()

    async def invoke(function: str, event: KinesisBatchEvent) -> None:
        entered.set()
        await asyncio.sleep(0.5)
        finished.append(SEQUENCES.ordinal(event["Records"][-1]["kinesis"]["sequenceNumber"]))

    async def scenario() -> None:
        mappings = EventSourceMappings(
            make_service(trigger()), invoke, poll_interval=0.05, lease_duration_s=3
        )
        await mappings.start()
        await asyncio.wait_for(entered.wait(), 10)
        await mappings.stop()

    asyncio.run(scenario())
    assert finished == ["2"]
    row = lease_rows(aws_client)["shardId-000000000000"]
    assert SEQUENCES.ordinal(row["checkpoint"]["S"]) == "2"
    assert "leaseOwner" not in row


def test_disabled_triggers_start_nothing(kinesis, aws_client):
    async def scenario() -> None:
        mappings = EventSourceMappings(make_service(trigger(enabled=False)), Recorder())
        await mappings.start()
        assert mappings.workers == {}
        await mappings.stop()

    asyncio.run(scenario())
    assert LEASES not in aws_client("dynamodb").list_tables()["TableNames"]


@pytest.mark.parametrize("option", [{"poll_interval": 0}, {"lease_duration_s": -1}])
def test_bad_settings_are_refused(option):
    with pytest.raises(ValueError, match="must be positive"):
        EventSourceMappings(make_service(trigger()), Recorder(), **option)


def test_a_missing_stream_fails_start(fresh_aws):
    async def scenario() -> None:
        mappings = EventSourceMappings(make_service(trigger()), Recorder(), poll_interval=0.05)
        try:
            await mappings.start()
        finally:
            await mappings.stop()

    with pytest.raises(Exception, match="ResourceNotFound"):
        asyncio.run(scenario())
