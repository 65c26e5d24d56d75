"""How an Event travels: the Kinesis record body, the WebSocket submit envelope, and the frames
a spectator receives. Every wire field name is spelled here and nowhere else."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .decoding import check_value, child_name, loads
from .errors import ValidationError, shown
from .events import Event, Source, new_event_id, now_ms, parse_event_type, validate_message
from .subscriptions import Subscription, parse_subscriptions

__all__ = [
    "BATCHED",
    "STATUS",
    "STATUS_ERROR",
    "STATUS_SUBSCRIBED",
    "SUBMIT_ACTION",
    "SUBSCRIBE_ACTION",
    "Answer",
    "ErrorCode",
    "Stamp",
    "SubscribeRequest",
    "classify_answer",
    "decode_event",
    "decode_kinesis_data",
    "decode_spectator_frame",
    "decode_submit",
    "decode_subscribe",
    "decode_subscribe_request",
    "encode_kinesis_data",
    "error_frame",
    "event_body",
    "parsed_frame",
    "spectator_frame",
    "submit_envelope",
    "subscribe_envelope",
    "subscribed_frame",
]

SUBMIT_ACTION = "submitIotEvent"
SUBSCRIBE_ACTION = "subscribe"

# Keys of the client requests.
ACTION = "action"
SUBMIT_EVENT = "event"
SUBSCRIPTIONS = "subscriptions"
# Opt-in to batched frames on the Kinesis path (messages.batches), beside `subscriptions`; the
# `subscribed` answer echoes it.
BATCHED = "batched"

# Kinesis record body and the `event` of a submit envelope.
MESSAGE_TYPE = "MessageType"
MESSAGE = "Message"
EVENT_ID = "EventId"
SENT_AT = "SentAt"

# Spectator frame.
FRAME_MESSAGE_TYPE = "message_type"
FRAME_PAYLOAD = "payload"
FRAME_EVENT_ID = "event_id"
FRAME_SENT_AT = "sent_at"
FRAME_SOURCE = "source"

# Control frames (answers to a client's own request) carry a status instead of a message_type.
STATUS = "status"
STATUS_SUBSCRIBED = "subscribed"
STATUS_ERROR = "error"
# Keys of an error frame beside its status.
ERROR_CODE = "error"
ERROR_MESSAGE = "message"
ERROR_FIELD = "field"

# The largest EventId a client may send; ids the processor stamps from AWS's own (a Kinesis
# eventID is `shardId-000000000000:` and a 56-digit sequence number) may be longer.
MAX_EVENT_ID_LENGTH = 64
# How far ahead of the time AWS received an event (or of now) its `SentAt` may be. AWS itself
# refuses a signed request whose clock is more than 15 minutes off (SigV4's allowed skew); a
# stamp further ahead is no clock's drift but a bad value, which would make every latency a
# spectator measures from it negative.
MAX_SENT_AT_AHEAD_MS = 15 * 60 * 1000


class _GatewayFrame:
    """API Gateway's own answer to a frame (AWS-FACTS), AWS's vocabulary rather than Tumble's:
    `{"message": ..., "connectionId": ..., "requestId": ...}`, with "Internal server error"
    when the integration failed, timed out or was throttled and "Forbidden" when no route
    took the frame."""

    message = "message"
    connection_id = "connectionId"
    internal_error = "Internal server error"
    forbidden = "Forbidden"


class Answer(StrEnum):
    """What a frame the server sent to a shipper says about its submits."""

    FAILED = "failed"  # API Gateway: the integration failed, timed out or was throttled
    REFUSED = "refused"  # API Gateway found no route, or the processor refused the event
    OTHER = "other"


class ErrorCode(StrEnum):
    """The `error` of an error frame: what kind of refusal, for a client to branch on."""

    FORBIDDEN = "forbidden"
    INVALID_EVENT = "invalid_event"
    INVALID_SUBSCRIPTION = "invalid_subscription"
    NOT_CONNECTED = "not_connected"


@dataclass(frozen=True, slots=True)
class Stamp:
    """What an event that came without `EventId` or `SentAt` gets instead: the processor takes
    them from AWS's own data for the request or record that carried it."""

    event_id: str
    sent_at: int


def event_body(event: Event) -> dict[str, Any]:
    return {
        MESSAGE_TYPE: event.message_type.value,
        MESSAGE: event.message,
        EVENT_ID: event.event_id,
        SENT_AT: event.sent_at,
    }


def decode_event(body: object, stamp: Stamp | None = None, *, checked: bool = False) -> Event:
    """An Event from a decoded record body or envelope `event`; errors name the field.

    `EventId` and `SentAt` are optional (the talk's own producer sends neither): an absent one
    is taken from `stamp`, or made afresh when there is none. One that is present must be valid.
    `checked`: `body` comes from decoding.loads, which has checked it already."""
    if not isinstance(body, Mapping):
        raise ValidationError("event", f"must be an object, not {type(body).__name__}")
    if not checked:
        check_value(body, "", "event")
    event_type = parse_event_type(body.get(MESSAGE_TYPE))
    message = validate_message(event_type, body.get(MESSAGE), checked=True)
    if EVENT_ID in body:
        event_id = body[EVENT_ID]
        if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID_LENGTH:
            raise ValidationError(
                EVENT_ID, f"must be a string of 1 to {MAX_EVENT_ID_LENGTH} characters"
            )
    else:
        event_id = stamp.event_id if stamp is not None else new_event_id()
    if SENT_AT in body:
        sent_at = body[SENT_AT]
        if isinstance(sent_at, bool) or not isinstance(sent_at, int) or sent_at < 0:
            raise ValidationError(SENT_AT, "must be a non-negative integer (epoch milliseconds)")
        received = stamp.sent_at if stamp is not None else now_ms()
        if sent_at > received + MAX_SENT_AT_AHEAD_MS:
            raise ValidationError(
                SENT_AT,
                f"is {(sent_at - received) / 60_000:.0f} minutes after the time it was received; "
                f"at most {MAX_SENT_AT_AHEAD_MS // 60_000} minutes of clock skew are allowed",
            )
    else:
        sent_at = stamp.sent_at if stamp is not None else now_ms()
    return Event(event_type, message, event_id, sent_at)


def encode_kinesis_data(event: Event) -> bytes:
    return json.dumps(event_body(event), separators=(",", ":")).encode()


def decode_kinesis_data(data: bytes, stamp: Stamp | None = None) -> Event:
    """The Event of a Kinesis record's (base64-decoded) data; errors name the field."""
    return decode_event(loads(data, "data"), stamp, checked=True)


def submit_envelope(event: Event) -> str:
    """The text frame a shipper sends: `{"action": "submitIotEvent", "event": {...}}`."""
    return json.dumps(
        {ACTION: SUBMIT_ACTION, SUBMIT_EVENT: event_body(event)}, separators=(",", ":")
    )


def subscribe_envelope(subscriptions: Iterable[Subscription], *, batched: bool = False) -> str:
    """The text frame a spectator sends to replace its subscriptions. `batched` is sent only
    when asked for, so a client that does not ask sends the talk's very request."""
    request: dict[str, Any] = {
        ACTION: SUBSCRIBE_ACTION,
        SUBSCRIPTIONS: [s.to_dict() for s in subscriptions],
    }
    if batched:
        request[BATCHED] = True
    return json.dumps(request, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    """A subscribe frame as the processor takes it: the whole list, and whether this
    connection wants the Kinesis path's events batched (one frame per invocation)."""

    subscriptions: list[Subscription]
    batched: bool = False


def _request_body(body: str | bytes | None) -> Mapping[str, Any]:
    decoded = loads(body, "body")
    if not isinstance(decoded, Mapping):
        raise ValidationError("body", f"must be an object, not {type(decoded).__name__}")
    return decoded


def decode_submit(body: str | bytes | None, stamp: Stamp | None = None) -> Event:
    """The Event of a shipper's submit frame; errors name the field at fault."""
    return decode_event(_request_body(body).get(SUBMIT_EVENT), stamp, checked=True)


def decode_subscribe(body: str | bytes | None) -> list[Subscription]:
    """The subscription list of a spectator's subscribe frame, validated as one unit."""
    return decode_subscribe_request(body).subscriptions


def decode_subscribe_request(body: str | bytes | None) -> SubscribeRequest:
    """A spectator's whole subscribe frame, validated as one unit: a bad `batched` refuses
    the subscriptions too, so nothing changes. Absent means not batched (the talk's clients
    send no such field); anything but a boolean (null, "yes", 1) is refused rather than
    guessed at: a wrong guess would send frames of a shape the client does not read."""
    request = _request_body(body)
    subscriptions = parse_subscriptions(request.get(SUBSCRIPTIONS))
    batched = request.get(BATCHED, False)
    if not isinstance(batched, bool):
        raise ValidationError(BATCHED, f"must be true or false, not {shown(batched)}")
    return SubscribeRequest(subscriptions, batched)


def spectator_frame(event: Event, source: Source, message: Mapping[str, Any]) -> str:
    """What a spectator receives; `payload` is the (projected) Message as a JSON string, as the
    original clients expect (`JSON.parse(frame.payload)`)."""
    return json.dumps(
        {
            FRAME_MESSAGE_TYPE: event.message_type.value,
            FRAME_PAYLOAD: json.dumps(message, separators=(",", ":")),
            FRAME_EVENT_ID: event.event_id,
            FRAME_SENT_AT: event.sent_at,
            FRAME_SOURCE: source.value,
        },
        separators=(",", ":"),
    )


def decode_spectator_frame(frame: str | bytes) -> dict[str, Any]:
    """A spectator frame with its payload parsed; control frames come back as they are.
    ValidationError for anything that is not such a frame."""
    decoded = loads(frame, "frame")
    if not isinstance(decoded, dict):
        raise ValidationError("frame", f"must be an object, not {type(decoded).__name__}")
    return parsed_frame(decoded)


def parsed_frame(decoded: dict[str, Any], where: str = "") -> dict[str, Any]:
    """A decoded frame with its payload parsed in place (`where`: the frame's name inside a
    batched frame, for errors); messages.batches takes the frames of a batch apart with it."""
    if FRAME_PAYLOAD in decoded:
        field = child_name(where, FRAME_PAYLOAD)
        payload = decoded[FRAME_PAYLOAD]
        if not isinstance(payload, str):
            raise ValidationError(field, "must be a JSON string")
        decoded[FRAME_PAYLOAD] = loads(payload, field)
    return decoded


def error_frame(code: str, message: str, field: str | None = None) -> str:
    """The answer to a request that was refused; nothing was changed."""
    return json.dumps(
        {STATUS: STATUS_ERROR, ERROR_CODE: str(code), ERROR_MESSAGE: message, ERROR_FIELD: field}
    )


def subscribed_frame(subscriptions: list[dict[str, Any]], batched: bool = False) -> str:
    """What is now in force; `batched` always echoed, so a client knows which frames to expect
    (a gateway that predates batching would not echo it)."""
    return json.dumps({STATUS: STATUS_SUBSCRIBED, SUBSCRIPTIONS: subscriptions, BATCHED: batched})


def classify_answer(frame: str | bytes) -> Answer:
    """How a shipper counts a frame from the server: the submit route has no route response,
    so every frame it gets is an error of one of its submits (or something else entirely)."""
    try:
        decoded = loads(frame, "frame")
    except ValidationError:
        return Answer.OTHER
    if not isinstance(decoded, dict):
        return Answer.OTHER
    if decoded.get(STATUS) == STATUS_ERROR:
        return Answer.REFUSED
    if _GatewayFrame.connection_id in decoded:
        message = decoded.get(_GatewayFrame.message)
        if message == _GatewayFrame.internal_error:
            return Answer.FAILED
        if message == _GatewayFrame.forbidden:
            return Answer.REFUSED
    return Answer.OTHER
