from __future__ import annotations

import asyncio
import json

import aiobotocore.session

from gateway_adapter.esm.decisions import Pending
from gateway_adapter.esm.destinations import Destinations, on_failure_record
from gateway_adapter.esm.events import EventSource, StreamRecord, event_record

from .conftest import ACCOUNT, REGION, STREAM_ARN


def items() -> list[Pending]:
    source = EventSource("shardId-000000000002", STREAM_ARN, REGION, "")
    records = [
        StreamRecord("11", "k", "eA==", 1_700_000_000.123),
        StreamRecord("19", "k", "eA==", 1_700_000_001.5),
    ]
    return [Pending(record, event_record(record, source), 10) for record in records]


def test_on_failure_record_describes_the_batch_not_its_records():
    record = on_failure_record(
        items=items(),
        shard_id="shardId-000000000002",
        stream_arn=STREAM_ARN,
        function_arn="arn:aws:lambda:us-east-1:1:function:f",
        condition="RetryAttemptsExhausted",
        invoke_count=4,
        function_error=True,
        now=1_700_000_002.0,
    )
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 4
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["timestamp"] == "2023-11-14T22:13:22.000Z"
    assert record["KinesisBatchInfo"] == {
        "shardId": "shardId-000000000002",
        "startSequenceNumber": "11",
        "endSequenceNumber": "19",
        "approximateArrivalOfFirstRecord": "2023-11-14T22:13:20.123Z",
        "approximateArrivalOfLastRecord": "2023-11-14T22:13:21.500Z",
        "batchSize": 2,
        "streamArn": STREAM_ARN,
    }
    json.dumps(record)


def test_age_discards_carry_no_function_error():
    record = on_failure_record(
        items=items(),
        shard_id="s",
        stream_arn=STREAM_ARN,
        function_arn="f",
        condition="RecordAgeExceeded",
        invoke_count=0,
        function_error=False,
        now=0.0,
    )
    assert "functionError" not in record["responseContext"]


def _send(arn: str) -> bool:
    async def scenario() -> bool:
        session = aiobotocore.session.get_session()
        async with (
            session.create_client("sqs", region_name=REGION) as sqs,
            session.create_client("sns", region_name=REGION) as sns,
        ):
            return await Destinations(sqs, sns, retry_delay_s=0.01).send(arn, {"a": 1})

    return asyncio.run(scenario())


def test_send_to_sqs(aws_client):
    url = aws_client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
    assert _send(f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq")
    [message] = aws_client("sqs").receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"]) == {"a": 1}


def test_a_destination_that_is_neither_sqs_nor_sns_is_refused(fresh_aws, caplog):
    assert not _send("arn:aws:s3:::a-bucket")
    assert "neither SQS nor SNS" in caplog.text


def test_a_missing_topic_is_given_up_after_a_few_attempts(fresh_aws, caplog):
    assert not _send(f"arn:aws:sns:{REGION}:{ACCOUNT}:missing")
    assert caplog.text.count("attempt") == 3
