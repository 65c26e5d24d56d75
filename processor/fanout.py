"""The pure half of the fan-out: which connection gets which frame, and what a failed post
means. No I/O here, so every decision is tested directly."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from messages import Event, Source, first_match, spectator_frame

from .store import Subscriber

__all__ = [
    "MAX_POST_BYTES",
    "Outcome",
    "Plan",
    "Post",
    "backoff_s",
    "classify",
    "plan_posts",
]

# API Gateway management API: PostToConnection Data is at most 128 KB.
MAX_POST_BYTES = 131_072

_THROTTLING = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)


@dataclass(frozen=True, slots=True)
class Post:
    """One frame for one connection; `tag` says which event (record) it carries."""

    connection_id: str
    endpoint: str
    data: bytes
    tag: int


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
    RETRY = "retry"  # throttled, 5xx or no answer: worth another try
    REJECTED = "rejected"  # 4xx that another try won't fix (413, 403, bad id)


def classify(status: int | None, code: str | None = None) -> Outcome:
    """What a @connections answer means; `status` None is a network failure."""
    if status is None:
        return Outcome.RETRY
    if 200 <= status < 300:
        return Outcome.DELIVERED
    if status == 410 or code == "GoneException":
        return Outcome.GONE
    if status == 429 or code in _THROTTLING or status >= 500:
        return Outcome.RETRY
    return Outcome.REJECTED


def backoff_s(attempt: int, draw: float, base_s: float = 0.02, cap_s: float = 1.0) -> float:
    """Exponential backoff with full jitter; `draw` in [0, 1) is the injected randomness."""
    scale: int = 2**attempt
    return draw * min(cap_s, base_s * scale)
