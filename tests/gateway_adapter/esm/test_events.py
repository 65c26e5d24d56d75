from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, datetime

import pytest

from gateway_adapter.esm.events import (
    EventSource,
    StreamRecord,
    event_record,
    payload_size,
    role_arn,
)

from .conftest import (
    ACCOUNT,
    REGION,
    STREAM_ARN,
    Recorder,
    create_stream,
    make_service,
    put,
    run_mappings,
    trigger,
)

SOURCE = EventSource("shardId-000000000003", STREAM_ARN, REGION, "arn:aws:iam::1:role/r")


def test_record_from_botocore_shape():
    raw = {
        "SequenceNumber": "49590338271490256608559692538361571095921575989136588898",
        "PartitionKey": "pk",
        "Data": b"\x00\xffhello",
        "ApproximateArrivalTimestamp": datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    }
    record = StreamRecord.from_kinesis(raw)
    assert record.arrival == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC).timestamp()
    assert record.sequence_number == raw["SequenceNumber"]
    event = event_record(record, SOURCE)
    assert base64.b64decode(event["kinesis"]["data"]) == b"\x00\xffhello"
    assert record.data == b"\x00\xffhello"
    assert event["eventID"] == f"shardId-000000000003:{raw['SequenceNumber']}"


def test_record_left_raw_by_the_parser():
    raw = {
        "SequenceNumber": "7",
        "PartitionKey": "pk",
        "Data": "aGk=",
        "ApproximateArrivalTimestamp": 12.5,
    }
    record = StreamRecord.from_kinesis(raw)
    assert (record.data_b64, record.data, record.arrival) == ("aGk=", b"hi", 12.5)


@pytest.mark.parametrize("key", ["k", 'p\u00e9"x\n\t', "a" * 256])
@pytest.mark.parametrize("arrival", [1.5, 1795803129.307, 0.0, 1e-7])
@pytest.mark.parametrize("identity", ["arn:aws:iam::1:role/r", "arn:aws:iam::1:role/r\u00e9"])
def test_payload_size_is_the_events_json_length(key, arrival, identity):
    source = EventSource("shardId-000000000003", STREAM_ARN, REGION, identity)
    record = StreamRecord(
        "49590338271490256608559692538361571095921575989136588898", key, "ZDA=", arrival
    )
    event = event_record(record, source)
    # its compact JSON plus the comma that separates it from the next record
    assert (
        payload_size(record, source.fixed_size) == len(json.dumps(event, separators=(",", ":"))) + 1
    )


def test_role_arn_is_the_serverless_default_role():
    assert (
        role_arn("1", "svc", "dev", "eu-west-1")
        == "arn:aws:iam::1:role/svc-dev-eu-west-1-lambdaRole"
    )


@pytest.mark.kinesis_mock
def test_event_matches_the_aws_layout_field_by_field(kinesis):
    shard = create_stream(kinesis, 1)[0]
    before = time.time()
    sent = put(kinesis, [("player-1", '{"MessageType":"lap"}'), ("player-2", "\u00e9t\u00e9")])
    recorder = Recorder()

    async def body(_):
        await recorder.until(lambda: len(recorder.datas()) >= 2)

    asyncio.run(run_mappings(make_service(trigger()), recorder, body))
    assert len(recorder.calls) == 1
    event = recorder.calls[0]
    assert list(event) == ["Records"]
    records = event["Records"]
    for record, original, (key, data) in zip(
        records,
        sent,
        [("player-1", '{"MessageType":"lap"}'), ("player-2", "\u00e9t\u00e9")],
        strict=True,
    ):
        assert set(record) == {
            "kinesis",
            "eventSource",
            "eventVersion",
            "eventID",
            "eventName",
            "invokeIdentityArn",
            "awsRegion",
            "eventSourceARN",
        }
        assert set(record["kinesis"]) == {
            "kinesisSchemaVersion",
            "partitionKey",
            "sequenceNumber",
            "data",
            "approximateArrivalTimestamp",
        }
        kinesis_part = record["kinesis"]
        assert kinesis_part["kinesisSchemaVersion"] == "1.0"
        assert kinesis_part["partitionKey"] == key
        assert kinesis_part["sequenceNumber"] == original["SequenceNumber"]
        assert base64.b64decode(kinesis_part["data"]).decode() == data
        assert isinstance(kinesis_part["approximateArrivalTimestamp"], float)
        assert before - 2 <= kinesis_part["approximateArrivalTimestamp"] <= time.time() + 2
        assert record["eventSource"] == "aws:kinesis"
        assert record["eventVersion"] == "1.0"
        assert record["eventID"] == f"{shard}:{original['SequenceNumber']}"
        assert record["eventName"] == "aws:kinesis:record"
        assert record["invokeIdentityArn"] == (
            f"arn:aws:iam::{ACCOUNT}:role/esmtest-test-{REGION}-lambdaRole"
        )
        assert record["awsRegion"] == REGION
        assert record["eventSourceARN"] == STREAM_ARN
    json.dumps(event)  # what a real invocation would serialise
