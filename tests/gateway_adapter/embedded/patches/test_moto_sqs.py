"""The SQS queue-lock patch, a correctness patch: on the embedded backend it is always on, and
a moto whose SQS changed under it stops start-up (PatchUnsafe, naming moto's version and the
premise) instead of serving an SQS that can lose or repeat messages under concurrent use."""

from __future__ import annotations

import importlib.metadata
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from moto.sqs.models import SQSBackend

from gateway_adapter.embedded.backend import install_required_patches
from gateway_adapter.embedded.patches import moto_sqs
from gateway_adapter.embedded.patches.premises import PatchUnsafe

MOTO = importlib.metadata.version("moto")


@pytest.fixture
def plain_sqs() -> Iterator[None]:
    """moto's own SQS for the test, the patch back afterwards (the session's backend runs
    with it)."""
    moto_sqs.uninstall()
    yield
    moto_sqs.uninstall()
    install_required_patches()


def test_the_embedded_backend_runs_with_it(aws_endpoint: str) -> None:
    assert moto_sqs.installed()


def test_a_changed_signature_stops_start_up(
    plain_sqs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def delete_message(self: SQSBackend, receipt_handle: str, queue_name: str) -> None:
        raise AssertionError("never called")

    monkeypatch.setitem(moto_sqs._ORIGINALS, "delete_message", delete_message)
    with pytest.raises(PatchUnsafe, match=rf"moto {MOTO}.*SQS queue lock.*stops") as refused:
        install_required_patches()
    assert "delete_message" in str(refused.value)
    assert not moto_sqs.installed()


def test_a_queue_without_its_lock_stops_start_up(
    plain_sqs: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sqs.models import Queue

    init = Queue.__init__

    def unlocked(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._messages_lock = threading.Lock()  # not the Condition the long poll waits on

    monkeypatch.setattr(Queue, "__init__", unlocked)
    with pytest.raises(PatchUnsafe, match="_messages_lock is a Condition"):
        install_required_patches()


def test_concurrent_consumers_and_a_producer_lose_and_repeat_nothing(aws_client: Any) -> None:
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName="lock-check", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    sent = [f"m{i}" for i in range(200)]
    received: list[str] = []
    lock = threading.Lock()

    def produce() -> None:
        for start in range(0, len(sent), 10):
            entries = [
                {"Id": str(i), "MessageBody": b} for i, b in enumerate(sent[start : start + 10])
            ]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)

    def consume() -> None:
        client = aws_client("sqs")
        empty = 0
        while empty < 3:
            messages = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            empty = 0 if messages else empty + 1
            for message in messages:
                client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            with lock:
                received.extend(m["Body"] for m in messages)

    threads = [threading.Thread(target=produce)] + [
        threading.Thread(target=consume) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(received) == sorted(sent)
