"""The handlers called directly with AWS-shaped events, against the embedded backend and a
stand-in @connections API (the end-to-end tests run them behind the real gateway)."""

from __future__ import annotations

import base64
import json
import time

import pytest

from messages import Event, Subscription, submit_envelope, subscribe_envelope
from processor.handlers import (
    ProxyResponse,
    authorizer,
    connection_manager,
    send_iot_message,
    submit_iot_event,
    subscribe,
)
from processor.store import Connection

from .aws_events import kinesis_event, websocket_event
from .conftest import make_token

SHIPPER = {"role": "shipper", "subject": "p1"}
VIEWER = {"role": "viewer", "subject": "v1"}
ARN = "arn:aws:execute-api:us-east-1:123456789012:api/test/$connect"
RED_A = {"color": "red", "button": "A", "axis": None, "value": None, "source": "kinesis"}


@pytest.fixture
def env(processor_env, connections):
    return connections


def connect(sink, cid: str, who=VIEWER, subs: list[dict] | None = None) -> None:
    event = websocket_event("$connect", cid, sink.domain_name, authorizer=who)
    assert connection_manager.handle(event, None) == {"statusCode": 200}
    if subs is not None:
        body = subscribe_envelope([Subscription.from_dict(s) for s in subs])
        answer = subscribe.handle(
            websocket_event("subscribe", cid, sink.domain_name, body=body), None
        )
        assert json.loads(answer["body"])["status"] == "subscribed"


# -- authorizer ------------------------------------------------------------------------------


def auth(token: str | None) -> dict:
    query = {} if token is None else {"token": token}
    return authorizer.handle(
        {"type": "REQUEST", "methodArn": ARN, "queryStringParameters": query}, None
    )


def test_authorizer_allows_a_good_token_with_its_role(processor_env):
    result = auth(make_token("shipper", "p7"))
    (statement,) = result["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ARN}
    assert result["context"] == {"role": "shipper", "subject": "p7"}
    assert result["principalId"] == "p7"


@pytest.mark.parametrize(
    "token",
    [None, "", "garbage", make_token("viewer")[:-3] + "AAA", make_token("viewer", ttl_s=-1)],
    ids=["missing", "empty", "malformed", "tampered", "expired"],
)
def test_authorizer_denies_bad_tokens(processor_env, token, log_lines):
    result = auth(token)
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in result
    assert log_lines[-1]["allowed"] is False and log_lines[-1]["reason"]


# -- connection_manager ----------------------------------------------------------------------


def test_connect_stores_and_disconnect_removes_everything(env, store, stored):
    connect(env, "a=", SHIPPER, [{"event_type": "NESClick"}, {"event_type": "DashClick"}])
    found = stored.connection("a=")
    assert (found["role"], found["subject"], found["domain_name"], found["stage"]) == (
        "shipper",
        "p1",
        env.domain_name,
        "test",
    )
    event = websocket_event("$disconnect", "a=", env.domain_name)
    assert connection_manager.handle(event, None) == {"statusCode": 200}
    assert stored.items("a=") == []
    assert store.subscribers("NESClick").subscribers == []


def test_connect_on_aws_stores_the_apis_own_host(env, stored, monkeypatch):
    """Behind a custom domain the event's domainName is the custom host; what is stored (and
    what the Kinesis path posts to later) is `{apiId}.execute-api.{region}.amazonaws.com`."""
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    event = websocket_event("$connect", "c=", "live.example.com", authorizer=SHIPPER)
    event["requestContext"]["apiId"] = "abc123"
    assert connection_manager.handle(event, None) == {"statusCode": 200}
    found = stored.connection("c=")
    assert found is not None
    assert found["domain_name"] == "abc123.execute-api.us-east-1.amazonaws.com"


def test_connect_without_a_role_is_refused(env, stored):
    event = websocket_event("$connect", "a=", env.domain_name, authorizer={})
    assert connection_manager.handle(event, None) == {"statusCode": 403}
    assert stored.items("a=") == []


def test_connection_manager_refuses_other_routes(env):
    event = websocket_event("subscribe", "a=", env.domain_name)
    assert connection_manager.handle(event, None) == {"statusCode": 400}


# -- subscribe -------------------------------------------------------------------------------


def test_subscribe_answers_with_what_was_accepted(env, store):
    connect(env, "a=")
    raw = [
        {
            "event_type": "NESClick",
            "filter_field": "color",
            "filter_expr": "red",
            "desired_fields": ["button"],
        }
    ]
    body = json.dumps({"action": "subscribe", "subscriptions": raw})
    answer = subscribe.handle(websocket_event("subscribe", "a=", env.domain_name, body=body), None)
    assert answer["statusCode"] == 200
    frame = json.loads(answer["body"])
    assert frame == {
        "status": "subscribed",
        "subscriptions": [
            {
                "event_type": "NESClick",
                "filter_field": "color",
                "filter_expr": "red",
                "desired_fields": ["button"],
            }
        ],
        "batched": False,
    }
    (subscriber,) = store.subscribers("NESClick").subscribers
    assert subscriber.subscriptions == (Subscription.from_dict(raw[0]),)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "body"),
        ('["a"]', "body"),
        ('{"action":"subscribe"}', "subscriptions"),
        (
            '{"action":"subscribe","subscriptions":[{"event_type":"NESEClick"}]}',
            "subscriptions[0].event_type",
        ),
        (
            json.dumps(
                {
                    "action": "subscribe",
                    "subscriptions": [
                        {"event_type": "NESClick", "filter_field": "x", "filter_expr": "r*"}
                    ],
                }
            ),
            "subscriptions[0].filter_field",
        ),
        (json.dumps({"subscriptions": [{"event_type": "NESClick"}] * 21}), "subscriptions"),
        (
            json.dumps(
                {
                    "subscriptions": [
                        {
                            "event_type": "NESClick",
                            "filter_field": "color",
                            "filter_expr": "r" * 257,
                        }
                    ]
                }
            ),
            "subscriptions[0].filter_expr",
        ),
        (
            json.dumps(
                {"subscriptions": [{"event_type": "DashClick", "desired_fields": ["color"]}]}
            ),
            "subscriptions[0].desired_fields",
        ),
        (json.dumps({"subscriptions": [], "batched": "yes"}), "batched"),
    ],
)
def test_bad_subscriptions_get_an_error_and_change_nothing(env, stored, body, field):
    connect(env, "a=", subs=[{"event_type": "PhotoUpload"}])
    answer = subscribe.handle(websocket_event("subscribe", "a=", env.domain_name, body=body), None)
    frame = json.loads(answer["body"])
    assert (frame["status"], frame["error"], frame["field"]) == (
        "error",
        "invalid_subscription",
        field,
    )
    assert stored.subscribed_types("a=") == ["PhotoUpload"]


def test_subscribe_from_an_unknown_connection(env):
    body = subscribe_envelope([Subscription.from_dict({"event_type": "NESClick"})])
    answer = subscribe.handle(websocket_event("subscribe", "x=", env.domain_name, body=body), None)
    assert json.loads(answer["body"])["error"] == "not_connected"


def test_subscribe_accepts_a_binary_frame(env, store):
    connect(env, "a=")
    body = subscribe_envelope([Subscription.from_dict({"event_type": "DashClick"})])
    event = websocket_event(
        "subscribe", "a=", env.domain_name, body=base64.b64encode(body.encode()).decode()
    )
    event["isBase64Encoded"] = True
    assert json.loads(subscribe.handle(event, None)["body"])["status"] == "subscribed"


# -- submit_iot_event ------------------------------------------------------------------------


def submit(sink, cid: str, body: str) -> ProxyResponse:
    who = SHIPPER if cid.startswith("ship") else VIEWER
    event = websocket_event("submitIotEvent", cid, sink.domain_name, body=body, authorizer=who)
    return submit_iot_event.handle(event, None)


def test_a_shipper_submission_reaches_the_matching_subscribers(env, log_lines):
    connect(env, "ship=", SHIPPER)
    connect(
        env,
        "red=",
        subs=[
            {
                "event_type": "NESClick",
                "filter_field": "color",
                "filter_expr": "red",
                "desired_fields": ["button", "source"],
            }
        ],
    )
    connect(
        env,
        "blue=",
        subs=[{"event_type": "NESClick", "filter_field": "color", "filter_expr": "blue"}],
    )
    click = Event.create("NESClick", RED_A)
    assert submit(env, "ship=", submit_envelope(click)) == {"statusCode": 200}
    (frame,) = env.received("red=")
    assert frame["payload"] == {"button": "A", "source": "websocket"}
    assert (frame["event_id"], frame["source"]) == (click.event_id, "websocket")
    assert env.received("blue=") == [] and env.received("ship=") == []
    assert {
        k: log_lines[-1][k] for k in ("records", "delivered", "filtered", "gone", "failed")
    } == {"records": 1, "delivered": 1, "filtered": 1, "gone": 0, "failed": 0}
    line = log_lines[-1]
    # where the time went, for the race benchmark's breakdown
    assert line["event_id"] == click.event_id
    assert 0 <= line["decoded_ms"] <= line["duration_ms"]
    assert line["lookup_ms"] > 0 and line["deliver_ms"] > 0
    assert line["decoded_ms"] + line["lookup_ms"] + line["deliver_ms"] <= line["duration_ms"]
    assert abs(line["started_at_ms"] - time.time() * 1000) < 60_000
    # what the cost model prices: one index Query of two small items, no writes
    assert {k: log_lines[-1][k] for k in ("read_units", "write_units", "lookups")} == {
        "read_units": 0.5,
        "write_units": 0,
        "lookups": 1,
    }


def test_a_viewer_may_not_submit(env):
    connect(env, "watch=", VIEWER, subs=[{"event_type": "NESClick"}])
    submit(env, "watch=", submit_envelope(Event.create("NESClick", RED_A)))
    (frame,) = env.received("watch=")
    assert (frame["status"], frame["error"]) == ("error", "forbidden")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{", "body"),
        ('{"action":"submitIotEvent"}', "event"),
        ('{"action":"submitIotEvent","event":{"MessageType":"Nope"}}', "MessageType"),
        (
            json.dumps(
                {
                    "action": "submitIotEvent",
                    "event": {
                        "MessageType": "NESClick",
                        "Message": {**RED_A, "color": "pink"},
                        "EventId": "e1",
                        "SentAt": 1,
                    },
                }
            ),
            "Message.color",
        ),
        (
            json.dumps(
                {
                    "action": "submitIotEvent",
                    "event": {
                        "MessageType": "NESClick",
                        "Message": RED_A,
                        "EventId": "",
                        "SentAt": 1,
                    },
                }
            ),
            "EventId",
        ),
    ],
)
def test_an_invalid_submission_gets_an_error_naming_the_field(env, body, field):
    connect(env, "ship=", SHIPPER)
    connect(env, "all=", subs=[{"event_type": "NESClick"}])
    submit(env, "ship=", body)
    (frame,) = env.received("ship=")
    assert (frame["error"], frame["field"]) == ("invalid_event", field)
    assert env.received("all=") == []


# -- send_iot_message ------------------------------------------------------------------------


def test_a_batch_is_grouped_by_type_and_poison_is_dropped(env, log_lines):
    connect(env, "nes=", subs=[{"event_type": "NESClick", "desired_fields": ["color"]}])
    connect(env, "dash=", subs=[{"event_type": "DashClick"}])
    clicks = [Event.create("NESClick", RED_A) for _ in range(3)]
    dash = Event.create("DashClick", {"event": "toggle-game", "click_type": "SINGLE"})
    batch = kinesis_event(
        clicks[0], b"not json", dash, b'{"MessageType":"Nope"}', clicks[1], clicks[2]
    )
    batch["Records"][1]["kinesis"]["data"] = "!!not base64!!"
    result = send_iot_message.handle(batch, None)
    assert result == {"batchItemFailures": []}
    nes = env.received("nes=")
    assert [f["event_id"] for f in nes] == [c.event_id for c in clicks]
    assert {f["source"] for f in nes} == {"kinesis"}
    assert nes[0]["payload"] == {"color": "red"}
    assert [f["event_id"] for f in env.received("dash=")] == [dash.event_id]
    warnings = [line for line in log_lines if line["level"] == "WARNING"]
    assert [w["sequence_number"] for w in warnings] == [
        batch["Records"][1]["kinesis"]["sequenceNumber"],
        batch["Records"][3]["kinesis"]["sequenceNumber"],
    ]
    summary = log_lines[-1]
    assert (summary["records"], summary["invalid"], summary["delivered"]) == (6, 2, 4)


def test_failures_of_one_connection_stay_with_it(env, store, stored, log_lines):
    connect(env, "busy=", subs=[{"event_type": "NESClick"}])
    connect(env, "broken=", subs=[{"event_type": "DashClick"}])
    connect(env, "gone=", subs=[{"event_type": "NESClick"}])
    connect(env, "ok=", subs=[{"event_type": "NESClick"}, {"event_type": "DashClick"}])
    env.throttle["busy="] = 1000  # a client that does not read: its frame alone is dropped
    env.fail_5xx["broken="] = 1000  # 5xx for one connection while the endpoint delivers others
    env.gone.add("gone=")
    dash = Event.create("DashClick", {"event": "toggle-game", "click_type": "SINGLE"})
    batch = kinesis_event(Event.create("NESClick", RED_A), dash)
    result = send_iot_message.handle(batch, None)
    assert result == {"batchItemFailures": []}  # nobody gets the events a second time
    assert len(env.received("ok=")) == 2
    summary = log_lines[-1]
    assert (summary["dropped"], summary["abandoned"], summary["failed"]) == (1, 1, 0)
    assert summary["gone"] == 1
    assert stored.connection("gone=") is None  # a 410 removes the connection ...
    assert stored.connection("busy=") is not None  # ... one overflow does not
    assert sorted(s.connection_id for s in store.subscribers("NESClick").subscribers) == [
        "busy=",
        "ok=",
    ]


def test_an_endpoint_failing_for_everyone_fails_the_record(env, log_lines):
    connect(env, "a=", subs=[{"event_type": "DashClick"}])
    connect(env, "b=", subs=[{"event_type": "DashClick"}])
    env.fail_5xx["a="] = env.fail_5xx["b="] = 1000
    batch = kinesis_event(
        Event.create("DashClick", {"event": "toggle-game", "click_type": "SINGLE"})
    )
    result = send_iot_message.handle(batch, None)
    assert result == {
        "batchItemFailures": [{"itemIdentifier": batch["Records"][0]["kinesis"]["sequenceNumber"]}]
    }
    assert (log_lines[-1]["failed"], log_lines[-1]["abandoned"]) == (2, 0)


def test_an_empty_batch(env):
    assert send_iot_message.handle({"Records": []}, None) == {"batchItemFailures": []}


def test_stale_connection_items_are_ignored_when_their_owner_is_gone(env, store):
    store.put_many(
        [
            (
                Connection("stale=", env.domain_name, "test", "viewer", "v", 0),
                [Subscription.from_dict({"event_type": "TranscribeEvent"})],
            )
        ]
    )
    env.gone.add("stale=")
    event = Event.create("TranscribeEvent", {"transcribed_text": "go"})
    assert send_iot_message.handle(kinesis_event(event), None) == {"batchItemFailures": []}
    assert store.subscribers("TranscribeEvent").subscribers == []
