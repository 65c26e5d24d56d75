"""The I/O half of a fan-out that splits: the trigger sends its slices (processor.slices) to
the fan-out queue and waits until the workers have counted them done in the progress table;
a worker counts its slice done there once it has delivered it.

Why the trigger waits: a spectator must never get a later batch's events before an earlier
one's, and the next batch of a shard is only polled once this invocation returns, so waiting
for the slices keeps each connection's order across batches (as one invocation posting
everything would) at the cost of the slices' hand-over: one SendMessageBatch per ten slices,
the event source mapping's receive, and the progress polls (measured in the README). A FIFO
queue with a message group per slice would keep order without the wait, but then a batch's
slices would queue behind the previous batch's per group, and Lambda's FIFO pollers deliver one
batch per group at a time: no faster, and a stuck slice would stall its group for everyone in
it.

A slice is counted once: its row in the progress table holds the set of slices done, and the
worker's UpdateItem is conditional on its slice not being in it, so a slice delivered twice
(an SQS redelivery after the worker answered) adds its counts once. A slice that cannot be
queued (SQS refuses it, or keeps failing) is delivered by the trigger itself: nothing is lost
and nothing is sent twice. A slice still pending when the trigger's time is up is left to SQS,
which retries it alone and, after maxReceiveCount, moves it to the dead-letter queue; the
trigger's log counts it as pending."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .json_api import SignedJsonApi
from .report import PROGRESS_COUNTS
from .slices import MAX_MESSAGE_BYTES, Slice, encode_slice

__all__ = ["PROGRESS_COUNTS", "Progress", "ProgressRow", "SliceQueue"]

# SQS SendMessageBatch: at most 10 entries and 256 KiB together.
_BATCH_ENTRIES = 10
_BATCH_BYTES = 256 * 1024
_SEND_ATTEMPTS = 3  # a refused entry that is not the sender's fault is sent again, then kept
# The trigger's progress polls: from 10 ms, growing by half up to 100 ms.
_FIRST_POLL_S = 0.01
_LAST_POLL_S = 0.1
# A run's row outlives any invocation that may still write it; DynamoDB's TTL removes it.
_ROW_TTL_S = 3600


@dataclass(slots=True)
class ProgressRow:
    done: set[int] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


class Progress:
    """The progress table: one row per run (a trigger's round of slices)."""

    def __init__(self, dynamodb: SignedJsonApi, table: str) -> None:
        self._dynamodb = dynamodb
        self.table = table

    async def count_done(self, piece: Slice, counts: dict[str, int]) -> bool:
        """Adds the slice to its run's row with its counts; False when it was counted before
        (a redelivered slice), so its counts are not added twice."""
        values: dict[str, Any] = {
            ":slice": {"SS": [str(piece.index)]},
            ":index": {"S": str(piece.index)},
            ":expires": {"N": str(int(time.time()) + _ROW_TTL_S)},
        }
        adds = ["done_slices :slice"]
        for name in PROGRESS_COUNTS:
            values[f":{name}"] = {"N": str(counts.get(name, 0))}
            adds.append(f"{name} :{name}")
        try:
            await self._dynamodb.call(
                "UpdateItem",
                {
                    "TableName": self.table,
                    "Key": {"run": {"S": piece.run}},
                    "UpdateExpression": f"ADD {', '.join(adds)} SET expires_at = :expires",
                    "ConditionExpression": "NOT contains(done_slices, :index)",
                    "ExpressionAttributeValues": values,
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    async def close(self) -> None:
        await self._dynamodb.close()

    async def read(self, run: str) -> ProgressRow:
        reply = await self._dynamodb.call(
            "GetItem",
            {"TableName": self.table, "Key": {"run": {"S": run}}, "ConsistentRead": True},
        )
        item = reply.get("Item") or {}
        done = {int(index) for index in item.get("done_slices", {}).get("SS", [])}
        counts = {name: int(item[name]["N"]) for name in PROGRESS_COUNTS if name in item}
        return ProgressRow(done, counts)


class SliceQueue:
    """The fan-out queue as the trigger and the worker use it: sending slices, waiting for
    them, and pushing a failed one's next try out by its backoff."""

    def __init__(
        self,
        sqs: SignedJsonApi,
        queue_name: str,
        progress: Progress,
        posts_per_slice: int,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sqs = sqs
        self.queue_name = queue_name
        self.progress = progress
        self.posts_per_slice = posts_per_slice
        self._sleep = sleep
        self._url: str | None = None
        self.reads = 0  # progress polls: consistent reads of one small item, a unit each

    async def close(self) -> None:
        await self._sqs.close()
        await self.progress.close()

    async def url(self) -> str:
        if self._url is None:
            reply = await self._sqs.call("GetQueueUrl", {"QueueName": self.queue_name})
            self._url = str(reply["QueueUrl"])
        return self._url

    async def send(self, pieces: Sequence[Slice]) -> list[Slice]:
        """Queues the slices; gives back the ones SQS would not take (the caller delivers
        those itself)."""
        url = await self.url()
        unsent: list[Slice] = []
        for group in _send_groups([(piece, encode_slice(piece)) for piece in pieces]):
            unsent.extend(await self._send_group(url, group))
        return unsent

    async def _send_group(self, url: str, group: list[tuple[Slice, str]]) -> list[Slice]:
        waiting = {str(piece.index): (piece, body) for piece, body in group}
        for _ in range(_SEND_ATTEMPTS):
            entries = [{"Id": key, "MessageBody": body} for key, (_, body) in waiting.items()]
            try:
                reply = await self._sqs.call(
                    "SendMessageBatch", {"QueueUrl": url, "Entries": entries}
                )
            except ClientError:
                return [piece for piece, _ in waiting.values()]  # retried already: keep them
            failed = {str(entry["Id"]): entry for entry in reply.get("Failed") or []}
            waiting = {key: value for key, value in waiting.items() if key in failed}
            if not waiting or any(entry.get("SenderFault") for entry in failed.values()):
                break
        return [piece for piece, _ in waiting.values()]

    async def wait(self, run: str, expected: set[int], deadline: float) -> ProgressRow:
        """Polls the run's row until every expected slice is done or `deadline`
        (time.monotonic) passes; gives the last row read."""
        pause = _FIRST_POLL_S
        while True:
            row = await self.progress.read(run)
            self.reads += 1
            if expected <= row.done or time.monotonic() >= deadline:
                return row
            await self._sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(_LAST_POLL_S, pause * 1.5)

    async def retry_later(self, retries: Sequence[tuple[str, float]]) -> None:
        """Each failed slice's message (receipt handle, seconds) becomes visible again after
        its backoff instead of the queue's whole visibility timeout. Best effort: if SQS
        refuses, the visibility timeout still brings it back."""
        if not retries:
            return
        url = await self.url()
        for start in range(0, len(retries), _BATCH_ENTRIES):
            chunk = retries[start : start + _BATCH_ENTRIES]
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": round(seconds)}
                for i, (handle, seconds) in enumerate(chunk)
            ]
            try:
                await self._sqs.call(
                    "ChangeMessageVisibilityBatch", {"QueueUrl": url, "Entries": entries}
                )
            except ClientError:
                return


def _send_groups(bodies: list[tuple[Slice, str]]) -> list[list[tuple[Slice, str]]]:
    """SendMessageBatch calls: up to ten entries and 256 KiB of bodies each."""
    groups: list[list[tuple[Slice, str]]] = [[]]
    size = 0
    for piece, body in bodies:
        length = len(body.encode())
        if length > MAX_MESSAGE_BYTES:
            raise ValueError(f"slice {piece.index} is {length} bytes, over an SQS message")
        if groups[-1] and (len(groups[-1]) == _BATCH_ENTRIES or size + length > _BATCH_BYTES):
            groups.append([])
            size = 0
        groups[-1].append((piece, body))
        size += length
    return groups if groups[-1] else []
