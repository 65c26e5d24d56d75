"""The fan-out's decisions, without I/O: who gets which frame, what an answer means."""

from __future__ import annotations

import pytest

from messages import Event, Source, Subscription, decode_spectator_frame
from processor.fanout import Answer, Outcome, OverflowRule, RetryPolicy, classify, plan_posts
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
        (429, "LimitExceededException", Outcome.OVERFLOW),
        (429, None, Outcome.OVERFLOW),
        (429, "TooManyRequestsException", Outcome.RETRY),
        (400, "ThrottlingException", Outcome.RETRY),
        (500, "InternalServerErrorException", Outcome.RETRY),
        (503, None, Outcome.RETRY),
        (None, None, Outcome.RETRY),
        (None, "ClientConnectorError", Outcome.RETRY),
        (413, "PayloadTooLargeException", Outcome.REJECTED),
        (403, "ForbiddenException", Outcome.REJECTED),
        (400, "BadRequestException", Outcome.REJECTED),
    ],
)
def test_classify(status, code, outcome):
    assert classify(Answer(status, code)) is outcome


def test_endpoint_failures_back_off_with_full_jitter_for_seconds():
    policy = RetryPolicy(max_attempts=5, base_s=0.02, cap_s=1.0)
    assert policy.delay_s(Outcome.RETRY, 0, 0.0) == 0
    assert policy.delay_s(Outcome.RETRY, 0, 0.5) == pytest.approx(0.01)
    assert policy.delay_s(Outcome.RETRY, 2, 0.999) < policy.delay_s(Outcome.RETRY, 3, 0.999)
    assert policy.delay_s(Outcome.RETRY, 4, 0.999) is None  # the fifth try was the last
    assert RetryPolicy(max_attempts=99).delay_s(Outcome.RETRY, 30, 0.999) <= 1.0


def test_a_full_client_buffer_gets_a_brief_chance_only():
    policy = RetryPolicy(overflow_attempts=3, overflow_base_s=0.01, overflow_cap_s=0.05)
    delays = [policy.delay_s(Outcome.OVERFLOW, attempt, 0.999) for attempt in range(3)]
    assert delays[2] is None
    assert all(d is not None and d <= 0.05 for d in delays[:2])


@pytest.mark.parametrize("outcome", [Outcome.DELIVERED, Outcome.GONE, Outcome.REJECTED])
def test_final_answers_are_not_retried(outcome):
    assert RetryPolicy().delay_s(outcome, 0, 0.5) is None


def test_a_connection_is_given_up_after_consecutive_drops_only():
    rule = OverflowRule(limit=3)
    assert not rule.dropped("a") and not rule.dropped("a")
    rule.delivered("a")  # it read: the count starts again
    assert not rule.dropped("a") and not rule.dropped("a")
    assert not rule.dropped("b")
    assert rule.dropped("a")
    assert rule.count("a") == 0 and rule.count("b") == 1


def test_the_overflow_counts_stay_bounded():
    rule = OverflowRule(limit=5, tracked_max=3)
    for name in "abcd":
        rule.dropped(name)
    assert rule.count("a") == 0 and rule.count("d") == 1


def test_an_overflow_limit_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        OverflowRule(limit=0)


def test_refusals_are_named_in_the_invocation_summary():
    from processor.report import FanoutReport

    quiet = FanoutReport(delivered=3)
    assert "rejected_codes" not in quiet.summary()
    refused = FanoutReport(rejected=2, rejected_codes={"ForbiddenException": 2})
    assert refused.summary()["rejected_codes"] == {"ForbiddenException": 2}
    assert refused.summary()["rejected"] == 2
