"""The pure half of a fan-out that splits: the budget, the slices (whole connections, the
posts and message size they may hold), the rounds of events, and the message format."""

from __future__ import annotations

import json

import pytest

from messages import Event, Source, Subscription, encode_kinesis_data
from processor.slices import (
    DEFAULT_POSTS_PER_S,
    MAX_MESSAGE_BYTES,
    Slice,
    SliceError,
    chunk_events,
    decode_slice,
    encode_slice,
    plan_slices,
    slice_posts,
)
from processor.store import Subscriber

NES = (Subscription.from_dict({"event_type": "NESClick"}),)
RED = (Subscription.from_dict({"event_type": "NESClick", "filter_field": "color",
                               "filter_expr": "red", "desired_fields": ["color"]}),)  # fmt: skip
SCORE = (Subscription.from_dict({"event_type": "DashClick"}),)


def subscriber(cid: str, subs=NES, batched: bool = False) -> Subscriber:
    return Subscriber(cid, "127.0.0.1:3001", "local", subs, batched)


def click(color: str = "red") -> Event:
    message = {"color": color, "button": "A", "axis": None, "value": None, "source": "kinesis"}
    return Event.create("NESClick", message)


def test_the_budget_is_the_measured_rate_for_the_time_allowed():
    assert slice_posts({}) == DEFAULT_POSTS_PER_S  # 1 s at 7,000 posts/s
    assert slice_posts({"TUMBLE_FANOUT_BUDGET_S": "0.5", "TUMBLE_FANOUT_POSTS_PER_S": "100"}) == 50
    assert slice_posts({"TUMBLE_FANOUT_SLICE_POSTS": "3", "TUMBLE_FANOUT_BUDGET_S": "9"}) == 3
    for bad in ({"TUMBLE_FANOUT_SLICE_POSTS": "0"}, {"TUMBLE_FANOUT_SLICE_POSTS": "x"},
                {"TUMBLE_FANOUT_BUDGET_S": "-1"}):  # fmt: skip
        with pytest.raises(ValueError, match="TUMBLE_FANOUT"):
            slice_posts(bad)


def test_slices_hold_whole_connections_in_the_lookups_order():
    both = [subscriber("a"), subscriber("b"), subscriber("c")]
    scores = [subscriber("b", SCORE), subscriber("d", SCORE)]
    # a: 2 NESClick posts; b: 2 + 1; c: 2; d: 1 -- at most 3 posts a slice.
    slices = plan_slices(
        {"NESClick": both, "DashClick": scores}, {"NESClick": 2, "DashClick": 1}, 3
    )
    ids = [
        {kind: [s.connection_id for s in group] for kind, group in piece.items()}
        for piece in slices
    ]
    assert ids == [
        {"NESClick": ["a"]},
        {"NESClick": ["b"], "DashClick": ["b"]},  # b's records together, though 3 posts
        {"NESClick": ["c"], "DashClick": ["d"]},
    ]


def test_a_batched_connection_costs_one_post_and_everything_fitting_is_one_slice():
    crowd = [subscriber(f"c{i}", batched=True) for i in range(10)]
    assert len(plan_slices({"NESClick": crowd}, {"NESClick": 40}, 10)) == 1
    assert [len(p["NESClick"]) for p in plan_slices({"NESClick": crowd}, {"NESClick": 40}, 4)] == [
        4,
        4,
        2,
    ]
    alone = plan_slices({"NESClick": [subscriber("big")]}, {"NESClick": 50}, 4)
    assert len(alone) == 1  # a connection costing more than a slice still gets one


def test_a_slice_ends_where_its_message_would_be_too_big():
    crowd = [subscriber(f"connection-{i:06d}") for i in range(3000)]
    pieces = plan_slices({"NESClick": crowd}, {"NESClick": 1}, 10_000, room_bytes=20_000)
    assert len(pieces) > 1 and sum(len(p["NESClick"]) for p in pieces) == 3000
    events = [(i, click()) for i in range(40)]
    for index, piece in enumerate(pieces):
        body = encode_slice(Slice("run", index, len(pieces), Source.KINESIS, events, piece))
        assert len(body.encode()) < MAX_MESSAGE_BYTES


def test_rounds_of_events_keep_their_order_and_stay_under_the_limit():
    events = [(i, click()) for i in range(100)]
    rounds = chunk_events(events, limit=4_000)
    assert [tag for chunk in rounds for tag, _ in chunk] == list(range(100))
    assert len(rounds) > 1
    assert all(sum(len(encode_kinesis_data(e)) for _, e in chunk) <= 4_000 for chunk in rounds)
    assert chunk_events([]) == []


def test_a_slice_survives_its_message_unchanged():
    events = [(7, click("red")), (9, click("blue"))]
    subscribers = {
        "NESClick": [subscriber("a"), subscriber("b", RED), subscriber("c", batched=True)],
        "DashClick": [subscriber("a", SCORE)],
    }
    piece = Slice("run-1", 2, 5, Source.KINESIS, events, subscribers)
    body = encode_slice(piece)
    assert decode_slice(body) == piece
    assert decode_slice(body).connections == 3
    # Equal lists and endpoints are written once, however many subscribers share them.
    raw = json.loads(body)
    assert len(raw["endpoints"]) == 1 and len(raw["lists"]) == 3


@pytest.mark.parametrize(
    "body",
    ["", "[]", "not json", '{"format": 2}', '{"format": 1}',
     '{"format": 1, "run": "r", "slice": [0, 1], "path": "kinesis", "events": [[0, {}]],'
     ' "endpoints": [], "lists": [], "subscribers": {}}'],
)  # fmt: skip
def test_a_message_that_is_not_a_slice_says_so(body: str):
    with pytest.raises(SliceError, match="not a fan-out slice"):
        decode_slice(body)
