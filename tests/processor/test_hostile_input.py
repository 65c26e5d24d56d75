"""Input built to crash the decoders (issue 12, failures 3 and 7), through the handlers: each
is refused as invalid with the field named, dropped once and never retried, and the good
records beside it are delivered."""

from __future__ import annotations

import json
import time

import pytest

from messages import Event
from processor.handlers import send_iot_message, subscribe

from .aws_events import kinesis_event, websocket_event
from .test_handlers import RED_A, SHIPPER, connect, submit

NES = '{{"MessageType":"NESClick","Message":{}}}'
RED = '{{"color":"red","button":"A","source":"kinesis"{}}}'
DEEP = "[" * 5_000 + "]" * 5_000
HOUR_AHEAD_MS = int(time.time() * 1000) + 3_600_000


SURROGATE = "\\ud800"  # JSON's escape of a lone surrogate, as a hostile client sends it


def said(text: str, sent_at: int | None = None) -> str:
    """A TranscribeEvent body; `text` is JSON string content, so escapes stay as written."""
    stamp = "" if sent_at is None else f',"SentAt":{sent_at}'
    return f'{{"MessageType":"TranscribeEvent","Message":{{"transcribed_text":"{text}"}}{stamp}}}'


# The records of failure 3 and their kin: each once crashed the decoder or a later step.
HOSTILE_RECORDS = {
    "nested 5,000 deep": NES.format(DEEP).encode(),
    "5,000 digits": NES.format(RED.format(',"axis":' + "7" * 5_000)).encode(),
    "1e999": NES.format(RED.format(',"value":1e999')).encode(),
    "NaN": NES.format(RED.format(',"value":NaN')).encode(),
    "lone surrogate": said(SURROGATE).encode(),
    "SentAt far ahead": said("x", HOUR_AHEAD_MS).encode(),
    "unsafe integer": said("x", 2**60).encode(),
    "over 128 KB": NES.format(RED.format(',"pad":"' + "x" * 140_000 + '"')).encode(),
}


@pytest.fixture
def env(processor_env, connections):
    return connections


def test_records_that_crashed_the_decoder_are_dropped_logged_once_and_not_retried(env, log_lines):
    connect(env, "all=", subs=[{"event_type": "NESClick"}, {"event_type": "TranscribeEvent"}])
    good = [Event.create("NESClick", RED_A) for _ in range(2)]
    batch = kinesis_event(good[0], *HOSTILE_RECORDS.values(), good[1])
    batch["Records"].append({"kinesis": {"sequenceNumber": "77", "data": 12}})
    started = time.monotonic()
    result = send_iot_message.handle(batch, None)
    assert time.monotonic() - started < 5
    assert result == {"batchItemFailures": []}
    assert [f["event_id"] for f in env.received("all=")] == [e.event_id for e in good]
    warnings = [line for line in log_lines if line["level"] == "WARNING"]
    sequences = [r["kinesis"]["sequenceNumber"] for r in batch["Records"][1:-2]] + ["77"]
    assert [w["sequence_number"] for w in warnings] == sequences
    reasons = dict(zip(HOSTILE_RECORDS, (w["reason"] for w in warnings), strict=False))
    assert reasons["nested 5,000 deep"].startswith("data: is nested deeper than")
    assert reasons["5,000 digits"].startswith("data: ")
    assert reasons["1e999"].startswith("Message.value: must be a finite number")
    assert reasons["NaN"].startswith("Message.value: must be a finite number")
    assert reasons["lone surrogate"].startswith("Message.transcribed_text: contains a lone")
    assert "minutes after the time it was received" in reasons["SentAt far ahead"]
    assert reasons["unsafe integer"].startswith("SentAt: is outside")
    assert reasons["over 128 KB"].startswith("data: is 140")
    assert warnings[-1]["reason"].startswith("data: must be base64 text")
    assert log_lines[-1]["invalid"] == len(sequences)


def test_a_lone_surrogate_in_filter_expr_is_refused_at_validation(env, stored):
    connect(env, "a=", subs=[{"event_type": "PhotoUpload"}])
    body = (
        '{"action":"subscribe","subscriptions":[{"event_type":"NESClick",'
        '"filter_field":"color","filter_expr":"r\\udc00*"}]}'
    )
    answer = subscribe.handle(websocket_event("subscribe", "a=", env.domain_name, body=body), None)
    frame = json.loads(answer["body"])
    assert (frame["status"], frame["error"], frame["field"]) == (
        "error",
        "invalid_subscription",
        "subscriptions[0].filter_expr",
    )
    assert "lone surrogate" in frame["message"]
    assert stored.subscribed_types("a=") == ["PhotoUpload"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (f'{{"action":"submitIotEvent","event":{DEEP}}}', "body"),
        (f'{{"action":"submitIotEvent","event":{said("x", HOUR_AHEAD_MS)}}}', "SentAt"),
        (
            f'{{"action":"submitIotEvent","event":{said("x" + SURROGATE)}}}',
            "event.Message.transcribed_text",
        ),
    ],
)
def test_a_hostile_submission_gets_an_error_frame_naming_the_field(env, body, field):
    connect(env, "ship=", SHIPPER)
    connect(env, "all=", subs=[{"event_type": "TranscribeEvent"}])
    assert submit(env, "ship=", body) == {"statusCode": 200}
    (frame,) = env.received("ship=")
    assert (frame["error"], frame["field"]) == ("invalid_event", field)
    assert env.received("all=") == []


def test_a_sent_at_within_the_allowed_skew_is_accepted(env):
    connect(env, "all=", subs=[{"event_type": "TranscribeEvent"}])
    ahead = int(time.time() * 1000) + 60_000  # a producer clock one minute fast
    batch = kinesis_event(said("x", ahead).encode())
    assert send_iot_message.handle(batch, None) == {"batchItemFailures": []}
    assert [f["sent_at"] for f in env.received("all=")] == [ahead]
