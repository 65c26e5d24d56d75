"""The I/O half of the fan-out: posts frames through a @connections client with bounded
concurrency; what each answer means and how long to keep trying are processor.fanout's.

Frames for one connection go out in order (one worker owns a connection at a time); up to
`concurrency` connections are served at once. A failure that belongs to one connection (410,
a full client buffer, 413) stays with it; only a failure of the endpoint (5xx, throttling of
the API, no answer) outlives the retries as `failed_tags`, the records worth another try.

Whether a 5xx belongs to the endpoint or to one connection is judged by the endpoint's other
answers in the same invocation: when it delivered to anyone, it is up, and the connection
whose frame still failed after its retries loses that frame (counted as `abandoned`) rather
than the whole record going back to the stream to be re-sent to every subscriber.

A batched post (processor.batching) carries several records: it is one frame here like any
other (one attempt, one 410, one 413, one dropped frame), and when it fails for the endpoint
every record it carried is in `failed_tags`, once; another connection's frames of the same
records are untouched."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from .fanout import MAX_POST_BYTES, Answer, Outcome, OverflowRule, Post, RetryPolicy, classify
from .report import FanoutReport

__all__ = [
    "DEFAULT_CONCURRENCY",
    "BotocoreConnectionsApi",
    "ConnectionsApi",
    "Deliverer",
]

DEFAULT_CONCURRENCY = 64


class ConnectionsApi(Protocol):
    """PostToConnection and DeleteConnection, answering with what the API said."""

    async def post(self, endpoint: str, connection_id: str, data: bytes) -> Answer: ...

    async def delete(self, endpoint: str, connection_id: str) -> Answer: ...


ClientFor = Callable[[str], Awaitable[Any]]


class BotocoreConnectionsApi:
    """The same calls through aiobotocore clients (`client_for(endpoint)` gives one open
    apigatewaymanagementapi client): the reference the signed path is measured against."""

    def __init__(self, client_for: ClientFor) -> None:
        self._client_for = client_for

    async def post(self, endpoint: str, connection_id: str, data: bytes) -> Answer:
        client = await self._client_for(endpoint)
        return await _answer(client.post_to_connection(ConnectionId=connection_id, Data=data))

    async def delete(self, endpoint: str, connection_id: str) -> Answer:
        client = await self._client_for(endpoint)
        return await _answer(client.delete_connection(ConnectionId=connection_id))


async def _answer(call: Awaitable[Any]) -> Answer:
    try:
        response = await call
    except ClientError as exc:  # GoneException is a ClientError: classify() knows its code
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return Answer(status or 500, exc.response.get("Error", {}).get("Code"))
    except (TimeoutError, BotoCoreError, OSError) as exc:
        return Answer(None, type(exc).__name__)
    return Answer(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 200))


@dataclass(slots=True)
class _Round:
    """One delivery's bookkeeping that is not a count: where it delivered (judging a 5xx,
    see the module's docstring) and the frames whose endpoint failed."""

    report: FanoutReport
    delivered_to: dict[str, int] = field(default_factory=dict)
    failures: list[Post] = field(default_factory=list)


@dataclass(slots=True)
class _Lane:
    """One connection's frames in order, and how far its delivery has got."""

    posts: list[Post]
    index: int = 0
    overflowed: bool = False


class Deliverer:
    def __init__(
        self,
        api: ConnectionsApi,
        concurrency: int = DEFAULT_CONCURRENCY,
        policy: RetryPolicy | None = None,
        overflow: OverflowRule | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.api = api
        self.concurrency = concurrency
        self.policy = policy or RetryPolicy()
        self.overflow = overflow or OverflowRule()
        self._sleep = sleep
        self._draw = draw

    async def deliver(
        self, posts: Sequence[Post], report: FanoutReport | None = None
    ) -> FanoutReport:
        """Posts them all and adds what happened to `report` (a new one if none is given)."""
        report = FanoutReport() if report is None else report
        by_connection: dict[str, list[Post]] = {}
        for post in posts:
            by_connection.setdefault(post.connection_id, []).append(post)
        queue = deque(_Lane(frames) for frames in by_connection.values())
        workers = min(self.concurrency, len(queue))
        done = _Round(report)
        await asyncio.gather(*(self._worker(queue, done) for _ in range(workers)))
        for failed in done.failures:
            if done.delivered_to.get(failed.endpoint):
                report.abandoned += 1
            else:
                report.failed += 1
                report.failed_tags.update(failed.tags)
        return report

    async def _worker(self, queue: deque[_Lane], done: _Round) -> None:
        """Round robin: a worker takes a connection, posts its next frame and puts it back at
        the end. A connection is out of the queue while its post is in flight, so its frames
        keep their order, and every subscriber's first frame goes out before anyone's
        second: `concurrency` posts stay in flight until fewer connections have frames."""
        while queue:
            lane = queue.popleft()
            if await self._next(lane, done):
                queue.append(lane)

    async def _next(self, lane: _Lane, done: _Round) -> bool:
        """Posts the lane's next frame; False when the connection has nothing more to get.
        After a dropped frame the rest get a single try each: the reader had its brief
        chance in this invocation."""
        report = done.report
        post = lane.posts[lane.index]
        lane.index += 1
        left = len(lane.posts) - lane.index
        outcome = await self._post(post, report, retry_overflow=not lane.overflowed)
        if outcome is Outcome.DELIVERED:
            report.delivered += 1
            report.events_delivered += post.events
            done.delivered_to[post.endpoint] = done.delivered_to.get(post.endpoint, 0) + 1
            self.overflow.delivered(post.connection_id)
        elif outcome is Outcome.GONE:
            # The rest of this connection's frames would be 410 too.
            report.gone += 1
            report.gone_ids.add(post.connection_id)
            self.overflow.forget(post.connection_id)
            return False
        elif outcome is Outcome.OVERFLOW:
            report.dropped += 1
            lane.overflowed = True
            if self.overflow.dropped(post.connection_id):
                report.dropped += left
                await self._close(post, report)
                return False
        elif outcome is Outcome.REJECTED:
            report.rejected += 1
        else:  # judged once every lane is done: see the module's docstring
            done.failures.append(post)
        return left > 0

    async def _close(self, post: Post, report: FanoutReport) -> None:
        """A reader that never reads is disconnected (@connections DELETE; on AWS that runs
        its $disconnect) and leaves the table either way."""
        self.overflow.forget(post.connection_id)
        report.post_attempts += 1
        await self.api.delete(post.endpoint, post.connection_id)
        report.closed += 1
        report.closed_ids.add(post.connection_id)

    async def _post(self, post: Post, report: FanoutReport, retry_overflow: bool) -> Outcome:
        if len(post.data) > MAX_POST_BYTES:
            _count(report.rejected_codes, "PayloadTooLargeException")
            return Outcome.REJECTED
        attempt = 0
        while True:
            report.post_attempts += 1
            answer = await self.api.post(post.endpoint, post.connection_id, post.data)
            outcome = classify(answer)
            if outcome is Outcome.REJECTED:
                _count(report.rejected_codes, answer.code or str(answer.status))
            if outcome is Outcome.OVERFLOW and not retry_overflow:
                return outcome
            delay = self.policy.delay_s(outcome, attempt, self._draw())
            if delay is None:
                return outcome
            await self._sleep(delay)
            attempt += 1


def _count(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1
