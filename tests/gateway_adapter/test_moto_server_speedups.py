"""The dispatch caches answer what moto computes each time, the server still routes every
service the stack uses (DynamoDB, Kinesis, S3, SSM, STS) with them installed, and a kept
connection carries one request after another without losing a byte."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import backends
from moto.core import responses
from moto.dynamodb.responses import DynamoHandler
from moto.kinesis.responses import KinesisResponse

from gateway_adapter import moto_server_speedups
from gateway_adapter.embedded import EmbeddedAws


@pytest.fixture
def speedup() -> Iterator[None]:
    moto_server_speedups.install()
    try:
        yield
    finally:
        moto_server_speedups.uninstall()
    assert not moto_server_speedups.installed()


def test_cached_answers_are_moto_answers():
    modules = list(backends.list_of_moto_modules())
    names = {
        cls: set(responses.method_names_from_class(cls)) for cls in (DynamoHandler, KinesisResponse)
    }
    moto_server_speedups.install()
    try:
        assert moto_server_speedups.installed()
        assert list(backends.list_of_moto_modules()) == modules
        assert "dynamodb" in modules and "kinesis" in modules
        for cls, expected in names.items():
            assert set(responses.method_names_from_class(cls)) == expected
            assert "query" in expected or "get_records" in expected
    finally:
        moto_server_speedups.uninstall()


def test_every_service_of_the_stack_still_answers(aws_client: Callable[[str], Any], speedup):
    assert aws_client("sts").get_caller_identity()["Account"]
    assert aws_client("dynamodb").list_tables()["TableNames"] == []
    assert aws_client("kinesis").list_streams()["StreamNames"] == []
    assert aws_client("s3").list_buckets()["Buckets"] == []
    assert aws_client("ssm").describe_parameters()["Parameters"] == []
    with pytest.raises(aws_client("dynamodb").exceptions.ResourceNotFoundException):
        aws_client("dynamodb").describe_table(TableName="nothing")


@pytest.fixture
def kept_alive() -> Iterator[EmbeddedAws]:
    """A second embedded backend with the speed-ups (the session's keeps moto's handler)."""
    aws = EmbeddedAws(fast_dispatch=True)
    try:
        with aws:
            yield aws
    finally:
        moto_server_speedups.uninstall()


def _call(
    connection: http.client.HTTPConnection, target: str, body: bytes, **headers: str
) -> tuple[int, dict[str, str], dict[str, Any]]:
    connection.request(
        "POST",
        "/",
        body=body,
        headers={
            "X-Amz-Target": f"DynamoDB_20120810.{target}",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": SIGNED_BY_TEST,
            **headers,
        },
    )
    response = connection.getresponse()
    answer = json.loads(response.read() or b"{}")
    return response.status, {k.lower(): v for k, v in response.getheaders()}, answer


SIGNED_BY_TEST = (
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


def test_one_connection_carries_request_after_request(kept_alive: EmbeddedAws) -> None:
    connection = http.client.HTTPConnection(kept_alive.host, kept_alive.port, timeout=10)
    create = {
        "TableName": "kept",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    }
    status, headers, _ = _call(connection, "CreateTable", json.dumps(create).encode())
    assert status == 200 and headers.get("connection") != "close"
    socket_before = connection.sock
    for n in range(5):
        item = {"TableName": "kept", "Item": {"pk": {"S": f"k{n}"}, "v": {"S": "x" * 5000}}}
        assert _call(connection, "PutItem", json.dumps(item).encode())[0] == 200
    # an error that the server answers without reading much: the next request still parses
    status, _, answer = _call(connection, "GetItem", b'{"TableName": "nothing", "Key": {}}')
    assert status == 400 and "ResourceNotFound" in answer["__type"]
    status, _, answer = _call(
        connection,
        "GetItem",
        json.dumps({"TableName": "kept", "Key": {"pk": {"S": "k4"}}}).encode(),
    )
    assert status == 200 and answer["Item"]["v"]["S"] == "x" * 5000
    assert connection.sock is socket_before  # never reconnected


def test_chunked_and_closing_requests_close_as_before(kept_alive: EmbeddedAws) -> None:
    connection = http.client.HTTPConnection(kept_alive.host, kept_alive.port, timeout=10)
    status, headers, _ = _call(connection, "ListTables", b"{}", Connection="close")
    assert status == 200 and headers.get("connection") == "close"
    connection = http.client.HTTPConnection(kept_alive.host, kept_alive.port, timeout=10)
    connection.request(
        "POST",
        "/",
        body=iter([b"{", b"}"]),
        headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": SIGNED_BY_TEST,
        },
        encode_chunked=True,
    )
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Connection") == "close"
    assert "TableNames" in json.loads(response.read())
