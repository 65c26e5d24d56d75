"""The I/O shell of the SQS event source mapping: per enabled `sqs` trigger, a few concurrent
lanes that each long-poll the queue, fill one batch (batch size, batching window, payload
limit), invoke the function through the runtime and delete what the result allows.

Scaling as Lambda's pollers do, on a smaller scale: each queue starts with five concurrent
batches (Lambda's start) or maximumConcurrency when lower; a lane whose batch came back full
(messages are still waiting) adds one, up to maximumConcurrency (DEFAULT_MAXIMUM_CONCURRENCY
when unset); a lane beyond the start that finds the queue empty retires. Nothing is ever
deleted that the function did not finish: an error, timeout or throttle leaves the batch to
SQS, which shows it again after the queue's visibility timeout and, under a RedrivePolicy,
moves it to the dead-letter queue once it was received maxReceiveCount times."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, TypeVar

import aiobotocore.session
from aiobotocore.config import AioConfig
from botocore.exceptions import BotoCoreError, ClientError

from serverless_model.sqs import SqsTrigger

from .decisions import (
    MAX_PAYLOAD_BYTES,
    RECEIVE_LIMIT,
    RECEIVE_WAIT_LIMIT_S,
    MappingError,
    failed_ids,
)
from .events import SqsBatchEvent, SqsEventRecord, batch_event, event_record, record_size

if TYPE_CHECKING:
    from serverless_model.service import Service

__all__ = [
    "DEFAULT_MAXIMUM_CONCURRENCY",
    "INITIAL_CONCURRENCY",
    "Invoke",
    "MappingError",
    "QueuePoller",
    "SqsEventSourceMappings",
]

log = logging.getLogger(__name__)

# (function name, event) -> the handler's result; raises on a function error, timeout or
# throttle (runtime.LambdaRuntime.invoke).
Invoke = Callable[[str, SqsBatchEvent], Awaitable[Any]]

# "Lambda starts processing five batches at a time with five concurrent invocations".
INITIAL_CONCURRENCY = 5
# Without maximumConcurrency Lambda scales to 1,000 batches; locally each function runs on
# runtime.DEFAULT_WORKERS (8) threads, and a batch waiting for a thread has its visibility
# timeout running. Five, Lambda's starting point, stays under that, so every batch invoked
# runs at once; a serverless.yml that wants more says so with maximumConcurrency (and still
# gets no more lanes than the function has local slots: QueuePoller's local_slots).
DEFAULT_MAXIMUM_CONCURRENCY = 5
# A ReceiveMessage answer holds at most 10 messages of at most 256 KiB (SQS quotas): a batch
# stops filling when one more answer might take it past the 6 MB payload.
FILL_LIMIT_BYTES = MAX_PAYLOAD_BYTES - RECEIVE_LIMIT * 256 * 1024
# After an SQS error or a throttled invoke a lane waits this long (Lambda backs off too).
BACKOFF_S = 1.0
# Between short polls while a batching window with under 1 s left fills.
SHORT_POLL_SPACING_S = 0.1
STOP_GRACE_S = 1.0
# Connections of the receiving client beyond one per lane (GetQueueUrl, GetQueueAttributes).
POOL_HEADROOM = 2
DELETE_LIMIT = 10  # DeleteMessageBatch / ChangeMessageVisibilityBatch entries per call

T = TypeVar("T")
Received = tuple[dict[str, Any], SqsEventRecord]


class QueuePoller:
    """One trigger's lanes on one queue."""

    def __init__(
        self,
        trigger: SqsTrigger,
        queue_url: str,
        *,
        sqs: Any,
        control: Any | None = None,
        invoke: Invoke,
        region: str,
        max_wait_s: int = RECEIVE_WAIT_LIMIT_S,
        local_slots: int | None = None,
    ) -> None:
        self.trigger = trigger
        self.queue_url = queue_url
        self.sqs = sqs
        # Deletes and visibility changes go on a client of their own: on the receiving
        # client's connections, every lane's 20 s long poll can be in flight at once, and a
        # delete queued behind them waits until a poll returns (messages the function
        # finished came back after their visibility timeout that way).
        self.control = control if control is not None else sqs
        self.invoke = invoke
        self.region = region
        self.max_wait_s = max_wait_s
        self.cap = trigger.maximum_concurrency or DEFAULT_MAXIMUM_CONCURRENCY
        if local_slots is not None:
            # A batch taken while the function has no free slot here would wait with its
            # visibility timeout running and come back as a duplicate; Lambda would have run
            # it at once. Left in the queue instead, it is taken when a slot frees.
            self.cap = max(1, min(self.cap, local_slots))
        self.floor = min(INITIAL_CONCURRENCY, self.cap)
        self.tasks: set[asyncio.Task[None]] = set()
        self.lanes = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._stopping = asyncio.Event()

    def start(self) -> None:
        for _ in range(self.floor):
            self._spawn()

    def stop(self) -> None:
        """Long polls end at once; a batch being invoked finishes, nothing new starts."""
        self._stopping.set()

    def _spawn(self) -> None:
        if self._stopping.is_set():
            return
        self.lanes += 1
        name = f"sqs-{self.trigger.function}-{self.trigger.queue_name}-{self.lanes}"
        task = asyncio.create_task(self._lane(), name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _until_stopped(self, call: Coroutine[Any, Any, T]) -> T | None:
        """The call's result, or None when stop() came first (the call is then cancelled:
        a long poll must not hold shutdown for up to 20 s)."""
        task = asyncio.ensure_future(call)
        stopped = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None

    async def _lane(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    batch = await self._collect()
                except (ClientError, BotoCoreError) as error:
                    log.warning("ReceiveMessage on %s: %s", self.trigger.queue_name, error)
                    await self._sleep(BACKOFF_S)
                    continue
                if self._stopping.is_set():
                    await self._release(batch)
                    return
                if not batch:
                    if self.lanes > self.floor:
                        return  # scale in: the queue is empty
                    continue
                if len(batch) >= self.trigger.batch_size and self.lanes < self.cap:
                    self._spawn()  # scale out: messages are still waiting
                if await self._process(batch):
                    await self._sleep(BACKOFF_S)
        finally:
            self.lanes -= 1

    async def _receive(self, count: int, wait: int) -> list[dict[str, Any]] | None:
        reply = await self._until_stopped(
            self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=count,
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        )
        return None if reply is None else list(reply.get("Messages") or [])

    async def _collect(self) -> list[Received]:
        """One batch: a long poll for the first messages; then, with a batching window, more
        receives until the batch is full, the window has passed or the payload is near 6 MB.
        Empty when the long poll found nothing (or stop() came first)."""
        trigger = self.trigger
        batch: list[Received] = []
        size = len('{"Records":[]}')
        deadline: float | None = None
        while len(batch) < trigger.batch_size and size < FILL_LIMIT_BYTES:
            if deadline is None:
                wait = self.max_wait_s
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(int(remaining), self.max_wait_s)
            count = min(RECEIVE_LIMIT, trigger.batch_size - len(batch))
            messages = await self._receive(count, wait)
            if messages is None:
                break
            for message in messages:
                record = event_record(message, trigger.queue_arn, self.region)
                batch.append((message, record))
                size += record_size(record)
            if deadline is None:
                if not batch or not trigger.maximum_batching_window_s:
                    break
                deadline = time.monotonic() + trigger.maximum_batching_window_s
            elif not messages and wait == 0:
                await self._sleep(min(SHORT_POLL_SPACING_S, deadline - time.monotonic()))
        return batch

    async def _process(self, batch: list[Received]) -> bool:
        """Invokes with the batch and deletes what succeeded; True when throttled."""
        trigger = self.trigger
        ids = [record["messageId"] for _, record in batch]
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        failure: Exception | None = None
        result: Any = None
        try:
            result = await self.invoke(trigger.function, batch_event(r for _, r in batch))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failure = error
        finally:
            self.in_flight -= 1
        keep = failed_ids(
            ids,
            error=failure is not None,
            result=result,
            report_failures=trigger.report_batch_item_failures,
        )
        deleted = await self._delete([m for m, r in batch if r["messageId"] not in keep])
        throttled = getattr(failure, "status", None) == 429
        outcome = (
            f"throttled ({failure})"
            if throttled
            else f"failed ({failure})"
            if failure is not None
            else "ok"
        )
        log.info(
            "%s: batch of %d from %s %s: %d deleted, %d left for redelivery",
            trigger.function,
            len(batch),
            trigger.queue_name,
            outcome,
            deleted,
            len(batch) - deleted,
        )
        return throttled

    async def _delete(self, messages: list[dict[str, Any]]) -> int:
        """DeleteMessageBatch in chunks of 10; a delete SQS refuses (say, an expired receipt
        handle) leaves the message to come back: at-least-once, as on AWS."""
        deleted = 0
        for start in range(0, len(messages), DELETE_LIMIT):
            chunk = messages[start : start + DELETE_LIMIT]
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
            ]
            try:
                reply = await self.control.delete_message_batch(
                    QueueUrl=self.queue_url, Entries=entries
                )
            except (ClientError, BotoCoreError) as error:
                log.warning("DeleteMessageBatch on %s: %s", self.trigger.queue_name, error)
                continue
            for failed in reply.get("Failed") or []:
                log.warning(
                    "DeleteMessageBatch on %s: %s (%s); it will be delivered again",
                    self.trigger.queue_name,
                    failed.get("Message"),
                    failed.get("Code"),
                )
            deleted += len(reply.get("Successful") or [])
        return deleted

    async def _release(self, batch: list[Received]) -> None:
        """At the emulator's shutdown, messages received but not yet invoked are made visible
        again at once instead of after the visibility timeout (they were never invoked)."""
        for start in range(0, len(batch), DELETE_LIMIT):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, (m, _) in enumerate(batch[start : start + DELETE_LIMIT])
            ]
            with contextlib.suppress(ClientError, BotoCoreError):
                await self.control.change_message_visibility_batch(
                    QueueUrl=self.queue_url, Entries=entries
                )


class SqsEventSourceMappings:
    """Every enabled `sqs` trigger of a service, polled as Lambda polls SQS."""

    def __init__(
        self,
        service: Service,
        invoke: Invoke,
        *,
        session: aiobotocore.session.AioSession | None = None,
        stop_timeout_s: float | None = None,
        max_wait_s: int = RECEIVE_WAIT_LIMIT_S,
        local_slots: Callable[[str], int] | None = None,
    ) -> None:
        """`local_slots(function)`: how many invocations of it run at once here
        (runtime.LambdaRuntime.local_slots); no queue takes more batches than that."""
        if not 0 <= max_wait_s <= RECEIVE_WAIT_LIMIT_S:
            raise ValueError(f"max_wait_s must be 0 to {RECEIVE_WAIT_LIMIT_S}")
        self.service = service
        self.invoke = invoke
        self.session = session or aiobotocore.session.get_session()
        self.triggers = [t for t in service.sqs_triggers if t.enabled]
        timeouts = [f.timeout_s for f in service.functions.values()] or [0.0]
        self.stop_timeout_s = (
            stop_timeout_s if stop_timeout_s is not None else max(timeouts) + STOP_GRACE_S
        )
        self.max_wait_s = max_wait_s
        self.local_slots = local_slots
        self.pollers: list[QueuePoller] = []
        self._stack = AsyncExitStack()

    async def start(self) -> None:
        """Checks each queue as CreateEventSourceMapping does (MappingError, e.g. a function
        timeout above the queue's visibility timeout) and starts its lanes."""
        if not self.triggers:
            return
        lanes = sum(t.maximum_concurrency or DEFAULT_MAXIMUM_CONCURRENCY for t in self.triggers)
        receiving = AioConfig(max_pool_connections=lanes + POOL_HEADROOM)
        sqs = await self._stack.enter_async_context(
            self.session.create_client("sqs", region_name=self.service.region, config=receiving)
        )
        control = await self._stack.enter_async_context(
            self.session.create_client("sqs", region_name=self.service.region)
        )
        for trigger in self.triggers:
            url = await self._queue_url(sqs, trigger)
            reply = await sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["VisibilityTimeout"]
            )
            visibility = int(reply["Attributes"]["VisibilityTimeout"])
            timeout = self.service.functions[trigger.function].timeout_s
            if timeout > visibility:
                raise MappingError(
                    f"{trigger.function}: its timeout of {timeout:g} s exceeds the visibility "
                    f"timeout of {trigger.queue_name} ({visibility} s); Lambda refuses such an "
                    "event source mapping (InvalidParameterValueException)"
                )
            poller = QueuePoller(
                trigger,
                url,
                sqs=sqs,
                control=control,
                invoke=self.invoke,
                region=self.service.region,
                max_wait_s=self.max_wait_s,
                local_slots=None
                if self.local_slots is None
                else self.local_slots(trigger.function),
            )
            poller.start()
            self.pollers.append(poller)

    @staticmethod
    async def _queue_url(sqs: Any, trigger: SqsTrigger) -> str:
        try:
            reply = await sqs.get_queue_url(
                QueueName=trigger.queue_name, QueueOwnerAWSAccountId=trigger.account_id
            )
        except ClientError as error:
            raise MappingError(
                f"{trigger.function}: queue {trigger.queue_arn} not found ({error})"
            ) from error
        return str(reply["QueueUrl"])

    async def stop(self) -> None:
        """Ends the long polls at once, lets batches being invoked finish (bounded by
        stop_timeout_s, then cancelled: those messages come back after their visibility
        timeout) and closes the client; no task is left behind."""
        for poller in self.pollers:
            poller.stop()
        tasks = [task for poller in self.pollers for task in poller.tasks]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.stop_timeout_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.pollers.clear()
        await self._stack.aclose()
