"""The batched half of the fan-out's planning (issue 22), pure like processor.fanout: a
connection that subscribed with `"batched": true` gets, from one Kinesis-path invocation, one
frame holding every event of the batch it matched, in the batch's order (so in each partition
key's order), split in order only where 32 KB would be passed (messages.batches).

On the Kinesis path the events already arrive a batch at a time, so holding them together
costs no latency and divides the @connections POSTs (API Gateway's account throttle, and its
bill, per message) by the events per batch. The WebSocket path never batches: see the README.

Speed, for a fan-out to thousands: the subscribers of a type that share one subscription list
(nearly all of them: the race page's list is every spectator's) are matched once per event,
not once each; each distinct frame (event, projection) is encoded once; and each distinct
sequence of frames is packed once, however many connections receive it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from messages import (
    MAX_FRAME_BYTES,
    Event,
    Source,
    Subscription,
    batched_frames,
    first_match,
    spectator_frame,
)

from .fanout import Post
from .store import Subscriber

__all__ = ["BatchPlanner", "Indexed", "split_batched"]

# An event of the invocation: its position in the batch (record order), its tag, the event.
Indexed = tuple[int, int, Event]
# What one connection matched: (position, tag, frame id), in position order.
_Matched = list[tuple[int, int, int]]


def split_batched(
    subscribers: Sequence[Subscriber],
) -> tuple[Sequence[Subscriber], list[Subscriber]]:
    """(unbatched, batched) subscribers; the list given back as it is when none is batched,
    so the talk's fan-out pays one pass over its subscribers and no copy."""
    batched = [s for s in subscribers if s.batched]
    if not batched:
        return subscribers, batched
    return [s for s in subscribers if not s.batched], batched


class BatchPlanner:
    """Gathers what each batched connection matched across the invocation's event types (a
    connection may subscribe to several; its frame follows the batch's order across them),
    then `posts()` packs and addresses them."""

    def __init__(
        self,
        source: Source,
        endpoint_of: Callable[[Subscriber], str],
        limit: int = MAX_FRAME_BYTES,
    ) -> None:
        self._source = source
        self._endpoint_of = endpoint_of
        self._limit = limit
        self._frames: list[bytes] = []
        self._frame_ids: dict[tuple[int, tuple[str, ...] | None], int] = {}
        self._matched: dict[str, _Matched] = {}
        self._subscribers: dict[str, Subscriber] = {}
        self.filtered = 0  # (subscriber, event) pairs whose filters all said no

    def add(self, events: Sequence[Indexed], subscribers: Sequence[Subscriber]) -> None:
        """The events of one type and that type's batched subscribers."""
        stamped = [
            (position, tag, event.with_source(self._source)) for position, tag, event in events
        ]
        alike: dict[tuple[Subscription, ...], list[Subscriber]] = {}
        for subscriber in subscribers:
            alike.setdefault(subscriber.subscriptions, []).append(subscriber)
        for subscriptions, members in alike.items():
            matched: _Matched = []
            for position, tag, event in stamped:
                chosen = first_match(subscriptions, event.message_type, event.message)
                if chosen is None:
                    self.filtered += len(members)
                    continue
                matched.append((position, tag, self._frame(position, event, chosen)))
            if matched:
                for subscriber in members:
                    self._take(subscriber, matched)

    def _frame(self, position: int, event: Event, chosen: Subscription) -> int:
        key = (position, chosen.desired_fields)
        frame_id = self._frame_ids.get(key)
        if frame_id is None:
            frame_id = self._frame_ids[key] = len(self._frames)
            message = chosen.project(event.message)
            self._frames.append(spectator_frame(event, self._source, message).encode())
        return frame_id

    def _take(self, subscriber: Subscriber, matched: _Matched) -> None:
        connection_id = subscriber.connection_id
        earlier = self._matched.get(connection_id)
        if earlier is None:
            self._matched[connection_id] = matched  # shared by every member: packed once
            self._subscribers[connection_id] = subscriber
        else:  # another type's events too: merged in the batch's order
            self._matched[connection_id] = sorted(earlier + matched)

    def posts(self) -> list[Post]:
        """One post per batched frame per connection, a connection's in order."""
        by_list: dict[int, list[Post]] = {}  # a shared match list, packed once
        by_frames: dict[tuple[int, ...], list[Post]] = {}  # equal lists, packed once
        posts: list[Post] = []
        for connection_id, matched in self._matched.items():
            packed = by_list.get(id(matched))
            if packed is None:
                key = tuple(frame_id for _, _, frame_id in matched)
                packed = by_frames.get(key)
                if packed is None:
                    packed = by_frames[key] = self._pack(matched)
                by_list[id(matched)] = packed
            endpoint = self._endpoint_of(self._subscribers[connection_id])
            posts.extend(Post(connection_id, endpoint, p.data, p.tag, p.more_tags) for p in packed)
        return posts

    def _pack(self, matched: _Matched) -> list[Post]:
        """The frames packed under the limit, each with the tags it carries (the connection
        and endpoint are filled in per receiver)."""
        batches = batched_frames(
            [self._frames[frame_id] for _, _, frame_id in matched], self._limit
        )
        packed: list[Post] = []
        start = 0
        for batch in batches:
            tags = tuple(tag for _, tag, _ in matched[start : start + batch.count])
            packed.append(Post("", "", batch.data, tags[0], tags[1:]))
            start += batch.count
        return packed
