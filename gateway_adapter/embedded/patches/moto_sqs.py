"""One queue's messages changed by one request at a time in moto's SQS: a correctness patch,
not a speed-up.

moto's server answers requests on threads, and its SQS queue guards only the append of a new
message with the queue's lock: DeleteMessage rebuilds the message list and assigns it
unlocked, and ReceiveMessage marks messages received unlocked. With several consumers (an SQS
event source mapping's lanes) and a producer at once, a delete that races a send can lose the
new message (the send appended to the list the delete is about to replace), a delete that
races another delete can keep a deleted message, and two receives can hand out one message
twice. Found by reading moto 5.2.6's sqs/models.py, not yet seen in a run: the redeliveries
first blamed on it came from the SQS mapping's deletes waiting behind its own long polls for a
pooled connection (fixed in sqs_esm/poller.py). SQS itself never does any of that.

This runs each of those backend calls holding the queue's own lock (`Queue._messages_lock`, a
Condition over an RLock, which the long poll's wait releases while it waits, so a waiting
receive does not block sends). Private symbols touched: `SQSBackend.receive_message`,
`delete_message`, `change_message_visibility` (wrapped; each takes `queue_name` first),
`SQSBackend.get_queue`, `Queue._messages_lock` and `Queue.add_message` (which already takes the
lock). Checked against moto 5.2.5 and 5.2.6. Without it the embedded SQS is wrong, not slow,
so a failed premise stops start-up (PatchUnsafe), as the frame guard does."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from moto.sqs.models import Queue, SQSBackend

from .moto_probe import MotoProbe
from .premises import Patch, require

__all__ = ["LOCKED", "PATCH", "install", "installed", "uninstall"]

LOCKED = ("receive_message", "delete_message", "change_message_visibility")
_ORIGINALS: dict[str, Callable[..., Any]] = {name: getattr(SQSBackend, name) for name in LOCKED}


def _holding_the_queue_lock(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def locked(self: SQSBackend, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        with queue._messages_lock:
            return original(self, queue_name, *args, **kwargs)

    locked.__wrapped_by_tumble__ = True  # type: ignore[attr-defined]
    return locked


def install() -> None:
    for name, original in _ORIGINALS.items():
        setattr(SQSBackend, name, _holding_the_queue_lock(original))


def installed() -> bool:
    return all(getattr(getattr(SQSBackend, n), "__wrapped_by_tumble__", False) for n in LOCKED)


def uninstall() -> None:
    for name, original in _ORIGINALS.items():
        setattr(SQSBackend, name, original)


def check() -> None:
    for name, original in _ORIGINALS.items():
        first = list(inspect.signature(original).parameters)[:2]
        require(first == ["self", "queue_name"], f"SQSBackend.{name} takes {first} first")
    require(callable(getattr(SQSBackend, "get_queue", None)), "SQSBackend.get_queue")
    require(callable(getattr(Queue, "add_message", None)), "Queue.add_message")


def compare() -> None:
    """A queue of the probe's: its lock is a Condition, and two messages sent, received and
    deleted through the locked calls leave it empty, as plain moto's would."""
    with MotoProbe("sqs") as probe:
        url = probe.call("CreateQueue", {"QueueName": "probe"})[1]["QueueUrl"]
        queue = probe.backend().get_queue("probe")
        lock = getattr(queue, "_messages_lock", None)
        require(isinstance(lock, threading.Condition), "Queue._messages_lock is a Condition")
        for body in ("one", "two"):
            probe.call("SendMessage", {"QueueUrl": url, "MessageBody": body})
        receive = {"QueueUrl": url, "MaxNumberOfMessages": 10}
        status, received = probe.call("ReceiveMessage", receive)
        require(status == 200, f"ReceiveMessage answered {status}")
        messages = received.get("Messages") or []
        require(sorted(m["Body"] for m in messages) == ["one", "two"], f"received {received}")
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        status, deleted = probe.call("DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})
        require(status == 200 and len(deleted.get("Successful", [])) == 2, f"deleted {deleted}")
        require(len(queue._messages) == 0, "the deleted messages are gone from the queue")


PATCH = Patch(
    name="SQS queue lock",
    package="moto",
    slower="concurrent SQS consumers could keep deleted messages or lose sent ones",
    check=check,
    install=install,
    uninstall=uninstall,
    compare=compare,
)
