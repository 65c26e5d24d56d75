"""Lambda's decisions for an SQS batch, free of I/O: which messages an invocation's result
lets the poller delete, and which stay in the queue to be received again after their
visibility timeout (SQS's RedrivePolicy, not Lambda, moves them to a dead-letter queue)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "RECEIVE_LIMIT",
    "RECEIVE_WAIT_LIMIT_S",
    "MappingError",
    "failed_ids",
]

# Lambda quota: a synchronous invocation payload is at most 6 MB.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
# SQS ReceiveMessage: MaxNumberOfMessages 1-10, WaitTimeSeconds 0-20.
RECEIVE_LIMIT = 10
RECEIVE_WAIT_LIMIT_S = 20


class MappingError(ValueError):
    """CreateEventSourceMapping would refuse this trigger (Lambda's own validation)."""


def failed_ids(
    message_ids: Sequence[str], *, error: bool, result: Any, report_failures: bool
) -> set[str]:
    """The messages to leave in the queue after an invocation; every other one is deleted.

    A function error (raise, timeout, throttle) leaves them all. Without
    ReportBatchItemFailures the response is ignored. With it (Lambda's documented success and
    failure conditions): a null or empty response, or a null or empty `batchItemFailures`, is
    success; the listed `itemIdentifier`s fail; a response that is not an object (other than
    the empty string), a `batchItemFailures` that is not a list, or an item whose identifier
    is missing, null, empty, of another key or not a message of the batch, fails the whole
    batch."""
    everything = set(message_ids)
    if error:
        return everything
    if not report_failures or result is None:
        return set()
    if not isinstance(result, dict):
        return set() if result == "" else everything
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return everything
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in everything:
            return everything
        failed.add(identifier)
    return failed
