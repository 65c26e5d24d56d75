"""Batched frames: packing in order under API Gateway's 32 KB frame size, taking them apart,
and the subscribe request's `batched` opt-in and its echo."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import (
    FRAMES,
    MAX_FRAME_BYTES,
    Event,
    EventType,
    Source,
    Subscription,
    ValidationError,
    batched_frames,
    decode_spectator_frame,
    decode_subscribe,
    decode_subscribe_request,
    spectator_frame,
    subscribe_envelope,
    subscribed_frame,
    unbatch,
)


def frame(n: int, text: str = "") -> bytes:
    event = Event(EventType.TRANSCRIBE_EVENT, {"transcribed_text": text}, f"e{n}", n)
    return spectator_frame(event, Source.KINESIS, event.message).encode()


def ids(data: bytes) -> list[str]:
    return [f["event_id"] for f in unbatch(data)]


def test_frames_of_a_batch_go_in_one_frame_in_order():
    frames = [frame(n) for n in range(100)]
    [batch] = batched_frames(frames)
    assert batch.count == 100
    assert ids(batch.data) == [f"e{n}" for n in range(100)]
    assert unbatch(batch.data) == [decode_spectator_frame(f) for f in frames]


def test_one_frame_is_still_a_batched_frame():
    [batch] = batched_frames([frame(1)])
    assert json.loads(batch.data) == {FRAMES: [json.loads(frame(1))]}


def test_a_batch_over_32_kb_splits_in_order_each_part_under_it():
    frames = [frame(n, "x" * 1000) for n in range(100)]  # about 1.1 KB each
    batches = batched_frames(frames)
    assert all(len(b.data) <= MAX_FRAME_BYTES for b in batches)
    assert len(batches) == -(-sum(len(f) + 1 for f in frames) // MAX_FRAME_BYTES)  # no waste
    assert sum(b.count for b in batches) == 100
    assert [i for b in batches for i in ids(b.data)] == [f"e{n}" for n in range(100)]
    # Each part is as full as order lets it be: the next frame would not have fitted.
    start = 0
    for batch in batches[:-1]:
        start += batch.count
        assert len(batch.data) + 1 + len(frames[start]) > MAX_FRAME_BYTES


def test_exactly_at_the_limit_fits_one_byte_over_splits():
    first, second = frame(1, "a"), frame(2, "b")
    exact = len(b'{"frames":[]}') + len(first) + 1 + len(second)
    assert [b.count for b in batched_frames([first, second], exact)] == [2]
    assert [b.count for b in batched_frames([first, second], exact - 1)] == [1, 1]
    assert len(batched_frames([first, second], exact)[0].data) == exact


def test_a_frame_too_big_alone_goes_unbatched_between_its_neighbours():
    big = frame(2, "x" * MAX_FRAME_BYTES)
    batches = batched_frames([frame(1), big, frame(3), frame(4)])
    assert [b.count for b in batches] == [1, 1, 2]
    assert batches[1].data == big  # as any unbatched frame: the 128 KB rules apply to it
    assert [i for b in batches for i in ids(b.data)] == ["e1", "e2", "e3", "e4"]


@given(st.lists(st.integers(0, 40_000), max_size=40), st.integers(200, 40_000))
def test_packing_keeps_every_frame_once_in_order_within_the_limit(sizes, limit):
    frames = [frame(n, "y" * size) for n, size in enumerate(sizes)]
    batches = batched_frames(frames, limit)
    assert [i for b in batches for i in ids(b.data)] == [f"e{n}" for n in range(len(sizes))]
    for batch in batches:
        assert len(batch.data) <= limit or (batch.count == 1 and batch.data in frames)


def test_no_frames_no_batch():
    assert batched_frames([]) == []


def test_unbatch_takes_control_frames_and_plain_frames_as_one():
    assert unbatch(subscribed_frame([], batched=True)) == [
        {"status": "subscribed", "subscriptions": [], "batched": True}
    ]
    assert unbatch(frame(5)) == [decode_spectator_frame(frame(5))]


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"frames": 3}', "frames"),
        ('{"frames": [3]}', "frames[0]"),
        ('{"frames": [{"payload": 3}]}', "frames[0].payload"),
        ('{"frames": [{"payload": "{"}]}', "frames[0].payload"),
        ("[1]", "frame"),
        ("nope", "frame"),
    ],
)
def test_unbatch_names_what_is_wrong(text, field):
    with pytest.raises(ValidationError) as caught:
        unbatch(text)
    assert caught.value.field == field


def test_a_subscribe_request_opts_in_and_the_answer_echoes():
    subs = [Subscription(EventType.NES_CLICK)]
    assert "batched" not in json.loads(subscribe_envelope(subs))  # the talk's very request
    request = decode_subscribe_request(subscribe_envelope(subs, batched=True))
    assert request.subscriptions == subs and request.batched is True
    assert decode_subscribe_request(subscribe_envelope(subs)).batched is False
    assert json.loads(subscribed_frame([], batched=True))["batched"] is True
    assert json.loads(subscribed_frame([]))["batched"] is False


@pytest.mark.parametrize("value", ["yes", 1, 0, None, [], {}])
def test_batched_must_be_a_boolean(value):
    body = json.dumps({"action": "subscribe", "subscriptions": [], "batched": value})
    with pytest.raises(ValidationError) as caught:
        decode_subscribe_request(body)
    assert caught.value.field == "batched"
    with pytest.raises(ValidationError):
        decode_subscribe(body)
