"""The lean signed Query against botocore: the same signature byte for byte, the same answers
from the embedded backend, the same errors, and botocore's retry rule for DynamoDB against a
stand-in server that throttles, fails, corrupts or is not there."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aiobotocore.session import get_session
from aiohttp import web
from botocore.exceptions import ClientError

from gateway_adapter.embedded.backend import free_port
from messages import Subscription
from processor.json_api import MAX_ATTEMPTS, SignedJsonApi
from processor.lookup import SignedLookup, ThreadedLookup
from processor.runtime import LoopThread
from processor.sigv4 import Credentials, SigV4Signer
from processor.store import Connection, ConnectionStore
from processor.transport import SessionCredentials

REGION = "us-east-1"
TABLE = "lean-query"


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    yield LoopThread("test-dynamodb-api")


def lean(endpoint: str, **options: Any) -> SignedJsonApi:
    return SignedJsonApi(
        endpoint, SessionCredentials(get_session()), SigV4Signer(REGION, "dynamodb"), **options
    )


@pytest.fixture
def table(aws_endpoint: str) -> Any:
    db = boto3.client("dynamodb", region_name=REGION, endpoint_url=aws_endpoint)
    if TABLE in db.list_tables()["TableNames"]:
        db.delete_table(TableName=TABLE)
    db.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    items: list[Any] = [
        {"pk": {"S": "a"}, "sk": {"N": "1"}, "text": {"S": 'é \u2028 "quoted"'}},
        {"pk": {"S": "a"}, "sk": {"N": "2"}, "B": {"B": b"\x00\xffbinary"}},
        {"pk": {"S": "a"}, "sk": {"N": "3"}, "set": {"BS": [b"x", b"y"]}, "ns": {"NS": ["1"]}},
        {
            "pk": {"S": "a"},
            "sk": {"N": "4"},
            "nested": {"M": {"B": {"L": [{"B": b"deep"}, {"NULL": True}, {"BOOL": False}]}}},
        },
        {"pk": {"S": "b"}, "sk": {"N": "1"}, "ss": {"SS": ["p", "q"]}},
    ]
    for item in items:
        db.put_item(TableName=TABLE, Item=item)
    return db


def without_metadata(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "ResponseMetadata"}


@pytest.mark.parametrize("limit", [None, 2])
def test_the_same_answers_as_boto3(table, aws_endpoint, loop_thread, limit) -> None:
    request: dict[str, Any] = {
        "TableName": TABLE,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "a"}},
        "ReturnConsumedCapacity": "TOTAL",
    }
    if limit:
        request["Limit"] = limit
    api = lean(aws_endpoint)
    try:
        ours = loop_thread.run(api.query(dict(request)), 10)
    finally:
        loop_thread.run(api.close())
    assert ours == without_metadata(table.query(**request))
    assert isinstance(ours["Items"][1]["B"]["B"], bytes)


@pytest.mark.parametrize(
    "request_",
    [
        {"TableName": "no-such-table", "KeyConditionExpression": "pk = :p"},
        {
            "TableName": TABLE,
            "KeyConditionExpression": "sk = :p",
            "ExpressionAttributeValues": {":p": {"N": "1"}},
        },
        {"TableName": TABLE, "KeyConditionExpression": "pk = :p"},
    ],
    ids=["missing table", "not the hash key", "missing value"],
)
def test_the_same_errors_as_boto3(table, aws_endpoint, loop_thread, request_) -> None:
    with pytest.raises(ClientError) as theirs:
        table.query(**request_)
    api = lean(aws_endpoint)
    try:
        with pytest.raises(ClientError) as ours:
            loop_thread.run(api.query(dict(request_)), 10)
    finally:
        loop_thread.run(api.close())
    assert ours.value.response["Error"]["Code"] == theirs.value.response["Error"]["Code"]
    assert ours.value.operation_name == "Query"
    assert api.attempts == 1  # a client error is never retried


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE token/with+chars=="])
def test_the_signature_equals_botocores(aws_endpoint, token) -> None:
    """botocore's own request for a Query, captured as it leaves (`before-send`), against
    this signer given the same body and moment."""
    sent: list[Any] = []
    client = boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url=aws_endpoint,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        aws_session_token=token,
    )
    client.meta.events.register("before-send", lambda request, **_: sent.append(request))
    with pytest.raises(ClientError):
        client.query(TableName="t", KeyConditionExpression="pk = :p", Limit=3)
    request = sent[0]
    headers = {name.lower(): value for name, value in request.headers.items()}
    decoded = {
        name: value.decode() if isinstance(value, bytes) else value
        for name, value in headers.items()
    }
    ours = SigV4Signer("eu-west-1", "dynamodb").headers(
        "POST",
        lean(aws_endpoint)._where,
        request.body,
        Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
        decoded["x-amz-date"],
        {"Content-Type": decoded["content-type"], "X-Amz-Target": decoded["x-amz-target"]},
    )
    assert ours["Authorization"] == decoded["authorization"]
    assert ours.get("X-Amz-Security-Token") == decoded.get("x-amz-security-token")


class StandIn:
    """A DynamoDB endpoint on loopback that answers from a script, then succeeds."""

    def __init__(self, loop_thread: LoopThread) -> None:
        self.script: list[tuple[int, dict[str, Any], bool]] = []  # status, body, corrupt crc
        self.calls: list[dict[str, Any]] = []
        self.port = free_port()
        self._loop_thread = loop_thread
        app = web.Application()
        app.router.add_post("/", self._answer)
        self._runner = web.AppRunner(app)
        loop_thread.run(self._start(), 10)

    async def _start(self) -> None:
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _answer(self, request: web.Request) -> web.Response:
        self.calls.append(
            {"target": request.headers["X-Amz-Target"], **json.loads(await request.read())}
        )
        status, body, corrupt = (
            self.script.pop(0) if self.script else (200, {"Items": [], "Count": 0}, False)
        )
        data = json.dumps(body).encode()
        crc = zlib.crc32(data) + (1 if corrupt else 0)
        return web.Response(status=status, body=data, headers={"x-amz-crc32": str(crc)})

    def close(self) -> None:
        self._loop_thread.run(self._runner.cleanup(), 10)


@pytest.fixture
def stand_in(loop_thread) -> Iterator[StandIn]:
    server = StandIn(loop_thread)
    yield server
    server.close()


THROTTLED = (
    400,
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "slow down",
    },
    False,
)


def run_query(
    loop_thread: LoopThread, endpoint: str, **options: Any
) -> tuple[Any, list[float], SignedJsonApi]:
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    api = lean(endpoint, sleep=no_sleep, **options)
    try:
        return loop_thread.run(api.query({"TableName": "t"}), 10), slept, api
    finally:
        loop_thread.run(api.close())


@pytest.mark.parametrize(
    "failure",
    [
        THROTTLED,
        (400, {"__type": "com.amazon.coral.availability#ThrottlingException"}, False),
        (500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"}, False),
        (503, {}, False),
        (200, {"Items": []}, True),  # the CRC32 does not match what arrived
    ],
    ids=["throughput", "throttling", "500", "503", "crc32"],
)
def test_what_botocore_retries_is_retried(stand_in, loop_thread, failure) -> None:
    stand_in.script = [failure, failure]
    answer, slept, api = run_query(loop_thread, f"http://127.0.0.1:{stand_in.port}")
    assert answer == {"Items": [], "Count": 0}
    assert api.attempts == 3 and len(slept) == 2
    assert stand_in.calls[0]["target"] == "DynamoDB_20120810.Query"


def test_throttling_that_outlasts_the_attempts_raises_botocores_error(
    stand_in, loop_thread
) -> None:
    stand_in.script = [THROTTLED] * MAX_ATTEMPTS
    with pytest.raises(ClientError) as raised:
        run_query(loop_thread, f"http://127.0.0.1:{stand_in.port}")
    assert raised.value.response["Error"] == {
        "Code": "ProvisionedThroughputExceededException",
        "Message": "slow down",
    }
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert len(stand_in.calls) == MAX_ATTEMPTS


def test_backoff_grows_with_full_jitter_and_a_cap(stand_in, loop_thread) -> None:
    stand_in.script = [THROTTLED] * (MAX_ATTEMPTS - 1)
    _, slept, _ = run_query(loop_thread, f"http://127.0.0.1:{stand_in.port}")
    assert len(slept) == MAX_ATTEMPTS - 1
    assert max(slept) <= 2.0 and all(delay >= 0 for delay in slept)


def test_no_answer_is_retried_then_raised(loop_thread) -> None:
    with pytest.raises(ClientError) as raised:
        run_query(loop_thread, f"http://127.0.0.1:{free_port()}", max_attempts=3)
    assert raised.value.response["Error"]["Code"] == "ClientConnectorError"


def test_signed_and_threaded_lookups_give_the_same_subscribers(store, loop_thread, aws_endpoint):
    red = {"event_type": "NESClick", "filter_field": "color", "filter_expr": "red"}
    every = {"event_type": "NESClick", "desired_fields": ["color", "button"]}
    for number in range(5):
        connection = Connection(f"c{number}=", "127.0.0.1:3001", "local", "viewer", "s", 0)
        store.put_connection(connection)
        chosen = [red, {"event_type": "DashClick"}, every][: 1 + number % 3]
        store.replace_subscriptions(
            connection.connection_id, [Subscription.from_dict(raw) for raw in chosen]
        )
    api = lean(aws_endpoint)
    paged = ConnectionStore(store._db, store.table, store.index, page_size=2)
    try:
        signed = loop_thread.run(SignedLookup(paged, api).subscribers("NESClick"), 10)
        threaded = loop_thread.run(ThreadedLookup(paged).subscribers("NESClick"), 10)
    finally:
        loop_thread.run(api.close())
    assert signed == threaded
    assert signed.pages > 1 and len(signed.subscribers) == 5
    assert sorted(signed.subscribers, key=str) == sorted(
        store.subscribers("NESClick").subscribers, key=str
    )


def test_attempts_are_counted(stand_in, loop_thread) -> None:
    stand_in.script = [THROTTLED]
    _, _, api = run_query(loop_thread, f"http://127.0.0.1:{stand_in.port}")
    assert api.attempts == 2
    assert asyncio.iscoroutinefunction(api.query)
