"""The shipper: every event goes both ways with the same EventId and SentAt.

The Kinesis path's bounded buffer is the shipper's queue: `submit` waits when it is full, so a
slow stream slows the players rather than losing presses; the WebSocket path never waits (its
own bounded buffer drops the oldest). Ctrl-C flushes both within one time limit."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from messages import (
    Event,
    EventType,
    MessageField,
    Source,
    encode_kinesis_data,
    submit_envelope,
)

from .batching import Entry
from .kinesis import KinesisPath
from .websocket import WebSocketPath

__all__ = ["PARTITION_KEY_MODES", "Shipper", "Summary", "partition_key_for"]

PARTITION_KEY_MODES = ("color", "random")


def partition_key_for(event: Event, mode: str = "color") -> str:
    """A player's colour keeps that player's presses in order (one key, one shard); other
    events are keyed by type. `random` spreads load evenly, for load tests."""
    if mode == "random":
        return uuid.uuid4().hex
    if mode != "color":
        raise ValueError(
            f"partition key mode {mode!r}; use one of {', '.join(PARTITION_KEY_MODES)}"
        )
    color = event.message.get(MessageField.COLOR)
    if event.message_type is EventType.NES_CLICK and isinstance(color, str):
        return color
    return event.message_type.value


@dataclass(frozen=True, slots=True)
class Summary:
    submitted: int
    kinesis_sent: int
    websocket_sent: int
    retried: int
    dropped: int
    spilled: int
    lost: int = 0
    websocket_failed: int = 0
    websocket_refused: int = 0
    kinesis_calls: int = 0
    kinesis_failed_calls: int = 0
    websocket_connects: int = 0
    websocket_handshakes_refused: int = 0

    @property
    def websocket_unanswered(self) -> int:
        """WebSocket submits sent and not refused: as far as the producer can tell, delivered
        (the submit route answers only errors)."""
        return max(0, self.websocket_sent - self.websocket_failed - self.websocket_refused)

    def lines(self) -> list[str]:
        return [
            f"submitted {self.submitted}",
            f"sent: kinesis {self.kinesis_sent}, websocket {self.websocket_sent}",
            f"kinesis PutRecords calls {self.kinesis_calls} ({self.kinesis_failed_calls} failed)",
            f"websocket connects {self.websocket_connects} "
            f"({self.websocket_handshakes_refused} refused)",
            f"websocket errors: failed {self.websocket_failed} (the gateway: throttled, failed "
            f"or timed out), refused {self.websocket_refused} (no route or invalid)",
            f"retried {self.retried} (kinesis entries resent)",
            f"dropped {self.dropped} (websocket buffer overflow or unsent at exit)",
            f"spilled {self.spilled} (to the dead-letter file)",
            *(
                [f"LOST {self.lost} (the dead-letter file could not be written)"]
                if self.lost
                else []
            ),
        ]


class Shipper:
    def __init__(
        self,
        kinesis: KinesisPath | None,
        websocket: WebSocketPath | None,
        *,
        partition_key: str = "color",
    ) -> None:
        if partition_key not in PARTITION_KEY_MODES:
            partition_key_for(
                Event.create(EventType.TRANSCRIBE_EVENT, {MessageField.TRANSCRIBED_TEXT: ""}),
                partition_key,
            )
        self.kinesis = kinesis
        self.websocket = websocket
        self.partition_key = partition_key
        self.submitted = 0

    async def __aenter__(self) -> Shipper:
        self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close(5.0)

    def start(self) -> None:
        if self.kinesis is not None:
            self.kinesis.start()
        if self.websocket is not None:
            self.websocket.start()

    async def submit(self, event: Event, *, websocket: bool = True, kinesis: bool = True) -> None:
        self.submitted += 1
        if websocket and self.websocket is not None:
            self.websocket.offer(submit_envelope(event.with_source(Source.WEBSOCKET)))
        if kinesis and self.kinesis is not None:
            entry = Entry(
                event.event_id,
                partition_key_for(event, self.partition_key),
                encode_kinesis_data(event.with_source(Source.KINESIS)),
                asyncio.get_running_loop().time(),
            )
            await self.kinesis.put(entry)

    async def close(self, timeout_s: float) -> Summary:
        """Flush both paths at once, each within `timeout_s`."""
        closing = [p.close(timeout_s) for p in (self.kinesis, self.websocket) if p is not None]
        await asyncio.gather(*closing)
        return self.summary()

    def summary(self) -> Summary:
        k = self.kinesis.stats if self.kinesis is not None else None
        w = self.websocket.stats if self.websocket is not None else None
        return Summary(
            submitted=self.submitted,
            kinesis_sent=k.sent if k else 0,
            websocket_sent=w.sent if w else 0,
            retried=k.retried if k else 0,
            dropped=w.dropped if w else 0,
            spilled=k.spilled if k else 0,
            lost=k.lost if k else 0,
            websocket_failed=w.failed if w else 0,
            websocket_refused=w.rejected if w else 0,
            kinesis_calls=k.calls if k else 0,
            kinesis_failed_calls=k.failed_calls if k else 0,
            websocket_connects=w.connects if w else 0,
            websocket_handshakes_refused=w.refused if w else 0,
        )
