from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from messages import (
    COLORS,
    MAX_SUBSCRIPTIONS,
    EventType,
    Subscription,
    UnknownEventType,
    ValidationError,
    first_match,
    parse_subscriptions,
    project,
)

RED_A = {"color": "red", "button": "A", "axis": None, "value": None, "source": "websocket"}


def sub(**fields) -> Subscription:
    return Subscription.from_dict({"event_type": "NESClick", **fields})


def test_star_matches_every_event_of_the_type_only():
    subscription = sub(filter_field="color", filter_expr="*")
    assert subscription.matches("NESClick", RED_A)
    assert not subscription.matches("DashClick", {"event": "toggle-game", "click_type": "SINGLE"})


def test_filter_is_a_glob_on_the_string_value_not_a_regex():
    assert sub(filter_field="color", filter_expr="r*").matches("NESClick", RED_A)
    assert sub(filter_field="color", filter_expr="[rb]ed").matches("NESClick", RED_A)
    assert not sub(filter_field="color", filter_expr="re.").matches("NESClick", RED_A)
    assert not sub(filter_field="color", filter_expr="Red").matches("NESClick", RED_A)
    assert sub(filter_field="axis", filter_expr="null").matches("NESClick", RED_A)


def test_projection_keeps_only_desired_paths():
    subscription = sub(desired_fields=["color", "button"])
    assert subscription.project(RED_A) == {"color": "red", "button": "A"}
    assert sub().project(RED_A) == RED_A


def test_dotted_paths_project_nested_values_and_skip_absent_ones():
    message = {"a": {"b": 1, "c": 2}, "d": 3}
    assert project(message, ["a.b", "a.x", "missing"]) == {"a": {"b": 1}}


def test_the_first_matching_subscription_in_client_order_decides():
    subscriptions = parse_subscriptions(
        [
            {"event_type": "NESClick", "filter_field": "color", "filter_expr": "blue"},
            {
                "event_type": "NESClick",
                "filter_field": "color",
                "filter_expr": "red",
                "desired_fields": ["button"],
            },
            {"event_type": "NESClick"},
        ]
    )
    chosen = first_match(subscriptions, "NESClick", RED_A)
    assert chosen is subscriptions[1]
    assert first_match(subscriptions[:1], "NESClick", RED_A) is None


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        ({"event_type": "NESEClick"}, "subscriptions[0].event_type", "known types"),
        (
            {"event_type": "TranscribeEvent", "filter_field": "key", "filter_expr": "a*"},
            "subscriptions[0].filter_field",
            "not a field of TranscribeEvent",
        ),
        (
            {"event_type": "NESClick", "filter_expr": "r*"},
            "subscriptions[0].filter_field",
            "required",
        ),
        (
            {"event_type": "NESClick", "filter_field": "color", "filter_expr": "x" * 257},
            "subscriptions[0].filter_expr",
            "longer than 256",
        ),
        (
            {"event_type": "NESClick", "desired_fields": ["colour"]},
            "subscriptions[0].desired_fields",
            "not a field",
        ),
        (
            {"event_type": "NESClick", "desired_fields": "color"},
            "subscriptions[0].desired_fields",
            "list",
        ),
        ({"event_type": "NESClick", "room": "x"}, "subscriptions[0].room", "not one of"),
        ("NESClick", "subscriptions[0]", "must be an object"),
    ],
)
def test_invalid_subscriptions_are_rejected_with_field_and_reason(raw, field, reason):
    with pytest.raises(ValidationError) as caught:
        parse_subscriptions([raw])
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_unknown_type_error_lists_known_types():
    with pytest.raises(UnknownEventType, match="NESClick, DashClick"):
        parse_subscriptions([{"event_type": "NESEClick"}])


def test_at_most_twenty_subscriptions():
    parse_subscriptions([{"event_type": "NESClick"}] * MAX_SUBSCRIPTIONS)
    with pytest.raises(ValidationError, match="at most 20"):
        parse_subscriptions([{"event_type": "NESClick"}] * (MAX_SUBSCRIPTIONS + 1))
    with pytest.raises(ValidationError, match="must be a list"):
        parse_subscriptions({"event_type": "NESClick"})


def test_identical_subscriptions_collapse_to_the_first_in_order():
    red = {"event_type": "NESClick", "filter_field": "color", "filter_expr": "red"}
    every = {"event_type": "NESClick"}
    # desired_fields are normalised first, so these two are the same subscription
    a = {"event_type": "DashClick", "desired_fields": ["event", "event"]}
    b = {"event_type": "DashClick", "desired_fields": ["event"], "filter_expr": "*"}
    kept = parse_subscriptions([red, every, red, a, every, b])
    assert kept == [Subscription.from_dict(raw) for raw in (red, every, a)]
    assert parse_subscriptions([every] * MAX_SUBSCRIPTIONS) == [Subscription.from_dict(every)]


def test_a_bad_entry_after_a_duplicate_still_rejects_the_whole_list():
    with pytest.raises(ValidationError) as caught:
        parse_subscriptions([{"event_type": "NESClick"}] * 2 + [{"event_type": "NESEClick"}])
    assert caught.value.field == "subscriptions[2].event_type"


@given(st.lists(st.sampled_from(["color", "button", "axis", "value", "source"]), min_size=1))
def test_projection_is_a_subset_of_the_message(paths):
    projected = project(RED_A, paths)
    assert set(projected) == set(paths)
    assert all(RED_A[key] == value for key, value in projected.items())


@given(st.sampled_from(COLORS), st.sampled_from(COLORS))
def test_exact_filters_match_only_their_own_value(wanted, actual):
    subscription = sub(filter_field="color", filter_expr=wanted)
    assert subscription.matches("NESClick", {**RED_A, "color": actual}) == (wanted == actual)


@given(st.text(max_size=30))
def test_star_matches_any_value(text):
    subscription = Subscription.from_dict(
        {"event_type": "TranscribeEvent", "filter_field": "transcribed_text", "filter_expr": "*"}
    )
    assert subscription.matches(EventType.TRANSCRIBE_EVENT, {"transcribed_text": text})


@given(st.builds(sub, desired_fields=st.none() | st.just(["color"])))
def test_subscriptions_round_trip_through_dicts(subscription):
    assert Subscription.from_dict(subscription.to_dict()) == subscription
