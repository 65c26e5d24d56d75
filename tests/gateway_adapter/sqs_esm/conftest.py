"""Fixtures for the SQS event source mapping: tests/fixtures/queue/serverless.yml loaded and
bootstrapped on the embedded backend (moto's server over HTTP), its handlers run by the real
LambdaRuntime, and a runner that starts and stops the mappings around a test's body."""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gateway_adapter.lambda_runtime.runtime import LambdaRuntime
from gateway_adapter.sqs_esm.poller import SqsEventSourceMappings
from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import Options
from serverless_model.service import Service, load_service

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "queue"
QUEUE_YML = FIXTURE / "serverless.yml"
REGION = "us-east-1"


@pytest.fixture
def handlers() -> Iterator[ModuleType]:
    if str(FIXTURE) not in sys.path:
        sys.path.insert(0, str(FIXTURE))
    module = importlib.import_module("queue_handlers")
    module.reset()
    yield module
    module.reset()


@pytest.fixture
def queue_service(aws_client: Callable[[str], Any]) -> Service:
    account = aws_client("sts").get_caller_identity()["Account"]
    service = load_service(QUEUE_YML, Options(stage="test", region=REGION, account_id=account))
    bootstrap_resources(service, aws_client)
    return service


@pytest.fixture
def sqs(aws_client: Callable[[str], Any]) -> Any:
    return aws_client("sqs")


def queue_url(sqs: Any, name: str) -> str:
    return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])


def send(sqs: Any, name: str, bodies: list[str], **extra: Any) -> list[str]:
    url = queue_url(sqs, name)
    ids = []
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(i), "MessageBody": body, **extra}
            for i, body in enumerate(bodies[start : start + 10])
        ]
        reply = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert not reply.get("Failed")
        ids += [ok["MessageId"] for ok in sorted(reply["Successful"], key=lambda r: int(r["Id"]))]
    return ids


def depth(sqs: Any, name: str) -> int:
    """Visible plus in-flight messages of the queue."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url(sqs, name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


async def until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.05)


def run(
    service: Service,
    body: Callable[[SqsEventSourceMappings], Awaitable[None]],
    **options: Any,
) -> None:
    async def main() -> None:
        runtime = LambdaRuntime(service)
        mappings = SqsEventSourceMappings(
            service,
            runtime.invoke,
            max_wait_s=options.pop("max_wait_s", 1),
            stop_timeout_s=options.pop("stop_timeout_s", 3.0),
        )
        try:
            await mappings.start()
            await body(mappings)
        finally:
            await mappings.stop()
            await runtime.close()

    asyncio.run(main())


def records(handlers: ModuleType, function: str) -> list[list[dict[str, Any]]]:
    with handlers.LOCK:
        return [c["event"]["Records"] for c in handlers.CALLS if c["function"] == function]
