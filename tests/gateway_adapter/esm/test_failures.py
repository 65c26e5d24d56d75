"""Each Lambda failure mode, with its invocation count, through the real poll loop."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import pytest

from .conftest import (
    ACCOUNT,
    REGION,
    SEQUENCES,
    STREAM_ARN,
    Recorder,
    create_stream,
    make_service,
    put,
    run_mappings,
    trigger,
)


class Failure(Exception):
    pass


def datas(event: dict[str, Any]) -> list[str]:
    import base64

    return [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]


def queue(aws_client, name: str = "esm-failures") -> tuple[str, str]:
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def receive(aws_client, url: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    sqs = aws_client("sqs")
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < count and time.monotonic() < deadline:
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies.extend(json.loads(m["Body"]) for m in reply.get("Messages", []))
    return bodies


def run(settings: dict[str, Any], behaviour, done, **options: Any) -> Recorder:
    recorder = Recorder(behaviour)

    async def body(_):
        await recorder.until(lambda: done(recorder))

    asyncio.run(run_mappings(make_service(trigger(**settings)), recorder, body, **options))
    return recorder


def seen(recorder: Recorder, data: str) -> bool:
    return data in recorder.datas()


def fail_on(bad: str):
    return lambda event, call: Failure("poison") if bad in datas(event) else None


@pytest.mark.kinesis_mock
def test_failed_batch_is_retried_whole_blocking_the_shard_then_sent_to_sqs(kinesis, aws_client):
    create_stream(kinesis)
    url, arn = queue(aws_client)
    put(kinesis, [("k", d) for d in ["a1", "bad", "a3", "b1", "b2", "b3"]])
    settings = {"batch_size": 3, "maximum_retry_attempts": 2, "on_failure_arn": arn}
    recorder = run(settings, fail_on("bad"), lambda r: seen(r, "b3"))
    assert recorder.sequences() == [["1", "2", "3"]] * 3 + [["4", "5", "6"]]
    [message] = receive(aws_client, url, 1)
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 3
    assert message["requestContext"]["functionArn"] == (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:esmtest-test-consume"
    )
    assert message["responseContext"]["functionError"] == "Unhandled"
    assert message["version"] == "1.0"
    info = message["KinesisBatchInfo"]
    assert info["shardId"] == "shardId-000000000000"
    assert (
        SEQUENCES.ordinal(info["startSequenceNumber"]),
        SEQUENCES.ordinal(info["endSequenceNumber"]),
    ) == ("1", "3")
    assert info["batchSize"] == 3
    assert info["streamArn"] == STREAM_ARN
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert "Records" not in message


def test_infinite_retries_block_the_shard_until_the_batch_succeeds(kinesis):
    create_stream(kinesis)
    put(kinesis, [("k", d) for d in ["a1", "a2", "b1"]])
    flaky = lambda event, call: Failure("flaky") if call <= 4 else None  # noqa: E731
    recorder = run({"batch_size": 2}, flaky, lambda r: seen(r, "b1"))
    assert recorder.sequences() == [["1", "2"]] * 5 + [["3"]]


def test_timeout_counts_as_a_function_error(kinesis):
    create_stream(kinesis)
    put(kinesis, [("k", "a1"), ("k", "a2")])
    slow = lambda event, call: TimeoutError("Task timed out") if call == 1 else None  # noqa: E731
    recorder = run({"batch_size": 10}, slow, lambda r: len(r.calls) >= 2)
    assert recorder.sequences() == [["1", "2"], ["1", "2"]]


def test_bisection_isolates_the_poison_record_and_splits_are_not_retries(kinesis, aws_client):
    create_stream(kinesis)
    url, arn = queue(aws_client)
    put(kinesis, [("k", f"r{i}" if i != 6 else "bad") for i in range(1, 9)])
    settings = {
        "batch_size": 8,
        "bisect_batch_on_function_error": True,
        "maximum_retry_attempts": 1,
        "on_failure_arn": arn,
    }
    recorder = run(settings, fail_on("bad"), lambda r: r.sequences()[-1:] == [["7", "8"]])
    assert recorder.sequences() == [
        [str(i) for i in range(1, 9)],
        ["1", "2", "3", "4"],
        ["5", "6", "7", "8"],
        ["5", "6"],
        ["5"],
        ["6"],
        ["6"],  # the single record's one retry
        ["7", "8"],
    ]
    [message] = receive(aws_client, url, 1)
    info = message["KinesisBatchInfo"]
    assert (
        SEQUENCES.ordinal(info["startSequenceNumber"]),
        SEQUENCES.ordinal(info["endSequenceNumber"]),
        info["batchSize"],
    ) == (
        "6",
        "6",
        1,
    )
    assert message["requestContext"]["approximateInvokeCount"] == 2


@pytest.mark.kinesis_mock
def test_partial_batch_response_retries_from_the_lowest_failed_record(kinesis):
    create_stream(kinesis)
    put(kinesis, [("k", f"r{i}") for i in range(1, 6)])

    def partial(event, call):
        if call == 1:
            return {"batchItemFailures": [{"itemIdentifier": "4"}, {"itemIdentifier": "3"}]}
        return {"batchItemFailures": []}

    recorder = run(
        {"batch_size": 5, "report_batch_item_failures": True},
        partial,
        lambda r: len(r.calls) >= 2,
    )
    assert recorder.sequences() == [["1", "2", "3", "4", "5"], ["3", "4", "5"]]


@pytest.mark.parametrize("identifier", [None, ""])
def test_null_or_empty_item_identifier_fails_the_whole_batch(kinesis, identifier):
    create_stream(kinesis)
    put(kinesis, [("k", f"r{i}") for i in range(1, 4)])

    def partial(event, call):
        return {"batchItemFailures": [{"itemIdentifier": identifier}]} if call == 1 else None

    recorder = run(
        {"batch_size": 5, "report_batch_item_failures": True},
        partial,
        lambda r: len(r.calls) >= 2,
    )
    assert recorder.sequences() == [["1", "2", "3"], ["1", "2", "3"]]


def test_partial_batch_response_is_ignored_unless_the_trigger_asks_for_it(kinesis):
    create_stream(kinesis)
    put(kinesis, [("k", "r1"), ("k", "r2")])

    def partial(event, call):
        if call == 1:
            put(kinesis, [("k", "later")])
        return {"batchItemFailures": [{"itemIdentifier": "1"}]}

    recorder = run({"batch_size": 5}, partial, lambda r: seen(r, "later"))
    assert recorder.sequences() == [["1", "2"], ["3"]]


def test_records_past_the_maximum_age_are_discarded_without_invoking(kinesis, aws_client):
    create_stream(kinesis)
    url, arn = queue(aws_client)
    put(kinesis, [("k", "old1"), ("k", "old2")])
    time.sleep(1.3)  # the records must really be older than MaximumRecordAgeInSeconds
    recorder = Recorder()

    async def body(_):
        [message] = await asyncio.to_thread(receive, aws_client, url, 1)
        assert message["requestContext"]["condition"] == "RecordAgeExceeded"
        assert message["requestContext"]["approximateInvokeCount"] == 0
        assert message["KinesisBatchInfo"]["batchSize"] == 2
        await asyncio.to_thread(put, kinesis, [("k", "fresh")])
        await recorder.until(lambda: seen(recorder, "fresh"))

    settings = {"maximum_record_age_s": 1, "on_failure_arn": arn}
    asyncio.run(run_mappings(make_service(trigger(**settings)), recorder, body))
    assert recorder.datas() == ["fresh"]


def test_on_failure_to_sns(kinesis, aws_client):
    create_stream(kinesis)
    url, queue_arn = queue(aws_client, "sns-sink")
    topic = aws_client("sns").create_topic(Name="esm-failures")["TopicArn"]
    aws_client("sns").subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    put(kinesis, [("k", "bad"), ("k", "next")])
    settings = {"batch_size": 1, "maximum_retry_attempts": 0, "on_failure_arn": topic}
    recorder = run(settings, fail_on("bad"), lambda r: seen(r, "next"))
    assert recorder.sequences() == [["1"], ["2"]]
    [message] = receive(aws_client, url, 1)
    assert SEQUENCES.ordinal(message["KinesisBatchInfo"]["startSequenceNumber"]) == "1"


def test_a_missing_destination_does_not_block_the_shard(kinesis, caplog):
    create_stream(kinesis)
    put(kinesis, [("k", "bad"), ("k", "next")])
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-queue"
    settings = {"batch_size": 1, "maximum_retry_attempts": 0, "on_failure_arn": missing}
    recorder = run(settings, fail_on("bad"), lambda r: seen(r, "next"))
    assert recorder.sequences() == [["1"], ["2"]]
    assert "dropped" in caplog.text


def test_tumbles_trigger_discards_to_the_queue_its_serverless_yml_creates(
    tumble_service, aws_client
):
    """serverless.yml's destinations.onFailure, resolved and bootstrapped as `tumble local`
    does: a batch out of retries lands in that queue in Lambda's envelope. (Only the retry
    count and the starting position are shortened, to keep the test fast.)"""
    (configured,) = tumble_service.triggers
    fast = dataclasses.replace(
        configured, maximum_retry_attempts=0, starting_position="TRIM_HORIZON"
    )
    kinesis = aws_client("kinesis")
    kinesis.put_record(StreamName=configured.stream_name, Data=b"poison", PartitionKey="k")
    recorder = Recorder(lambda event, call: Failure("always"))
    name = configured.on_failure_arn.rsplit(":", 1)[-1]
    assert name == "tumble-test-stream-failures"
    url = aws_client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    received: list[dict[str, Any]] = []

    async def body(_):  # the mappings run until the queue has the record
        received.extend(await asyncio.to_thread(receive, aws_client, url, 1))

    service = dataclasses.replace(tumble_service, triggers=(fast,))
    asyncio.run(run_mappings(service, recorder, body))
    [message] = received
    assert len(recorder.calls) == 1  # no retry left: discarded after the first failure
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["KinesisBatchInfo"]["streamArn"] == configured.stream_arn
    assert message["KinesisBatchInfo"]["batchSize"] == 1


def test_records_dropped_without_a_destination_are_logged_with_shard_and_sequence(kinesis, caplog):
    create_stream(kinesis)
    put(kinesis, [("k", "bad"), ("k", "next")])
    settings = {"batch_size": 1, "maximum_retry_attempts": 0}
    recorder = run(settings, fail_on("bad"), lambda r: seen(r, "next"))
    assert recorder.sequences() == [["1"], ["2"]]
    [line] = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    bad = recorder.calls[0]["Records"][0]
    shard_id, sequence = bad["eventID"].split(":")
    assert f"dropped 1 record(s) of {shard_id}" in line
    assert "RetryAttemptsExhausted" in line
    assert line.endswith(f"sequence numbers {sequence}")
