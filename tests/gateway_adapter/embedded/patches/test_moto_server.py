"""The dispatch caches answer what moto computes each time, the server still routes every
service the stack uses (DynamoDB, Kinesis, S3, SSM, STS) with them installed, and a kept
connection carries one request after another without losing a byte."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import backends
from moto.core import responses
from moto.dynamodb.responses import DynamoHandler
from moto.kinesis.responses import KinesisResponse

from gateway_adapter.embedded.backend import EmbeddedAws
from gateway_adapter.embedded.patches import moto_server as moto_server_speedups


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


# The HTTP layer (moto_server_http): the lean header parser gives what the email package gives,
# and a kept-alive server answers what moto's own handler answers, byte for byte.

ORDINARY = [
    b"Host: localhost:4566\r\nAccept-Encoding: identity\r\nX-Amz-Target: DynamoDB_20120810.Query"
    b"\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n",
    b"\r\n",
    b"Empty:\r\nSpaces:    padded   \r\nTab:\tx\ty\t\r\nA-b_c.d~!: 1\r\n\r\n",
    b"Dup: 1\r\nDup: 2\r\nContent-Type: text/plain\r\n\r\n",
]
UNUSUAL = [
    b"Folded: one\r\n two\r\n\tthree\r\nNext: x\r\n\r\n",  # obsolete line folding
    b" Leading: continuation\r\nHost: x\r\n\r\n",
    b"Bare: lf\nHost: x\n\n",
    b"Mixed: lf\nHost: x\r\n\r\n",
    b"Latin: caf\xe9\r\n\r\n",
    b"Vt: a\x0bb\r\nFf: a\x0cb\r\n\r\n",  # splitlines() splits these
    b"Sep: a\x1cb\r\nNel: a\x85b\r\n\r\n",
    b"Cr: a\rb\r\n\r\n",
    b"From someone\r\nHost: x\r\n\r\n",
    b": no name\r\nHost: x\r\n\r\n",
    b"Host : space before colon\r\nAfter: x\r\n\r\n",
    b"No colon here\r\nHost: x\r\n\r\n",
    b"Content-Type: multipart/form-data; boundary=xyz\r\n\r\n",
    b"Content-Type: Multipart/Mixed\r\n\r\n",
    b"Content-Type: message/rfc822\r\n\r\n",
    b"Host: x\r\n",  # the stream ends before the blank line
    b"Host: x\r\nDel: \x7f\r\n\r\n",
]


def _both_parse(block: bytes) -> tuple[Any, Any, bytes, bytes]:
    import io

    from gateway_adapter.embedded.patches.moto_server_http import parse_headers

    body = b"BODY\r\nGET / HTTP/1.1\r\n"
    ours, theirs = io.BytesIO(block + body), io.BytesIO(block + body)
    lean = parse_headers(ours, http.client.HTTPMessage)
    standard = http.client.parse_headers(theirs)
    return lean, standard, ours.read(), theirs.read()


def _state(message: Any) -> Any:
    """Everything the parser put in a message (nested ones included), defects by type."""
    if isinstance(message, list):
        return [_state(part) for part in message]
    if not isinstance(message, http.client.HTTPMessage):
        return message
    state = {k: _state(v) for k, v in vars(message).items() if k != "defects"}
    return type(message), state, [type(d) for d in message.defects]


def _same_message(lean: Any, standard: Any) -> None:
    assert _state(lean) == _state(standard)
    assert lean.items() == standard.items() and lean.as_string() == standard.as_string()


@pytest.mark.parametrize("block", ORDINARY + UNUSUAL)
def test_lean_header_parser_builds_the_email_packages_message(block: bytes) -> None:
    lean, standard, rest, expected_rest = _both_parse(block)
    _same_message(lean, standard)
    assert rest == expected_rest  # reads exactly the header block


def test_lean_header_parser_matches_for_any_header_block() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    piece = st.sampled_from(
        [b"Host", b"X-Amz-Date", b"Content-Type", b":", b" ", b"\t", b"\r\n", b"\n", b"\r",
         b"multipart/x", b"message/y", b"v", b"From ", b"\xe9", b"\x0b", b"\x7f", b"_"]
    )  # fmt: skip

    @settings(max_examples=400, deadline=None)
    @given(st.lists(st.lists(piece, max_size=6).map(b"".join), max_size=6))
    def check(lines: list[bytes]) -> None:
        block = b"".join(line + b"\r\n" for line in lines) + b"\r\n"
        lean, standard, rest, expected_rest = _both_parse(block)
        _same_message(lean, standard)
        assert rest == expected_rest

    check()


def _exchange(port: int, request: bytes) -> bytes:
    """Everything a server answers to `request` on a fresh connection, until it closes."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def _comparable(answer: bytes) -> tuple[bytes, list[bytes], bytes]:
    """Status line, header lines but Date, and body; moto's random request ids blanked."""
    answer = re.sub(rb"[A-Za-z0-9]{52}", b"<request id>", answer)
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *headers = head.split(b"\r\n")
    return status, [h for h in headers if not h.lower().startswith(b"date:")], body


MALFORMED = {
    "line too long": b"GET /moto-api/ HTTP/1.1\r\nHost: x\r\nBig: " + b"x" * 70_000 + b"\r\n\r\n",
    "too many headers": b"GET /moto-api/ HTTP/1.1\r\n"
    + b"".join(b"H%d: v\r\n" % n for n in range(100))
    + b"\r\n",
    "bad version": b"GET / HTTP/1.x\r\nHost: x\r\n\r\n",
    "HTTP/2": b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
    "HTTP/0.9 POST": b"POST /\r\n\r\n",
    "four words": b"GET / x HTTP/1.1\r\nHost: x\r\n\r\n",
    "folded header": b"GET /moto-api/ HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\nConnection: close"
    b"\r\n\r\n",
    "HTTP/1.0": b"GET /moto-api/ HTTP/1.0\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_unusual_and_malformed_requests_fail_or_answer_as_with_moto(
    name: str, aws_endpoint: str, kept_alive: EmbeddedAws
) -> None:
    plain_port = int(aws_endpoint.rsplit(":", 1)[1])
    expected = _comparable(_exchange(plain_port, MALFORMED[name]))
    assert _comparable(_exchange(kept_alive.port, MALFORMED[name])) == expected
    if name in ("line too long", "too many headers"):
        assert expected[0].startswith(b"HTTP/1.1 431")


def _answer(port: int, target: str, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(
        "POST",
        "/",
        body=body,
        headers={
            "X-Amz-Target": target,
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": SIGNED_BY_TEST.replace("dynamodb", target.split("_")[0].lower()),
        },
    )
    response = connection.getresponse()
    data = response.read()
    connection.close()
    skip = {"date", "connection", "x-amzn-requestid"}
    headers = [(k.lower(), v) for k, v in response.getheaders() if k.lower() not in skip]
    assert response.getheader("x-amzn-RequestId")
    return response.status, headers, data


def test_hot_calls_answer_the_same_bytes_as_moto(aws_endpoint: str, kept_alive: EmbeddedAws):
    """Query, GetItem, PutItem (and an error) through moto's handler and the kept-alive one:
    same status, same headers (x-amz-crc32 among them) but Date and Connection, same body."""
    plain = int(aws_endpoint.rsplit(":", 1)[1])
    dynamodb = "DynamoDB_20120810."
    create = {
        "TableName": "same-bytes",
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    }
    assert _answer(plain, dynamodb + "CreateTable", json.dumps(create).encode())[0] == 200
    item = {"pk": {"S": "one"}, "kind": {"S": "button"}, "n": {"N": "1"}}
    calls = [
        ("PutItem", {"TableName": "same-bytes", "Item": item}),
        ("GetItem", {"TableName": "same-bytes", "Key": {"pk": {"S": "one"}}}),
        (
            "Query",
            {
                "TableName": "same-bytes",
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": "one"}},
            },
        ),
        ("GetItem", {"TableName": "nothing", "Key": {}}),
    ]
    for action, request in calls:
        body = json.dumps(request).encode()
        expected = _answer(plain, dynamodb + action, body)
        assert _answer(kept_alive.port, dynamodb + action, body) == expected
        assert "x-amz-crc32" in dict(expected[1])
    # moto's own routing of an unknown path, through Flask's 404
    assert _comparable(_exchange(kept_alive.port, b"GET /nowhere/x HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")) == _comparable(
        _exchange(plain, b"GET /nowhere/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    )  # fmt: skip


def test_put_records_answers_as_moto(aws_endpoint: str, kept_alive: EmbeddedAws):
    plain = int(aws_endpoint.rsplit(":", 1)[1])
    kinesis = "Kinesis_20131202."
    create = {"StreamName": "same-bytes", "ShardCount": 1}
    assert _answer(plain, kinesis + "CreateStream", json.dumps(create).encode())[0] == 200
    records = {"StreamName": "same-bytes", "Records": [{"Data": "eA==", "PartitionKey": "p"}]}
    body = json.dumps(records).encode()
    status, headers, data = _answer(plain, kinesis + "PutRecords", body)
    ours = _answer(kept_alive.port, kinesis + "PutRecords", body)
    assert (status, [h[0] for h in headers]) == (ours[0], [h[0] for h in ours[1]])
    first, second = json.loads(data), json.loads(ours[2])
    assert first["FailedRecordCount"] == second["FailedRecordCount"] == 0
    assert int(second["Records"][0]["SequenceNumber"]) > int(first["Records"][0]["SequenceNumber"])


def test_apps_of_a_kept_alive_server_load_forms_as_werkzeug_does(kept_alive: EmbeddedAws):
    """The request class skips only Flask's debug wrapper around an empty `files`."""
    from moto.moto_server import threaded_moto_server
    from werkzeug.test import EnvironBuilder

    app = threaded_moto_server.create_backend_app("sqs")
    request = app.request_class(
        EnvironBuilder(
            method="POST", data={"Action": "ListQueues"}, content_type=FORM
        ).get_environ()
    )
    with app.app_context():
        assert request.form.to_dict() == {"Action": "ListQueues"}
        assert not request.files and type(request.files).__name__ == "ImmutableMultiDict"
    status, _, answer = _call(
        http.client.HTTPConnection(kept_alive.host, kept_alive.port, timeout=10),
        "ListTables",
        b"{}",
    )
    assert status == 200 and "TableNames" in answer


FORM = "application/x-www-form-urlencoded"
