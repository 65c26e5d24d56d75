"""The fan-out's decisions, without I/O: who gets which frame, what an answer means."""

from __future__ import annotations

import pytest

from messages import Event, Source, Subscription, decode_spectator_frame
from processor.fanout import Outcome, backoff_s, classify, plan_posts
from processor.store import Subscriber

CLICK = Event.create(
    "NESClick", {"color": "red", "button": "A", "axis": 3, "value": 0.5, "source": "kinesis"}
)


def sub(**raw: object) -> Subscription:
    return Subscription.from_dict({"event_type": "NESClick", **raw})


def subscriber(cid: str, *subs: Subscription) -> Subscriber:
    return Subscriber(cid, "127.0.0.1:1", "test", subs)


def endpoint(s: Subscriber) -> str:
    return f"http://{s.domain_name}/{s.stage}"


def frames(plan) -> dict[str, dict]:
    return {p.connection_id: decode_spectator_frame(p.data) for p in plan.posts}


def test_matching_subscribers_get_one_projected_frame_each():
    plan = plan_posts(
        CLICK,
        Source.WEBSOCKET,
        [
            subscriber("all", sub()),
            subscriber(
                "red", sub(filter_field="color", filter_expr="r*", desired_fields=["button"])
            ),
            subscriber("blue", sub(filter_field="color", filter_expr="blue")),
        ],
        endpoint,
        tag=7,
    )
    got = frames(plan)
    assert set(got) == {"all", "red"}
    assert plan.filtered == 1
    assert got["red"]["payload"] == {"button": "A"}
    assert got["all"]["payload"]["source"] == "websocket"  # stamped with the path taken
    assert got["all"]["source"] == "websocket"
    assert {p.tag for p in plan.posts} == {7}
    assert {p.endpoint for p in plan.posts} == {"http://127.0.0.1:1/test"}


def test_the_first_matching_subscription_in_client_order_decides():
    first = sub(filter_field="button", filter_expr="B", desired_fields=["axis"])
    second = sub(filter_field="color", filter_expr="red", desired_fields=["color"])
    third = sub(desired_fields=["value"])
    plan = plan_posts(CLICK, Source.KINESIS, [subscriber("c", first, second, third)], endpoint)
    assert len(plan.posts) == 1
    assert frames(plan)["c"]["payload"] == {"color": "red"}


def test_no_subscribers_no_posts():
    plan = plan_posts(CLICK, Source.KINESIS, [], endpoint)
    assert plan.posts == [] and plan.filtered == 0


def test_frames_are_shared_between_equal_projections():
    plan = plan_posts(
        CLICK, Source.KINESIS, [subscriber(f"c{i}", sub()) for i in range(5)], endpoint
    )
    assert len({id(p.data) for p in plan.posts}) == 1


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (200, None, Outcome.DELIVERED),
        (204, None, Outcome.DELIVERED),
        (410, "GoneException", Outcome.GONE),
        (429, "LimitExceededException", Outcome.RETRY),
        (400, "ThrottlingException", Outcome.RETRY),
        (500, "InternalServerErrorException", Outcome.RETRY),
        (503, None, Outcome.RETRY),
        (None, None, Outcome.RETRY),
        (413, "PayloadTooLargeException", Outcome.REJECTED),
        (403, "ForbiddenException", Outcome.REJECTED),
        (400, "BadRequestException", Outcome.REJECTED),
    ],
)
def test_classify(status, code, outcome):
    assert classify(status, code) is outcome


def test_backoff_grows_is_capped_and_jittered():
    assert backoff_s(0, 0.0) == 0
    assert backoff_s(0, 0.5) == pytest.approx(0.01)
    assert backoff_s(3, 0.999) < backoff_s(4, 0.999)
    assert backoff_s(30, 0.999) <= 1.0
