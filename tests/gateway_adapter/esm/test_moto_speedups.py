from __future__ import annotations

import pytest

from gateway_adapter.esm import moto_speedups

from .conftest import STREAM, create_stream, put


@pytest.fixture
def speedup():
    """Installed only for the test: the embedded backend of the session runs in this process."""
    moto_speedups.install()
    try:
        yield
    finally:
        moto_speedups.uninstall()
    assert not moto_speedups.installed()


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


def test_fast_get_records_answers_exactly_as_moto_does(kinesis, speedup):
    shard = create_stream(kinesis)[0]
    put(kinesis, [(f"k{i}", f"\u00e9v\u00e9nement {i}") for i in range(30)])
    moto_speedups.uninstall()
    expected = [_read(kinesis, shard), _read(kinesis, shard, "10", 5), _read(kinesis, shard, "30")]
    moto_speedups.install()
    assert moto_speedups.installed()
    got = [_read(kinesis, shard), _read(kinesis, shard, "10", 5), _read(kinesis, shard, "30")]
    assert got == expected
    assert len(got[0]["Records"]) == 30
    assert got[2]["Records"] == []


def test_fast_get_records_keeps_moto_errors(kinesis, speedup):
    shard = create_stream(kinesis)[0]
    iterator = kinesis.get_shard_iterator(
        StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    kinesis.delete_stream(StreamName=STREAM)
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.get_records(ShardIterator=iterator)
