"""End to end in artifact mode: the real gateway (`python -m gateway_adapter --artifact`) runs
every function from the built Lambda artifact in sandbox processes under Python 3.12 with only
the artifact and the standard library to import from; real WebSocket clients and the embedded
backend. A press reaches a spectator on both paths: submitIotEvent over the WebSocket, and
PutRecords through the Kinesis trigger."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import websocket

from messages import Event, Subscription, encode_kinesis_data, submit_envelope, subscribe_envelope
from processor.store import ConnectionStore
from tests.gateway_adapter.lambda_runtime.test_sandboxes import children_of
from tests.processor import conftest as processor_fixtures
from tests.processor.conftest import REGION, GatewayProcess, StoredItems, make_token

from .artifact_build import built_artifact, lambda_python

pytestmark = pytest.mark.slow

# The processor's fixtures: its resources on the embedded backend, its environment, its store.
processor_service = processor_fixtures.processor_service
processor_env = processor_fixtures.processor_env
dynamodb = processor_fixtures.dynamodb
store = processor_fixtures.store
stored = processor_fixtures.stored

CLICK = {"color": "red", "button": "A", "axis": None, "value": None, "source": "websocket"}


@pytest.fixture(scope="module")
def artifact_gateway(
    processor_service, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    python = lambda_python()
    artifact = built_artifact(tmp_path_factory)
    running = GatewayProcess(triggers=True, extra=["--artifact", str(artifact), "--python", python])
    yield running
    running.stop()


def sandboxes_of(pid: int) -> list[str]:
    """The command lines of the gateway's sandbox processes."""
    return [
        " ".join(part.decode() for part in Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0"))
        for child in children_of(pid)
    ]


def frame(ws: websocket.WebSocket) -> dict:
    return json.loads(ws.recv())


def test_a_press_reaches_a_spectator_on_both_paths_from_the_artifact(
    artifact_gateway: GatewayProcess,
    processor_env,
    store: ConnectionStore,
    stored: StoredItems,
    aws_endpoint: str,
):
    sandboxes = sandboxes_of(artifact_gateway.process.pid)
    assert sandboxes and all(" -I -S " in command for command in sandboxes), sandboxes
    assert all("lambda_worker.py" in command for command in sandboxes)
    # $connect through the authorizer, then subscribe: both from the artifact.
    spectator = websocket.create_connection(artifact_gateway.url(make_token("viewer")), timeout=20)
    shipper = websocket.create_connection(artifact_gateway.url(make_token("shipper")), timeout=20)
    try:
        spectator.send(subscribe_envelope([Subscription.from_dict({"event_type": "NESClick"})]))
        assert frame(spectator)["status"] == "subscribed"
        # The WebSocket path: submit_iot_event.
        press = Event.create("NESClick", CLICK)
        shipper.send(submit_envelope(press))
        delivered = frame(spectator)
        assert (delivered["event_id"], delivered["source"]) == (press.event_id, "websocket")
        # The Kinesis path: send_iot_message, invoked by the trigger. It starts at LATEST:
        # put presses until one arrives.
        kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=aws_endpoint)
        stream = processor_env.functions["send_iot_message"].environment["STREAM_NAME"]
        spectator.settimeout(2)
        sent: set[str] = set()
        for _ in range(15):
            press = Event.create("NESClick", CLICK)
            sent.add(press.event_id)
            kinesis.put_record(
                StreamName=stream, Data=encode_kinesis_data(press), PartitionKey="red"
            )
            try:
                delivered = frame(spectator)
                break
            except websocket.WebSocketTimeoutException:
                continue
        else:
            pytest.fail("the Kinesis trigger never delivered from the artifact")
        assert delivered["source"] == "kinesis"
        assert delivered["event_id"] in sent
        # $disconnect: the connection and its subscription leave the table.
        (subscriber,) = store.subscribers("NESClick").subscribers
    finally:
        spectator.close()
        shipper.close()
    deadline = time.monotonic() + 20
    while stored.items(subscriber.connection_id):
        assert time.monotonic() < deadline, "$disconnect did not remove the connection"
        time.sleep(0.05)
