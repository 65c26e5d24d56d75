"""Batched frames (issue 22): a connection that subscribed with `"batched": true` receives, on
the Kinesis path, one frame per invocation, `{"frames": [<spectator frame>, ...]}`, holding
every event of the batch it matched, in the batch's order. The processor builds them here and
clients take them apart here, so no one else spells `frames`.

A batched frame never exceeds API Gateway's WebSocket frame size (32 KB): the events are split
into several batched frames, in order, when one would. A single spectator frame that alone is
over that size is sent as it is, unbatched, under the rules of every other frame (the 128 KB
message payload; API Gateway fragments it into frames itself), so `unbatch` takes both shapes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .decoding import loads
from .envelopes import parsed_frame
from .errors import ValidationError

__all__ = ["FRAMES", "MAX_FRAME_BYTES", "Batch", "batched_frame", "batched_frames", "unbatch"]

# The key of a batched frame: the list of spectator frames it holds.
FRAMES = "frames"
# Amazon API Gateway quotas for WebSocket APIs: "WebSocket frame size: 32 KB" (and messages
# are metered in 32 KB increments, so a batched frame up to this size is billed as one).
MAX_FRAME_BYTES = 32_768

_OPEN = json.dumps({FRAMES: []}, separators=(",", ":"))[:-2].encode()  # b'{"frames":['
_CLOSE = b"]}"
_EMPTY = len(_OPEN) + len(_CLOSE)


@dataclass(frozen=True, slots=True)
class Batch:
    """One frame to post: its bytes, and how many of the frames given it carries (in order,
    from where the previous batch stopped)."""

    data: bytes
    count: int


def batched_frame(frames: Sequence[bytes]) -> bytes:
    """`{"frames": [...]}` of already encoded spectator frames, joined as bytes: the frames
    are compact JSON the processor built, so joining them is the encoding, without parsing
    and dumping each again for every distinct batch."""
    return _OPEN + b",".join(frames) + _CLOSE


def batched_frames(frames: Sequence[bytes], limit: int = MAX_FRAME_BYTES) -> list[Batch]:
    """The frames packed, in order, into as few batched frames of at most `limit` bytes as
    order allows (each as full as the next frame lets it be). A frame that would not fit
    even alone goes as itself (count 1, not wrapped); see the module's docstring."""
    if limit <= _EMPTY:
        raise ValueError(f"a batched frame needs more than {_EMPTY} bytes")
    batches: list[Batch] = []
    start, size = 0, _EMPTY
    for index, frame in enumerate(frames):
        if _EMPTY + len(frame) > limit:  # over the limit alone: unbatched, as any frame
            if index > start:
                batches.append(Batch(batched_frame(frames[start:index]), index - start))
            batches.append(Batch(frame, 1))
            start, size = index + 1, _EMPTY
            continue
        grown = size + len(frame) + (1 if index > start else 0)  # the comma
        if grown > limit:
            batches.append(Batch(batched_frame(frames[start:index]), index - start))
            start, grown = index, _EMPTY + len(frame)
        size = grown
    if len(frames) > start:
        batches.append(Batch(batched_frame(frames[start:]), len(frames) - start))
    return batches


def unbatch(frame: str | bytes, *, payloads: bool = True) -> list[dict[str, Any]]:
    """The frames a received frame holds, in order, each as decode_spectator_frame gives it
    (payload parsed): the inner frames of a batched frame, or the frame itself (an unbatched
    event, a subscribed or error answer). ValidationError, naming the part at fault, for
    anything else. `payloads=False` leaves each payload the JSON string it came as, for a
    client that only counts events (a crowd of thousands in one process)."""
    decoded = loads(frame, "frame")
    if not isinstance(decoded, dict):
        raise ValidationError("frame", f"must be an object, not {type(decoded).__name__}")
    parse = parsed_frame if payloads else _as_is
    if FRAMES not in decoded:
        return [parse(decoded)]
    inner = decoded[FRAMES]
    if not isinstance(inner, list):
        raise ValidationError(FRAMES, f"must be a list, not {type(inner).__name__}")
    unpacked = []
    for index, item in enumerate(inner):
        where = f"{FRAMES}[{index}]"
        if not isinstance(item, dict):
            raise ValidationError(where, f"must be an object, not {type(item).__name__}")
        unpacked.append(parse(item, where))
    return unpacked


def _as_is(decoded: dict[str, Any], where: str = "") -> dict[str, Any]:
    return decoded
