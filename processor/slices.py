"""The pure half of a fan-out that splits (issue 22): when one invocation's posts would take
longer than its budget, the subscribers are cut into slices, each a message to the fan-out
worker (processor.handlers.fanout_worker) through SQS, and the invocation waits for them
(processor.split). No I/O here, so every decision is tested directly.

A slice holds whole connections: every subscriber record of a connection (one per event type
it subscribed to) goes in the same slice, so a batched connection still gets one frame per
batch and its frames keep the batch's order. A slice carries the events its connections need
(all of the invocation's, in their order, with the tags the trigger numbered them by) and,
for each connection, what the lookup found; the worker plans the frames itself, exactly as the
trigger would have (processor.pipeline). Equal subscription lists and endpoints are written
once per message, so a slice of thousands of race-page spectators costs about 40 bytes each.

The budget: `TUMBLE_FANOUT_BUDGET_S` (default 1 s) at `TUMBLE_FANOUT_POSTS_PER_S` posts a
second per invocation (default 7,000: one invocation's rate to 1,000 subscribers in
results/example/REPORT.md, "Fan-out"), so 7,000 posts a slice; `TUMBLE_FANOUT_SLICE_POSTS`
sets that number directly. A connection's cost is the posts it will get: one per event
(unbatched), one per batch (batched, a frame holds up to 32 KB). An SQS message is at most
256 KB, so a slice also ends where its message would pass MAX_MESSAGE_BYTES."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from messages import (
    ContractError,
    Event,
    Source,
    Subscription,
    ValidationError,
    decode_event,
    event_body,
)

from .store import Subscriber

__all__ = [
    "DEFAULT_BUDGET_S",
    "DEFAULT_POSTS_PER_S",
    "MAX_MESSAGE_BYTES",
    "Slice",
    "SliceError",
    "chunk_events",
    "decode_slice",
    "encode_slice",
    "plan_slices",
    "slice_posts",
]

DEFAULT_BUDGET_S = 1.0
DEFAULT_POSTS_PER_S = 7_000
# SQS: a message, and a SendMessageBatch's entries together, are at most 256 KiB; what a
# message holds besides the slice (its SQS attributes) is kept below the margin.
MAX_MESSAGE_BYTES = 256 * 1024 - 4 * 1024
# The events of one message at most: the rest of it is for connections. A batch whose events
# are more than this goes out in rounds of events, each waited for before the next.
MAX_EVENT_BYTES = 96 * 1024
FORMAT = 1

Tagged = tuple[int, Event]


class SliceError(ContractError):
    """A message on the fan-out queue that is not a slice: never retried, it cannot become
    one."""


@dataclass(frozen=True, slots=True)
class Slice:
    """One worker invocation's share of a fan-out: `run` names the trigger's invocation (its
    progress row), `index` of `count` this slice."""

    run: str
    index: int
    count: int
    source: Source
    events: list[Tagged]
    subscribers: dict[str, list[Subscriber]]  # by event type, as the lookup gave them

    @property
    def connections(self) -> int:
        return len({s.connection_id for group in self.subscribers.values() for s in group})


def slice_posts(environ: Mapping[str, str]) -> int:
    """Posts one slice may hold: the budget at the measured rate, or the number given."""
    given = environ.get("TUMBLE_FANOUT_SLICE_POSTS")
    if given:
        return _positive(given, "TUMBLE_FANOUT_SLICE_POSTS")
    budget = float(environ.get("TUMBLE_FANOUT_BUDGET_S") or DEFAULT_BUDGET_S)
    rate = float(environ.get("TUMBLE_FANOUT_POSTS_PER_S") or DEFAULT_POSTS_PER_S)
    if not (budget > 0 and rate > 0 and math.isfinite(budget * rate)):
        raise ValueError("TUMBLE_FANOUT_BUDGET_S and TUMBLE_FANOUT_POSTS_PER_S must be positive")
    return max(1, math.floor(budget * rate))


def _positive(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, not {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return number


def chunk_events(events: Sequence[Tagged], limit: int = MAX_EVENT_BYTES) -> list[list[Tagged]]:
    """The events in order, in rounds whose encoded size stays under `limit` (one event is
    at most 32 KB, so each round holds at least one)."""
    rounds: list[list[Tagged]] = [[]]
    size = 0
    for tagged in events:
        cost = len(_event_json(tagged[1])) + 16
        if rounds[-1] and size + cost > limit:
            rounds.append([])
            size = 0
        rounds[-1].append(tagged)
        size += cost
    return rounds if rounds[-1] else []


def plan_slices(
    subscribers: Mapping[str, Sequence[Subscriber]],
    events_per_type: Mapping[str, int],
    posts_per_slice: int,
    room_bytes: int = MAX_MESSAGE_BYTES - MAX_EVENT_BYTES,
) -> list[dict[str, list[Subscriber]]]:
    """The subscribers cut into slices of whole connections, in the lookup's order, each at
    most `posts_per_slice` posts (a connection that alone costs more gets a slice of its own)
    and `room_bytes` of message. One slice when everything fits: nothing to split."""
    records: dict[str, list[tuple[str, Subscriber]]] = {}
    for event_type, group in subscribers.items():
        for subscriber in group:
            records.setdefault(subscriber.connection_id, []).append((event_type, subscriber))
    slices: list[dict[str, list[Subscriber]]] = []
    current: dict[str, list[Subscriber]] = {}
    posts = size = 0
    for owned in records.values():
        batched = owned[0][1].batched
        cost = 1 if batched else sum(events_per_type.get(kind, 0) for kind, _ in owned)
        weight = sum(_subscriber_bytes(subscriber) for _, subscriber in owned)
        if current and (posts + cost > posts_per_slice or size + weight > room_bytes):
            slices.append(current)
            current, posts, size = {}, 0, 0
        for event_type, subscriber in owned:
            current.setdefault(event_type, []).append(subscriber)
        posts += cost
        size += weight
    if current:
        slices.append(current)
    return slices


def _subscriber_bytes(subscriber: Subscriber) -> int:
    """A generous estimate of a subscriber's share of a message (its lists are shared)."""
    return len(subscriber.connection_id) + 24


def _event_json(event: Event) -> str:
    return json.dumps(event_body(event), separators=(",", ":"))


def encode_slice(piece: Slice) -> str:
    """The message body: the events, then the tables of distinct endpoints and subscription
    lists, then each subscriber as [connection id, endpoint, list, batched]."""
    endpoints: dict[tuple[str, str], int] = {}
    lists: dict[tuple[Subscription, ...], int] = {}
    by_type: dict[str, list[list[Any]]] = {}
    for event_type, group in piece.subscribers.items():
        rows = by_type[event_type] = []
        for s in group:
            endpoint = endpoints.setdefault((s.domain_name, s.stage), len(endpoints))
            listed = lists.setdefault(s.subscriptions, len(lists))
            rows.append([s.connection_id, endpoint, listed, 1 if s.batched else 0])
    body = {
        "format": FORMAT,
        "run": piece.run,
        "slice": [piece.index, piece.count],
        "path": piece.source.value,
        "events": [[tag, event_body(event)] for tag, event in piece.events],
        "endpoints": [list(pair) for pair in endpoints],
        "lists": [[sub.to_dict() for sub in subs] for subs in lists],
        "subscribers": by_type,
    }
    return json.dumps(body, separators=(",", ":"))


def decode_slice(body: str) -> Slice:
    """The slice of a message; SliceError says what is wrong with one that is not."""
    try:
        raw = json.loads(body)
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise SliceError(f"not a fan-out slice of format {FORMAT}")
        index, count = raw["slice"]
        endpoints: list[tuple[str, str]] = [
            (str(domain), str(stage)) for domain, stage in raw["endpoints"]
        ]
        lists = [
            tuple(Subscription.from_dict(sub, "slice subscription") for sub in subs)
            for subs in raw["lists"]
        ]
        subscribers = {
            str(event_type): [
                Subscriber(
                    connection_id=str(cid),
                    domain_name=endpoints[endpoint][0],
                    stage=endpoints[endpoint][1],
                    subscriptions=lists[listed],
                    batched=bool(batched),
                )
                for cid, endpoint, listed, batched in rows
            ]
            for event_type, rows in raw["subscribers"].items()
        }
        events = [(int(tag), decode_event(event)) for tag, event in raw["events"]]
        return Slice(
            str(raw["run"]), int(index), int(count), Source(raw["path"]), events, subscribers
        )
    except SliceError:
        raise
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        kind = "invalid event" if isinstance(exc, ValidationError) else type(exc).__name__
        raise SliceError(f"not a fan-out slice ({kind}: {exc})") from None
