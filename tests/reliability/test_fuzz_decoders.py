"""Property-based fuzzing of every decoder (issue 12): any JSON-ish value or any bytes in, and
out comes either a valid result or a ValidationError that names the field, with a message
that is short and printable; never another exception.

JSON-ish values include what JSON cannot carry safely: lone surrogates, NaN and infinities,
integers far past 2**53, and nesting deeper than the contract allows."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway_adapter.apigateway.routing import RouteSelector
from messages import (
    EVENT_TYPES,
    SCHEMAS,
    EventType,
    FieldSpec,
    ValidationError,
    classify_answer,
    decode_event,
    decode_kinesis_data,
    decode_spectator_frame,
    decode_submit,
    decode_subscribe,
    encode_kinesis_data,
    event_body,
    now_ms,
    parse_subscriptions,
    validate_message,
)
from messages.envelopes import MAX_SENT_AT_AHEAD_MS
from messages.tokens import TokenError, verify
from processor.handlers.send_iot_message import decode_records

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Any character, lone surrogates included (hypothesis draws them only when asked by range).
ANY_TEXT = st.text(
    st.characters() | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=40
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**53 - 2, max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
    | st.sampled_from(EVENT_TYPES)
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(sorted({name for schema in SCHEMAS.values() for name in schema}))


@st.composite
def mostly(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> Any:
    """A `valid` value seven times in eight, else a hostile scalar (one_of would favour the
    scalars, which then refuse nearly every body at its first field)."""
    return draw(SCALARS if draw(st.integers(0, 7)) == 0 else valid)


def near_valid(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """A value this field accepts, mostly, or a hostile one."""
    if spec.choices:
        valid: st.SearchStrategy[Any] = st.sampled_from(spec.choices)
    elif spec.bounds is not None:
        valid = st.floats(*spec.bounds) | st.integers(int(spec.bounds[0]), int(spec.bounds[1]))
    else:
        valid = ANY_TEXT
    return mostly(valid)


@st.composite
def messages_of(draw: st.DrawFn, event_type: str) -> dict[str, Any]:
    """Every required field and some optional ones, each mostly valid."""
    schema = SCHEMAS[event_type]
    return {
        name: draw(near_valid(spec))
        for name, spec in schema.items()
        if spec.required or draw(st.booleans())
    }


@st.composite
def event_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Bodies that look like events, so fuzzing reaches past the first checks."""
    event_type = draw(st.sampled_from(EVENT_TYPES))
    body: dict[str, Any] = {
        "MessageType": draw(mostly(st.just(event_type))),
        "Message": draw(mostly(messages_of(event_type))),
    }
    if draw(st.booleans()):
        body["EventId"] = draw(mostly(ANY_TEXT))
    if draw(st.booleans()):
        body["SentAt"] = draw(mostly(st.integers(min_value=0)))
    return body


@st.composite
def subscription_lists(draw: st.DrawFn) -> Any:
    keys = st.sampled_from(["event_type", "filter_field", "filter_expr", "desired_fields"])
    item = st.dictionaries(keys | ANY_TEXT, JSONISH | FIELD_NAMES, max_size=5)
    return draw(st.lists(item, max_size=4) | JSONISH)


def assert_clear(error: ValidationError) -> None:
    """The refusal names a field and says why in a line that any log or frame can carry."""
    assert isinstance(error.field, str) and error.field
    message = str(error)
    assert message.startswith(error.field)
    message.encode("utf-8")  # no lone surrogate escapes into a message
    assert len(message) < 1_000


def assert_carriable(value: Any) -> None:
    """What a decoder accepts, any UTF-8 transport (a frame, a record, DynamoDB) can carry."""
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


def dumps(value: Any) -> bytes:
    """The value as a hostile client would send it: NaN as NaN, surrogates escaped."""
    return json.dumps(value, allow_nan=True).encode()


@FUZZ
@given(body=JSONISH | event_bodies())
def test_decode_event(body: Any) -> None:
    try:
        event = decode_event(body)
    except ValidationError as error:
        assert_clear(error)
        return
    assert decode_kinesis_data(encode_kinesis_data(event)) == event  # a valid event round-trips
    assert_carriable(event_body(event))
    assert event.sent_at <= now_ms() + MAX_SENT_AT_AHEAD_MS


@FUZZ
@given(body=JSONISH | event_bodies())
@example(body={"MessageType": "NESClick", "Message": [[[[[[[[[[1]]]]]]]]]]})
def test_decode_kinesis_data_of_any_value(body: Any) -> None:
    try:
        decode_kinesis_data(dumps(body))
    except ValidationError as error:
        assert_clear(error)


@FUZZ
@given(data=st.binary(max_size=200) | ANY_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(data=b"[" * 20_000)
@example(data=b'{"MessageType":"NESClick","Message":' + b"9" * 5_000 + b"}")
def test_decode_kinesis_data_of_any_bytes(data: bytes) -> None:
    try:
        decode_kinesis_data(data)
    except ValidationError as error:
        assert_clear(error)


@FUZZ
@given(data=st.data())
def test_validate_message(data: st.DataObject) -> None:
    event_type = data.draw(st.sampled_from(list(EventType)))
    message = data.draw(messages_of(event_type) | JSONISH)
    try:
        checked = validate_message(event_type, message)
    except ValidationError as error:
        assert_clear(error)
        return
    assert_carriable(checked)


@FUZZ
@given(
    body=st.builds(lambda e: {"action": "submitIotEvent", "event": e}, event_bodies() | JSONISH)
    | JSONISH,
    as_bytes=st.booleans(),
)
def test_decode_submit(body: Any, as_bytes: bool) -> None:
    frame = dumps(body)
    try:
        decode_submit(frame if as_bytes else frame.decode())
    except ValidationError as error:
        assert_clear(error)


@FUZZ
@given(subscriptions=subscription_lists())
def test_parse_subscriptions_and_decode_subscribe(subscriptions: Any) -> None:
    for decode in (
        lambda: parse_subscriptions(subscriptions),
        lambda: decode_subscribe(dumps({"action": "subscribe", "subscriptions": subscriptions})),
    ):
        try:
            accepted = decode()
        except ValidationError as error:
            assert_clear(error)
            continue
        for subscription in accepted:  # what is accepted can be stored and sent back
            assert_carriable(subscription.to_dict())


@FUZZ
@given(frame=JSONISH.map(dumps) | st.binary(max_size=200))
def test_spectator_and_shipper_frames(frame: bytes) -> None:
    try:
        decode_spectator_frame(frame)
    except ValidationError as error:
        assert_clear(error)
    classify_answer(frame)  # never raises


@FUZZ
@given(token=ANY_TEXT | st.text(alphabet="abcAZ09-_.", max_size=80) | JSONISH)
def test_tokens(token: Any) -> None:
    with contextlib.suppress(TokenError):  # anything else fails the test
        verify(b"secret", token, 0)


@FUZZ
@given(
    datas=st.lists(
        st.binary(max_size=100).map(lambda b: base64.b64encode(b).decode())
        | JSONISH.map(lambda v: base64.b64encode(dumps(v)).decode())
        | event_bodies().map(lambda v: base64.b64encode(dumps(v)).decode())
        | SCALARS,
        max_size=5,
    )
)
def test_the_processor_drops_what_it_cannot_decode(datas: list[Any]) -> None:
    records = [
        {"kinesis": {"sequenceNumber": str(n), "data": data, "approximateArrivalTimestamp": 1.0}}
        for n, data in enumerate(datas)
    ]
    events, poison = decode_records(records)
    assert len(events) + len(poison) == len(records)
    for _, reason in poison:
        reason.encode("utf-8")


@FUZZ
@given(
    body=st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
    | ANY_TEXT
    | JSONISH.map(lambda v: dumps(v).decode()),
    is_binary=st.booleans(),
)
@example(body="[" * 16_000 + "]" * 16_000, is_binary=False)
def test_route_selection_never_raises(body: str, is_binary: bool) -> None:
    selector = RouteSelector("$request.body.action", {"$default", "submitIotEvent", "subscribe"})
    assert selector.select(body, is_binary) in {"$default", "submitIotEvent", "subscribe"}
