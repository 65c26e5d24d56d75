"""The SQS event source mapping against moto's SQS over HTTP, with the fixture's handlers run
by the real runtime: event shape, batching, partial batch responses, failures, redrive,
concurrency, throttles and stopping."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest

from gateway_adapter.sqs_esm.decisions import MappingError
from gateway_adapter.sqs_esm.poller import SqsEventSourceMappings
from serverless_model.service import Service

from .conftest import REGION, depth, queue_url, records, run, send, until

ACCOUNT = "123456789012"
WORK = "queuetest-work"
BATCH = "queuetest-batch"
RETRY = "queuetest-retry"


def all_ids(batches: list[list[dict[str, Any]]]) -> list[str]:
    return [r["messageId"] for batch in batches for r in batch]


def test_event_shape_is_lambdas(queue_service: Service, sqs: Any, handlers: ModuleType) -> None:
    (sent,) = send(
        sqs,
        WORK,
        ["hello"],
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "greeting"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )

    async def body(_: SqsEventSourceMappings) -> None:
        await until(lambda: bool(records(handlers, "work")), what="the invocation")
        await until(lambda: depth(sqs, WORK) == 0, what="the delete")

    run(queue_service, body)
    ((record,),) = records(handlers, "work")
    assert list(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert record["messageId"] == sent
    assert record["body"] == "hello"
    assert record["md5OfBody"] == hashlib.md5(b"hello").hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:{WORK}"
    assert record["awsRegion"] == REGION
    attributes = record["attributes"]
    for name in (
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ):
        assert isinstance(attributes[name], str), name
    assert attributes["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "greeting",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {
            "binaryValue": "AAE=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }


def test_batch_size_and_window_fill_batches_past_ten(
    queue_service: Service, sqs: Any, handlers: ModuleType
) -> None:
    sent = send(sqs, BATCH, [f"m{i}" for i in range(30)])

    async def body(_: SqsEventSourceMappings) -> None:
        await until(lambda: len(all_ids(records(handlers, "batch"))) >= 30, what="30 messages")
        await until(lambda: depth(sqs, BATCH) == 0, what="the deletes")

    run(queue_service, body)
    batches = records(handlers, "batch")
    assert sorted(all_ids(batches)) == sorted(sent)
    assert all(len(b) <= 25 for b in batches)
    assert max(len(b) for b in batches) > 10  # several receives made one batch


def test_window_holds_a_short_batch(queue_service: Service, sqs: Any, handlers: ModuleType) -> None:
    waited: list[float] = []

    async def body(_: SqsEventSourceMappings) -> None:
        await asyncio.sleep(0.2)  # the lanes are long-polling
        start = time.monotonic()
        await asyncio.to_thread(send, sqs, BATCH, ["alone"])
        await until(lambda: bool(records(handlers, "batch")), what="the invocation")
        waited.append(time.monotonic() - start)

    run(queue_service, body)
    assert [len(b) for b in records(handlers, "batch")] == [1]
    assert waited[0] >= 0.9  # the 1 s window passed before the invocation


def test_partial_batch_response_returns_only_the_failed(
    queue_service: Service, sqs: Any, handlers: ModuleType
) -> None:
    def answer(event: dict[str, Any]) -> Any:
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]}
                for r in event["Records"]
                if r["body"].startswith("bad") and r["attributes"]["ApproximateReceiveCount"] == "1"
            ]
        }

    handlers.BEHAVIOUR["retry"] = answer
    sent = send(sqs, RETRY, ["ok0", "bad1", "ok2", "bad3"])

    async def body(_: SqsEventSourceMappings) -> None:
        await until(lambda: len(all_ids(records(handlers, "retry"))) >= 6, what="redelivery")
        await until(lambda: depth(sqs, RETRY) == 0, what="the deletes")

    run(queue_service, body)
    seen = all_ids(records(handlers, "retry"))
    assert sorted(seen) == sorted([*sent, sent[1], sent[3]])


@pytest.mark.parametrize(
    "answer",
    [
        RuntimeError("boom"),
        {"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": "all of them"},
        ["not", "an", "object"],
    ],
    ids=["exception", "unknown-id", "empty-id", "not-a-list", "not-an-object"],
)
def test_whole_batch_comes_back(
    answer: Any, queue_service: Service, sqs: Any, handlers: ModuleType
) -> None:
    def behaviour(event: dict[str, Any]) -> Any:
        first = event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1"
        return answer if first else None

    handlers.BEHAVIOUR["retry"] = behaviour
    sent = send(sqs, RETRY, ["a", "b", "c"])

    async def body(_: SqsEventSourceMappings) -> None:
        await until(lambda: len(all_ids(records(handlers, "retry"))) >= 6, what="redelivery")
        await until(lambda: depth(sqs, RETRY) == 0, what="the deletes")

    run(queue_service, body)
    assert sorted(all_ids(records(handlers, "retry"))) == sorted(sent * 2)


def test_redrive_to_the_dead_letter_queue(
    queue_service: Service, sqs: Any, handlers: ModuleType
) -> None:
    handlers.BEHAVIOUR["work"] = lambda event: RuntimeError("always")
    (sent,) = send(sqs, WORK, ["doomed"])
    dlq = queue_url(sqs, f"{WORK}-dlq")

    async def body(_: SqsEventSourceMappings) -> None:
        await until(lambda: depth(sqs, f"{WORK}-dlq") == 1, timeout=10, what="the DLQ")

    run(queue_service, body)
    assert all_ids(records(handlers, "work")) == [sent, sent]  # maxReceiveCount 2
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"]
    assert [m["MessageId"] for m in moved] == [sent]
    assert depth(sqs, WORK) == 0


def test_several_batches_in_flight(queue_service: Service, sqs: Any, handlers: ModuleType) -> None:
    handlers.DELAY["work"] = 0.4
    sent = send(sqs, WORK, [f"w{i}" for i in range(9)])
    started = time.monotonic()

    async def body(_: SqsEventSourceMappings) -> None:
        await until(lambda: depth(sqs, WORK) == 0, what="every message")

    run(queue_service, body)
    assert sorted(all_ids(records(handlers, "work"))) == sorted(sent)
    assert handlers.PEAK == 3  # maximumConcurrency: 3
    assert time.monotonic() - started < 9 * 0.4


def test_deletes_do_not_wait_behind_long_polls(queue_service: Service, sqs: Any) -> None:
    """More lanes than a client's default pool (10) in 20 s long polls, as a busy trigger
    scales out to: a finished message is deleted at once, not when a poll comes back (on one
    shared client it came back after its visibility timeout and ran twice)."""
    work = next(t for t in queue_service.sqs_triggers if t.function == "work")
    wide = replace(work, batch_size=1, maximum_concurrency=40, maximum_batching_window_s=0)
    service = replace(queue_service, sqs_triggers=(wide,))
    invoked: list[str] = []

    async def main() -> None:
        async def invoke(function: str, event: Any) -> dict[str, Any]:
            invoked.extend(r["messageId"] for r in event["Records"])
            await asyncio.sleep(0.02)  # long enough for the other lanes to poll again
            return {"batchItemFailures": []}

        mappings = SqsEventSourceMappings(service, invoke, max_wait_s=20, stop_timeout_s=3.0)
        await mappings.start()
        try:
            for burst in range(4):  # full batches scale the lanes out past the pool
                send(sqs, WORK, [f"d{burst}-{i}" for i in range(5)])
                await asyncio.sleep(0.5)
            await until(lambda: depth(sqs, WORK) == 0, timeout=2.5, what="every delete")
            assert mappings.pollers[0].lanes > 10
        finally:
            await mappings.stop()

    asyncio.run(main())
    assert len(invoked) == len(set(invoked)) == 20


def test_no_queue_takes_more_batches_than_the_function_can_run_here(
    queue_service: Service, sqs: Any
) -> None:
    """With two local slots, at most two batches are out of the queue at once, whatever
    maximumConcurrency allows: a batch taken without a slot would wait with its visibility
    timeout running."""
    work = next(t for t in queue_service.sqs_triggers if t.function == "work")
    wide = replace(work, batch_size=1, maximum_concurrency=40, maximum_batching_window_s=0)
    service = replace(queue_service, sqs_triggers=(wide,))
    running = 0
    peak = 0

    async def main() -> None:
        async def invoke(function: str, event: Any) -> dict[str, Any]:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.05)
            running -= 1
            return {"batchItemFailures": []}

        mappings = SqsEventSourceMappings(
            service, invoke, max_wait_s=1, stop_timeout_s=3.0, local_slots=lambda _: 2
        )
        await mappings.start()
        try:
            send(sqs, WORK, [f"s{i}" for i in range(12)])
            await until(lambda: depth(sqs, WORK) == 0, timeout=10, what="every message")
        finally:
            await mappings.stop()
        assert peak == 2

    asyncio.run(main())


def test_throttled_invocations_lose_nothing(
    queue_service: Service, sqs: Any, handlers: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    handlers.DELAY["throttled"] = 0.3
    sent = send(sqs, "queuetest-throttle", [f"t{i}" for i in range(4)])

    async def body(_: SqsEventSourceMappings) -> None:
        await until(lambda: depth(sqs, "queuetest-throttle") == 0, timeout=15, what="all")

    run(queue_service, body)
    assert sorted(set(all_ids(records(handlers, "throttled")))) == sorted(sent)
    assert handlers.PEAK == 1  # reservedConcurrency: 1
    assert "throttled (" in caplog.text


def test_stop_is_prompt_and_leaves_no_task(queue_service: Service) -> None:
    async def main() -> None:
        async def invoke(function: str, event: Any) -> None:
            return None

        mappings = SqsEventSourceMappings(queue_service, invoke)  # 20 s long polls
        await mappings.start()
        await asyncio.sleep(0.3)
        started = time.monotonic()
        await mappings.stop()
        assert time.monotonic() - started < 1.0
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_function_timeout_over_visibility_timeout_is_refused(queue_service: Service) -> None:
    slow = replace(queue_service.functions["work"], timeout_s=5)
    service = replace(queue_service, functions={**queue_service.functions, "work": slow})

    async def main() -> None:
        async def invoke(function: str, event: Any) -> None:
            return None

        mappings = SqsEventSourceMappings(service, invoke)
        try:
            with pytest.raises(MappingError, match="visibility timeout"):
                await mappings.start()
        finally:
            await mappings.stop()

    asyncio.run(main())


def test_batch_lines_are_logged(
    queue_service: Service, sqs: Any, handlers: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway_adapter.sqs_esm.poller")
    send(sqs, WORK, ["x"])

    async def body(_: SqsEventSourceMappings) -> None:
        await until(lambda: depth(sqs, WORK) == 0, what="the delete")

    run(queue_service, body)
    assert f"work: batch of 1 from {WORK} ok: 1 deleted, 0 left for redelivery" in caplog.text
    json.dumps(records(handlers, "work"))  # the event is plain JSON
