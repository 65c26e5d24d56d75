"""The pure half of the fan-out: which connection gets which frame, and what a failed post
means. No I/O here, so every decision is tested directly."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from messages import Event, Source, first_match, spectator_frame
from messages.backoff import full_jitter_s

from .store import Subscriber

__all__ = [
    "MAX_POST_BYTES",
    "OVERFLOW_LIMIT",
    "Answer",
    "Outcome",
    "OverflowRule",
    "Plan",
    "Post",
    "RetryPolicy",
    "classify",
    "plan_posts",
]

# API Gateway management API: PostToConnection Data is at most 128 KB.
MAX_POST_BYTES = 131_072

# Throttling of the API itself; LimitExceededException (a full client buffer) is not here.
_THROTTLING = frozenset({"ThrottlingException", "TooManyRequestsException"})


@dataclass(frozen=True, slots=True)
class Post:
    """One frame for one connection; `tag` says which event (record) it carries. A batched
    frame (processor.batching) carries several: `more_tags` are the ones after `tag`, in order,
    and its failure fails all of them."""

    connection_id: str
    endpoint: str
    data: bytes
    tag: int
    more_tags: tuple[int, ...] = ()

    @property
    def tags(self) -> tuple[int, ...]:
        return (self.tag, *self.more_tags)

    @property
    def events(self) -> int:
        return 1 + len(self.more_tags)


@dataclass(frozen=True, slots=True)
class Plan:
    posts: list[Post]
    filtered: int  # subscribers of the type whose filters all said no


def plan_posts(
    event: Event,
    source: Source,
    subscribers: Iterable[Subscriber],
    endpoint_of: Callable[[Subscriber], str],
    tag: int = 0,
) -> Plan:
    """One frame per connection: the first matching subscription, in the client's order,
    decides the projection. Frames are built once per distinct projection, not per connection."""
    stamped = event.with_source(source)
    frames: dict[tuple[str, ...] | None, bytes] = {}
    posts: list[Post] = []
    filtered = 0
    for subscriber in subscribers:
        chosen = first_match(subscriber.subscriptions, stamped.message_type, stamped.message)
        if chosen is None:
            filtered += 1
            continue
        data = frames.get(chosen.desired_fields)
        if data is None:
            data = spectator_frame(stamped, source, chosen.project(stamped.message)).encode()
            frames[chosen.desired_fields] = data
        posts.append(Post(subscriber.connection_id, endpoint_of(subscriber), data, tag))
    return Plan(posts, filtered)


class Outcome(Enum):
    DELIVERED = "delivered"
    GONE = "gone"  # 410: the connection is closed; remove it, don't retry
    OVERFLOW = "overflow"  # 429 LimitExceededException: this client is not reading
    RETRY = "retry"  # the API throttled, 5xx or no answer: worth another try
    REJECTED = "rejected"  # 4xx that another try won't fix (413, 403, bad id)


@dataclass(frozen=True, slots=True)
class Answer:
    """What @connections said: the HTTP status (None: no answer) and the error type if any."""

    status: int | None
    code: str | None = None


def classify(answer: Answer) -> Outcome:
    """What a @connections answer means. API Gateway answers 429 LimitExceededException when
    the client's buffer is full (its documentation also names "more than the allowed number
    of requests per unit of time"): either way it belongs to one connection. An account-level
    throttle (ThrottlingException, TooManyRequestsException), a 5xx or no answer at all
    belongs to the endpoint, so to every connection behind it."""
    status, code = answer.status, answer.code
    if status is None:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410 or code == "GoneException":
        return Outcome.GONE
    if code in _THROTTLING or status >= 500:
        return Outcome.RETRY
    if status == 429 or code == "LimitExceededException":
        return Outcome.OVERFLOW
    return Outcome.REJECTED


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying one frame. A failure of the endpoint is worth seconds; a
    client that is not reading gets a brief chance to catch up (tens of milliseconds), then
    its frame is dropped, so one stalled reader never holds a batch for everyone."""

    max_attempts: int = 5
    base_s: float = 0.02
    cap_s: float = 1.0
    overflow_attempts: int = 3
    overflow_base_s: float = 0.01
    overflow_cap_s: float = 0.05

    def delay_s(self, outcome: Outcome, attempt: int, draw: float) -> float | None:
        """Seconds to wait before another try after `attempt` (from 0) failed with
        `outcome`, or None: give up on this frame."""
        if outcome is Outcome.RETRY and attempt + 1 < self.max_attempts:
            return full_jitter_s(attempt, draw, self.base_s, self.cap_s)
        if outcome is Outcome.OVERFLOW and attempt + 1 < self.overflow_attempts:
            return full_jitter_s(attempt, draw, self.overflow_base_s, self.overflow_cap_s)
        return None


# A reader whose frames were dropped this many times in a row is closed: at 1 MB of buffer
# (the gateway's, AWS publishes none) that is a client thousands of frames behind.
OVERFLOW_LIMIT = 10
_OVERFLOW_TRACKED_MAX = 10_000


class OverflowRule:
    """When to give up on a connection that does not read: `limit` consecutive dropped
    frames. The count lives in this container's warm fan-out, not in the table: a write per
    delivered frame to reset it would double the fan-out's cost. Several containers each count
    on their own; a reader that never reads overflows in all of them, so one reaches the limit,
    and a reader that reads at all gets deliveries from each of them, each resetting the count
    of the container that made it."""

    def __init__(
        self, limit: int = OVERFLOW_LIMIT, tracked_max: int = _OVERFLOW_TRACKED_MAX
    ) -> None:
        if limit < 1:
            raise ValueError("the overflow limit must be at least 1")
        self.limit = limit
        self._tracked_max = tracked_max
        self._dropped: dict[str, int] = {}

    def delivered(self, connection_id: str) -> None:
        if self._dropped:
            self._dropped.pop(connection_id, None)

    def dropped(self, connection_id: str) -> bool:
        """Counts a dropped frame; True when the connection should be closed."""
        count = self._dropped.pop(connection_id, 0) + 1
        if count >= self.limit:
            return True
        if len(self._dropped) >= self._tracked_max:  # the oldest entry goes (insertion order)
            self._dropped.pop(next(iter(self._dropped)))
        self._dropped[connection_id] = count
        return False

    def forget(self, connection_id: str) -> None:
        self._dropped.pop(connection_id, None)

    def count(self, connection_id: str) -> int:
        return self._dropped.get(connection_id, 0)
