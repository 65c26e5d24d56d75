"""The GetRecords patch answers exactly as moto does, over HTTP on the session's embedded
backend (in this process), and keeps moto's errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gateway_adapter.embedded.patches import moto_kinesis

STREAM = "patch-test"


@pytest.fixture
def kinesis(aws_client: Callable[[str], Any]) -> Iterator[Any]:
    """Installed only for the test: the embedded backend of the session runs in this process."""
    moto_kinesis.install()
    try:
        yield aws_client("kinesis")
    finally:
        moto_kinesis.uninstall()
    assert not moto_kinesis.installed()


def create_stream(kinesis: Any) -> str:
    kinesis.create_stream(StreamName=STREAM, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(
        StreamName=STREAM, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
    )
    shard: str = kinesis.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    return shard


def _read(kinesis, shard: str, after: str | None = None, limit: int = 100) -> dict:
    kwargs = (
        {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
        if after
        else {"ShardIteratorType": "TRIM_HORIZON"}
    )
    iterator = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard, **kwargs)
    reply = kinesis.get_records(ShardIterator=iterator["ShardIterator"], Limit=limit)
    reply.pop("ResponseMetadata")
    reply.pop("NextShardIterator")  # iterators encode the same position either way
    return reply


def test_fast_get_records_answers_exactly_as_moto_does(kinesis):
    shard = create_stream(kinesis)
    records = [
        {"PartitionKey": f"k{i}", "Data": f"\u00e9v\u00e9nement {i}".encode()} for i in range(30)
    ]
    assert kinesis.put_records(StreamName=STREAM, Records=records)["FailedRecordCount"] == 0
    first = kinesis.describe_stream(StreamName=STREAM)
    assert first["StreamDescription"]["StreamStatus"] == "ACTIVE"
    moto_kinesis.uninstall()
    sequences = [r["SequenceNumber"] for r in _read(kinesis, shard)["Records"]]
    expected = [
        _read(kinesis, shard),
        _read(kinesis, shard, sequences[9], 5),
        _read(kinesis, shard, sequences[-1]),
    ]
    moto_kinesis.install()
    assert moto_kinesis.installed()
    got = [
        _read(kinesis, shard),
        _read(kinesis, shard, sequences[9], 5),
        _read(kinesis, shard, sequences[-1]),
    ]
    assert got == expected
    assert len(got[0]["Records"]) == 30
    assert got[0]["Records"][3]["Data"] == "\u00e9v\u00e9nement 3".encode()
    assert got[2]["Records"] == []


def test_fast_get_records_keeps_moto_errors(kinesis):
    shard = create_stream(kinesis)
    iterator = kinesis.get_shard_iterator(
        StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    kinesis.delete_stream(StreamName=STREAM)
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.get_records(ShardIterator=iterator)
