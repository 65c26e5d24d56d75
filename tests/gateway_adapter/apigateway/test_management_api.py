"""@connections against a running gateway, with boto3's apigatewaymanagementapi client."""

from __future__ import annotations

import datetime
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import botocore.exceptions
import pytest
import websocket
from botocore.config import Config

from ..clients import connect, events_of, wait_for
from ..conftest import PROBE_YML, RunningGateway


def connection_id(gateway: RunningGateway) -> str:
    """The newest connection's id, once the gateway has registered it (the client sees its
    101 a moment before that)."""
    cid: str = events_of("CONNECT")[-1]["requestContext"]["connectionId"]
    wait_for(lambda: cid in gateway.gateway.connections)
    return cid


def test_post_get_delete(probe: RunningGateway) -> None:
    ws = connect(probe, header=["User-Agent: spectator/1"])
    cid = connection_id(probe)
    client = probe.management()
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=2)
    assert (
        client.post_to_connection(ConnectionId=cid, Data=b'{"n": 1}')["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 200
    )
    assert ws.recv() == '{"n": 1}'
    client.post_to_connection(ConnectionId=cid, Data=b"\xff\x00binary")
    assert ws.recv() == b"\xff\x00binary"  # not UTF-8: a binary frame
    info = client.get_connection(ConnectionId=cid)
    assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "spectator/1"}
    assert before < info["ConnectedAt"] <= info["LastActiveAt"]
    response = client.delete_connection(ConnectionId=cid)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    opcode, _ = ws.recv_data(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    event = wait_for(lambda: events_of("DISCONNECT"))[-1]
    assert event["requestContext"]["connectionId"] == cid
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=cid, Data=b"late")


def test_post_at_and_over_the_data_limit(probe: RunningGateway) -> None:
    ws = connect(probe)
    cid = connection_id(probe)
    client = probe.management()
    client.post_to_connection(ConnectionId=cid, Data=b"a" * 131072)
    assert len(ws.recv()) == 131072
    with pytest.raises(client.exceptions.PayloadTooLargeException):
        client.post_to_connection(ConnectionId=cid, Data=b"a" * 131073)
    ws.close()


@pytest.mark.parametrize("operation", ["post_to_connection", "get_connection", "delete_connection"])
def test_unknown_ids_are_gone_and_malformed_ids_bad_requests(
    probe: RunningGateway, operation: str
) -> None:
    client = probe.management()
    kwargs = {"Data": b"x"} if operation == "post_to_connection" else {}
    with pytest.raises(client.exceptions.GoneException):
        getattr(client, operation)(ConnectionId="AAAAAAAAAAAAAAA=", **kwargs)
    with pytest.raises(botocore.exceptions.ClientError) as bad:
        getattr(client, operation)(ConnectionId="not-an-id", **kwargs)
    assert bad.value.response["Error"]["Code"] == "BadRequestException"
    assert bad.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_full_client_buffer_gives_429_without_slowing_others(
    start_gateway: Callable[..., RunningGateway],
) -> None:
    gateway = start_gateway(PROBE_YML, send_buffer_max_bytes=256 * 1024)
    stalled = connect(gateway, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
    stalled_id = connection_id(gateway)
    # Small kernel buffers on both ends, so the gateway's own buffer fills within a few posts.
    server_socket = gateway.gateway.connections[stalled_id].transport.get_extra_info("socket")
    server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    reader = connect(gateway)
    reader_id = connection_id(gateway)
    # botocore retries 429s with backoff by default, as a processor's client would; here
    # each refusal should show at once.
    client = gateway.management(config=Config(retries={"max_attempts": 0}))
    chunk = b"z" * 131072
    limited = 0
    for _ in range(100):  # up to 12.5 MB at a client that never reads
        try:
            client.post_to_connection(ConnectionId=stalled_id, Data=chunk)
        except client.exceptions.LimitExceededException:
            limited += 1
            break
    assert limited == 1
    buffered = gateway.gateway.connections[stalled_id].buffered()
    assert buffered <= 256 * 1024 + 131072 + 16  # bounded: memory does not grow
    started = time.monotonic()
    for n in range(20):
        client.post_to_connection(ConnectionId=reader_id, Data=str(n).encode())
        assert reader.recv() == str(n)
    assert time.monotonic() - started < 5
    stalled.close()
    reader.close()


def test_unsigned_or_wrongly_signed_requests_are_forbidden(probe: RunningGateway) -> None:
    ws = connect(probe)
    cid = connection_id(probe)
    wrong = probe.management(secret_key="not-the-secret")
    with pytest.raises(wrong.exceptions.ForbiddenException):
        wrong.post_to_connection(ConnectionId=cid, Data=b"x")
    unknown = probe.management(access_key="AKIDSOMEONEELSE")
    with pytest.raises(unknown.exceptions.ForbiddenException):
        unknown.get_connection(ConnectionId=cid)
    request = urllib.request.Request(
        f"{probe.management_url}/@connections/{cid}", data=b"x", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(request, timeout=5)
    assert unsigned.value.code == 403
    assert unsigned.value.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert json.loads(unsigned.value.read())["message"] == "Missing Authentication Token"
    ws.close()


def test_no_auth_accepts_unsigned(start_gateway: Callable[..., RunningGateway]) -> None:
    gateway = start_gateway(PROBE_YML, auth=False)
    ws = connect(gateway)
    cid = connection_id(gateway)
    request = urllib.request.Request(
        f"{gateway.management_url}/@connections/{cid}", data=b"unsigned", method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
    assert ws.recv() == "unsigned"
    ws.close()
