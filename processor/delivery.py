"""The I/O half of the fan-out: posts frames through aiobotocore's apigatewaymanagementapi
with bounded concurrency, retrying throttled posts with backoff.

Frames for one connection go out in order (one worker owns a connection at a time); up to
`concurrency` connections are served at once."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .fanout import MAX_POST_BYTES, Outcome, Post, backoff_s, classify

__all__ = ["DEFAULT_CONCURRENCY", "Deliverer", "DeliveryReport"]

DEFAULT_CONCURRENCY = 64
DEFAULT_MAX_ATTEMPTS = 5


@dataclass(slots=True)
class DeliveryReport:
    delivered: int = 0
    gone: set[str] = field(default_factory=set)
    rejected: int = 0
    failed: int = 0  # retryable failures that outlived their retries
    failed_tags: set[int] = field(default_factory=set)
    attempts: int = 0  # posts tried, retries included: above the posts, throttling


ClientFor = Callable[[str], Awaitable[Any]]


class Deliverer:
    """`client_for(endpoint)` gives an open aiobotocore apigatewaymanagementapi client."""

    def __init__(
        self,
        client_for: ClientFor,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        if concurrency < 1 or max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")
        self._client_for = client_for
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self._sleep = sleep
        self._draw = draw

    async def deliver(self, posts: Sequence[Post]) -> DeliveryReport:
        report = DeliveryReport()
        by_connection: dict[str, list[Post]] = {}
        for post in posts:
            by_connection.setdefault(post.connection_id, []).append(post)
        queue = deque(by_connection.values())
        workers = min(self.concurrency, len(queue))
        await asyncio.gather(*(self._worker(queue, report) for _ in range(workers)))
        return report

    async def _worker(self, queue: deque[list[Post]], report: DeliveryReport) -> None:
        while queue:
            posts = queue.popleft()
            for post in posts:
                outcome = await self._post(post, report)
                if outcome is Outcome.DELIVERED:
                    report.delivered += 1
                elif outcome is Outcome.GONE:
                    # The rest of this connection's frames would be 410 too.
                    report.gone.add(post.connection_id)
                    break
                elif outcome is Outcome.REJECTED:
                    report.rejected += 1
                else:
                    report.failed += 1
                    report.failed_tags.add(post.tag)

    async def _post(self, post: Post, report: DeliveryReport) -> Outcome:
        if len(post.data) > MAX_POST_BYTES:
            return Outcome.REJECTED
        client = await self._client_for(post.endpoint)
        outcome = Outcome.RETRY
        for attempt in range(self.max_attempts):
            report.attempts += 1
            outcome = await self._attempt(client, post)
            if outcome is not Outcome.RETRY:
                return outcome
            if attempt + 1 < self.max_attempts:
                await self._sleep(backoff_s(attempt, self._draw()))
        return outcome

    @staticmethod
    async def _attempt(client: Any, post: Post) -> Outcome:
        try:
            await client.post_to_connection(ConnectionId=post.connection_id, Data=post.data)
        except ClientError as exc:  # GoneException is a ClientError: classify() knows it
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return classify(status or 500, error.get("Code"))
        except (TimeoutError, BotoCoreError, OSError):
            return classify(None)
        return Outcome.DELIVERED
