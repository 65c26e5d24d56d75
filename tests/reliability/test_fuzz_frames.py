"""Property-based fuzzing of the gateway's frame handling (issue 12): any text or binary frame
sent by a real websocket-client to the running stack (`python -m gateway_adapter` serving
serverless.yml, its handlers, the embedded backend) gets a clear answer (API Gateway's
Forbidden frame, a Tumble error frame naming the field, or the route's answer), never
"Internal server error"; nothing stored for anyone else changes; and the connection, the
other clients and the gateway are still healthy afterwards, with no traceback in its log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import websocket
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gateway_adapter.apigateway.routing import RouteSelector
from messages import (
    EVENT_TYPES,
    Event,
    Subscription,
    ValidationError,
    decode_submit,
    submit_envelope,
    subscribe_envelope,
)

from ..processor.conftest import REGION, GatewayProcess, make_token, processor_service
from .test_fuzz_decoders import ANY_TEXT, JSONISH, dumps, event_bodies, subscription_lists

pytestmark = pytest.mark.slow
__all__ = ["processor_service"]  # the fixture, imported so this module can use it

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ANSWER_TIMEOUT_S = 5.0
DEEP = "[" * 16_000 + "]" * 16_000
SELECTOR = RouteSelector("$request.body.action", {"subscribe", "submitIotEvent"})


class Stack:
    """The gateway, a fuzzing shipper, a viewer subscribed to every type, and the table."""

    def __init__(self, gateway: GatewayProcess, table: str, endpoint: str) -> None:
        self.gateway = gateway
        self.table = table
        self.dynamodb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        self.fuzzer = websocket.create_connection(gateway.url(make_token("shipper")), timeout=10)
        self.viewer = websocket.create_connection(gateway.url(make_token("viewer")), timeout=10)
        self.viewer.send(
            subscribe_envelope([Subscription.from_dict({"event_type": t}) for t in EVENT_TYPES])
        )
        assert json.loads(self.viewer.recv())["status"] == "subscribed"
        self.fuzzer_id = self.own_id()

    def own_id(self) -> str:
        """The fuzzer's connection id, from API Gateway's answer to an unroutable frame."""
        self.fuzzer.send_binary(b"\x00")
        return str(json.loads(self.fuzzer.recv())["connectionId"])

    def others(self) -> list[dict[str, Any]]:
        """Every stored item that is not the fuzzer's own."""
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=self.table)
        items = [i for page in pages for i in page["Items"]]
        return sorted(
            (i for i in items if i["connection_id"]["S"] != self.fuzzer_id),
            key=lambda i: (i["connection_id"]["S"], i["item"]["S"]),
        )

    def answer(self) -> dict[str, Any]:
        """The fuzzer's next answer; deliveries (it may have subscribed itself) are skipped."""
        while True:
            self.fuzzer.settimeout(ANSWER_TIMEOUT_S)
            frame = json.loads(self.fuzzer.recv())
            if "message_type" not in frame:
                return dict(frame)

    def delivered(self, event_id: str) -> bool:
        self.viewer.settimeout(ANSWER_TIMEOUT_S)
        while True:
            frame = json.loads(self.viewer.recv())
            if frame.get("event_id") == event_id:
                return True


@pytest.fixture(scope="module")
def stack(processor_service: Any, aws_endpoint: str) -> Iterator[Stack]:
    gateway = GatewayProcess()
    table = processor_service.functions["subscribe"].environment["CONNECTIONS_TABLE"]
    running = Stack(gateway, table, aws_endpoint)
    yield running
    running.fuzzer.close()
    running.viewer.close()
    gateway.stop()


def expect(stack: Stack, text: str | None, data: bytes | None) -> None:
    """Sends one frame and checks the answer it must get."""
    if data is not None:
        stack.fuzzer.send_binary(data)
        route = None  # binary frames go to $default, which Tumble does not have
    else:
        assert text is not None
        stack.fuzzer.send(text)
        route = SELECTOR.select(text)
    if route == "submitIotEvent":
        try:
            event = decode_submit(text)
        except ValidationError:
            pass
        else:  # a valid event: no answer; the viewer receives it (by its id, when it has one)
            if "EventId" in json.loads(str(text))["event"]:
                assert stack.delivered(event.event_id)
            return
    answer = stack.answer()
    assert answer.get("message") != "Internal server error", (text, data, answer)
    if route is None:
        assert answer["message"] == "Forbidden" and answer["connectionId"] == stack.fuzzer_id
    elif route == "subscribe":
        assert answer["status"] in ("subscribed", "error"), answer
        if answer["status"] == "error":
            assert (answer["error"], type(answer["field"])) == ("invalid_subscription", str)
    else:
        assert (answer["status"], answer["error"]) == ("error", "invalid_event"), answer
        assert isinstance(answer["field"], str) and answer["field"]


ENVELOPES = st.one_of(
    st.builds(lambda e: {"action": "submitIotEvent", "event": e}, event_bodies() | JSONISH),
    st.builds(lambda s: {"action": "subscribe", "subscriptions": s}, subscription_lists()),
    st.dictionaries(st.sampled_from(["action", "event", "subscriptions"]) | ANY_TEXT, JSONISH),
    JSONISH,
).map(lambda value: dumps(value).decode())
TEXT = st.text(st.characters(codec="utf-8"), max_size=200)


@FUZZ
@given(text=ENVELOPES | TEXT)
@example(text=DEEP)
@example(text='{"action":"submitIotEvent","event":' + DEEP[:10_000] + "}")
@example(text='{"action":"subscribe","subscriptions":[{"event_type":"NESClick",'
         '"filter_field":"color","filter_expr":"\\ud800"}]}')  # fmt: skip
@example(text='{"action":"submitIotEvent","event":{"MessageType":"NESClick","SentAt":'
         + "9" * 5_000 + "}}")  # fmt: skip
def test_any_text_frame_gets_a_clear_answer_and_changes_nothing_of_others(
    stack: Stack, text: str
) -> None:
    before = stack.others()
    expect(stack, text, None)
    assert stack.others() == before


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_binary_frame_gets_forbidden(stack: Stack, data: bytes) -> None:
    before = stack.others()
    expect(stack, None, data)
    assert stack.others() == before


def test_afterwards_the_connection_the_viewer_and_the_gateway_are_healthy(stack: Stack) -> None:
    assert stack.gateway.process.poll() is None
    event = Event.create("TranscribeEvent", {"transcribed_text": "still here"})
    stack.fuzzer.send(submit_envelope(event))
    assert stack.delivered(event.event_id)
    stack.fuzzer.send(subscribe_envelope([Subscription.from_dict({"event_type": "DashClick"})]))
    assert stack.answer()["status"] == "subscribed"
    log = stack.gateway.output()
    assert "Traceback" not in log, log[-3_000:]
    assert " ERROR " not in log and '"level": "ERROR"' not in log, log[-3_000:]
