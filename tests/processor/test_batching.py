"""Planning batched frames, without I/O: who gets which events in one frame, in which order,
split where 32 KB would be passed, and each distinct frame built once."""

from __future__ import annotations

import time

from messages import MAX_FRAME_BYTES, Event, EventType, Source, Subscription, unbatch
from processor.batching import BatchPlanner, Indexed, split_batched
from processor.fanout import Post
from processor.store import Subscriber

from .test_fanout import endpoint


def click(color: str, button: str = "A") -> Event:
    return Event.create(
        "NESClick",
        {"color": color, "button": button, "axis": None, "value": None, "source": "websocket"},
    )


def dash() -> Event:
    return Event.create("DashClick", {"event": "toggle-game", "click_type": "SINGLE"})


def batched(cid: str, *raw: dict[str, object]) -> Subscriber:
    subs = tuple(Subscription.from_dict({"event_type": "NESClick", **r}) for r in raw)
    return Subscriber(
        cid, "127.0.0.1:1", "test", subs or (Subscription(EventType.NES_CLICK),), True
    )


def indexed(events: list[Event], first_tag: int = 0) -> list[Indexed]:
    return [(n, first_tag + n, e) for n, e in enumerate(events)]


def plan(events: list[Indexed], subscribers: list[Subscriber], **kw: int) -> list[Post]:
    planner = BatchPlanner(Source.KINESIS, endpoint, **kw)
    planner.add(events, subscribers)
    return planner.posts()


def received(posts: list[Post], cid: str) -> list[list[dict]]:
    return [unbatch(p.data) for p in posts if p.connection_id == cid]


def test_a_batched_connection_gets_every_match_of_the_batch_in_one_frame_in_order():
    events = [click("red"), click("blue"), click("red", "B"), click("green")]
    reds = batched("reds", {"filter_field": "color", "filter_expr": "red"})
    posts = plan(indexed(events, 10), [batched("all"), reds])
    [every] = received(posts, "all")
    assert [f["event_id"] for f in every] == [e.event_id for e in events]
    assert {f["source"] for f in every} == {"kinesis"}
    assert every[0]["payload"]["source"] == "kinesis"  # each frame exactly as unbatched
    [mine] = received(posts, "reds")
    assert [f["event_id"] for f in mine] == [events[0].event_id, events[2].event_id]
    [post] = [p for p in posts if p.connection_id == "reds"]
    assert post.tags == (10, 12) and post.events == 2
    assert post.endpoint == "http://127.0.0.1:1/test"


def test_each_frame_is_projected_by_the_first_matching_subscription():
    events = [click("red"), click("blue")]
    spectator = batched(
        "c",
        {"filter_field": "color", "filter_expr": "red", "desired_fields": ["button"]},
        {"desired_fields": ["color"]},
    )
    [frames] = received(plan(indexed(events), [spectator]), "c")
    assert [f["payload"] for f in frames] == [{"button": "A"}, {"color": "blue"}]


def test_no_match_no_frame_and_the_filtered_count():
    planner = BatchPlanner(Source.KINESIS, endpoint)
    planner.add(
        indexed([click("red"), click("red")]),
        [batched("b", {"filter_field": "color", "filter_expr": "blue"})],
    )
    assert planner.posts() == [] and planner.filtered == 2


def test_events_of_several_types_merge_in_the_batch_order():
    first, second, third = click("red"), dash(), click("blue")
    both = Subscriber("both", "127.0.0.1:1", "test", (Subscription(EventType.NES_CLICK),), True)
    both_dash = Subscriber(
        "both", "127.0.0.1:1", "test", (Subscription(EventType.DASH_CLICK),), True
    )
    planner = BatchPlanner(Source.KINESIS, endpoint)
    planner.add([(0, 0, first), (2, 2, third)], [both])  # as the pipeline: one call per type
    planner.add([(1, 1, second)], [both_dash])
    [post] = planner.posts()
    assert [f["event_id"] for f in unbatch(post.data)] == [
        first.event_id,
        second.event_id,
        third.event_id,
    ]
    assert post.tags == (0, 1, 2)


def test_a_batch_over_32_kb_goes_in_several_frames_in_order_each_with_its_own_records():
    long = [Event.create("TranscribeEvent", {"transcribed_text": "w" * 3000}) for _ in range(40)]
    listener = Subscriber(
        "l", "127.0.0.1:1", "test", (Subscription(EventType.TRANSCRIBE_EVENT),), True
    )
    posts = plan(indexed(long), [listener])
    assert len(posts) == 4  # 40 frames of about 3.1 KB: 10 per 32 KB frame
    assert all(len(p.data) <= MAX_FRAME_BYTES for p in posts)
    assert [f["event_id"] for p in posts for f in unbatch(p.data)] == [e.event_id for e in long]
    assert [t for p in posts for t in p.tags] == list(range(40))
    assert len({t for p in posts for t in p.tags}) == 40  # each record in exactly one post


def test_a_frame_over_32_kb_alone_goes_unbatched():
    huge = Event.create("TranscribeEvent", {"transcribed_text": "z" * 3000})
    listener = Subscriber(
        "l", "127.0.0.1:1", "test", (Subscription(EventType.TRANSCRIBE_EVENT),), True
    )
    posts = plan(indexed([huge, huge]), [listener], limit=3000)
    assert [p.tags for p in posts] == [(0,), (1,)]
    assert all("frames" not in p.data.decode() for p in posts)


def test_alike_connections_share_one_body():
    events = indexed([click("red"), click("blue")])
    crowd = [batched(f"c{n}") for n in range(1000)]
    projected = [batched(f"p{n}", {"desired_fields": ["color"]}) for n in range(10)]
    posts = plan(events, crowd + projected)
    assert len(posts) == 1010
    bodies = {id(p.data) for p in posts}
    assert len(bodies) == 2  # one per distinct (projection, matched events): built once each


def test_planning_for_ten_thousand_stays_fast():
    events = indexed([click(("red", "blue", "green", "yellow")[n % 4]) for n in range(100)])
    crowd = [batched(f"c{n}") for n in range(10_000)]
    started = time.perf_counter()
    posts = plan(events, crowd)
    took = time.perf_counter() - started
    assert len(posts) == 10_000 and {p.events for p in posts} == {100}
    assert took < 0.5, f"{took:.3f} s to plan one batch for 10,000 batched spectators"


def test_split_leaves_the_unbatched_list_alone_when_none_asked():
    talk = [Subscriber("t", "d", "s", (Subscription(EventType.NES_CLICK),))]
    unbatched, none = split_batched(talk)
    assert unbatched is talk and none == []
    unbatched, some = split_batched([*talk, batched("b")])
    assert [s.connection_id for s in unbatched] == ["t"]
    assert [s.connection_id for s in some] == ["b"]
