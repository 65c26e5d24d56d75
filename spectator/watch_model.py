"""The watcher's state, free of I/O: what it subscribes to, and what it makes of each frame."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from messages import (
    EVENT_TYPES,
    MATCH_ALL,
    STATUS,
    STATUS_ERROR,
    STATUS_SUBSCRIBED,
    Source,
    Subscription,
    ValidationError,
    parse_event_type,
    parse_subscriptions,
    unbatch,
)
from messages.envelopes import FRAME_EVENT_ID, FRAME_SENT_AT, FRAME_SOURCE, SUBSCRIPTIONS

from .latency import LatencyWindow

__all__ = [
    "RECENT_ROWS",
    "Received",
    "WatchState",
    "build_subscriptions",
    "describe_error",
    "frame_json",
]

RECENT_ROWS = 15
# Ids remembered per path for spotting duplicates; forgotten all at once past this many.
SEEN_IDS_KEPT = 10_000


def build_subscriptions(
    types: list[str], filter_expr: str | None, fields: list[str] | None
) -> list[Subscription]:
    """One subscription per type (all five when none are named) with the same filter and
    projection; `filter_expr` is `FIELD=GLOB`. Checked by the rules the gateway applies, so a
    typo fails before connecting, with the valid names in the message."""
    filter_field: str | None = None
    glob = MATCH_ALL
    if filter_expr is not None:
        filter_field, sep, glob = filter_expr.partition("=")
        if not sep or not filter_field or not glob:
            raise ValidationError("--filter", f"{filter_expr!r} is not FIELD=GLOB (e.g. color=red)")
    projection = tuple(fields) if fields else None
    chosen = [parse_event_type(t, "--types") for t in (types or EVENT_TYPES)]
    return parse_subscriptions(
        [Subscription(t, filter_field, glob, projection).to_dict() for t in chosen]
    )


@dataclass(frozen=True, slots=True)
class Received:
    """What one text frame turned out to be."""

    kind: str  # "event", "invalid", or a control frame's status (subscribed, error)
    frame: dict[str, Any]
    latency_ms: float | None = None
    duplicate: bool = False

    @property
    def source(self) -> str | None:
        value = self.frame.get(FRAME_SOURCE)
        return value if isinstance(value, str) else None


def _paths() -> dict[str, Any]:
    """The fast path first, as the page shows them."""
    return {Source.WEBSOCKET.value: None, Source.KINESIS.value: None}


@dataclass
class WatchState:
    """Per path: latency of the last events (duplicates excluded) and duplicate counts."""

    latency: dict[str, LatencyWindow] = field(
        default_factory=lambda: {p: LatencyWindow() for p in _paths()}
    )
    duplicates: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_paths(), 0))
    recent: deque[Received] = field(default_factory=lambda: deque(maxlen=RECENT_ROWS))
    seen: dict[str, set[str]] = field(default_factory=lambda: {p: set() for p in _paths()})
    events: int = 0
    invalid: int = 0
    subscribed: list[dict[str, Any]] | None = None

    def receive(self, text: str | bytes, now_ms: float) -> Received:
        """One text frame taken in whole; what its last inner frame was (see receive_frames)."""
        received = list(self.receive_frames(text, now_ms))
        if not received:  # `{"frames": []}`: nothing the gateway sends
            self.invalid += 1
            return Received("invalid", {"raw": str(text)[:200]})
        return received[-1]

    def receive_frames(self, text: str | bytes, now_ms: float) -> Iterator[Received]:
        """The frames one text frame holds, in order: the events of a batched frame
        (`{"frames": [...]}`, messages.batches) or the frame itself. Each is applied to the
        state as it is taken, so a caller sees the state after each event (the JSON output
        prints every one, not only a batch's last)."""
        try:
            frames = unbatch(text)
        except (ValueError, TypeError):
            self.invalid += 1
            yield Received("invalid", {"raw": str(text)[:200]})
            return
        for frame in frames:
            yield self._apply(frame, now_ms)

    def _apply(self, frame: dict[str, Any], now_ms: float) -> Received:
        status = frame.get(STATUS)
        if status == STATUS_SUBSCRIBED:
            self.subscribed = list(frame.get(SUBSCRIPTIONS) or [])
            return Received(STATUS_SUBSCRIBED, frame)
        if status == STATUS_ERROR:
            return Received(STATUS_ERROR, frame)
        source, sent_at = frame.get(FRAME_SOURCE), frame.get(FRAME_SENT_AT)
        event_id = str(frame.get(FRAME_EVENT_ID))
        if source not in self.latency or not isinstance(sent_at, int | float):
            self.invalid += 1
            return Received("invalid", frame)
        self.events += 1
        latency = now_ms - sent_at
        seen = self.seen[source]
        duplicate = event_id in seen
        if duplicate:
            self.duplicates[source] += 1
        else:
            if len(seen) >= SEEN_IDS_KEPT:
                seen.clear()
            seen.add(event_id)
            self.latency[source].add(latency)
        received = Received("event", frame, latency, duplicate)
        self.recent.append(received)
        return received


def describe_error(frame: dict[str, Any]) -> str:
    """An error control frame as one line (its keys are the gateway's, shown as they are)."""
    return ", ".join(f"{k}={v}" for k, v in frame.items() if k != STATUS and v is not None)


def frame_json(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"))
