"""The LocalStack path without Docker: host-mode LocalStack (the session's, see conftest) with
the calls the stack makes, `tumble local` on it with a spectator receiving both paths, and
`BACKEND=localstack` starting its own LocalStack and leaving nothing behind when killed."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import boto3
import psutil
import pytest
import websocket

from gateway_adapter.embedded.backend import free_port
from messages import Source, Subscription, decode_spectator_frame, encode_kinesis_data
from messages.envelopes import FRAME_EVENT_ID, FRAME_SOURCE, submit_envelope, subscribe_envelope
from messages.tokens import Role, issue, with_token
from producer.simulate import nes_click
from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import Options
from serverless_model.service import load_service
from tests.conftest import ROOT, SERVERLESS_YML
from tests.localstack_backend.conftest import require_host_mode
from tests.tumble.test_local import Stack, port_is_free, stack_env
from tumble.backend import docker_unavailable, localstack_health

SECRET = "localstack-test-secret"
READY_TIMEOUT_S = 120

pytestmark = pytest.mark.slow


def session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )


def test_serverless_yml_resources_on_localstack_with_dynamodb_embedded(
    host_localstack, aws_endpoint
):
    aws = session()

    def client(name):
        return aws.client(
            name, endpoint_url=aws_endpoint if name == "dynamodb" else host_localstack
        )

    account = client("sts").get_caller_identity()["Account"]
    service = load_service(SERVERLESS_YML, Options(stage="lshost", account_id=account))
    changes = bootstrap_resources(service, client)
    assert {change.kind for change in changes} == {"stream", "table", "bucket", "queue"}
    assert all(change.created for change in changes), changes
    assert not any(change.created for change in bootstrap_resources(service, client))

    kinesis = client("kinesis")
    summary = kinesis.describe_stream_summary(StreamName="tumble-lshost-iot-events")
    assert summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    table = client("dynamodb").describe_table(TableName="tumble-lshost-connections")["Table"]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by_event_type"
    assert client("s3").head_bucket(Bucket=f"tumble-lshost-uploads-{account}")
    assert client("sqs").get_queue_url(QueueName="tumble-lshost-stream-failures")["QueueUrl"]

    # The token secret, as tumble local stores it and the authorizer reads it.
    ssm = client("ssm")
    ssm.put_parameter(Name="/tumble/lshost/secret", Value="s3cr3t", Type="SecureString")
    parameter = ssm.get_parameter(Name="/tumble/lshost/secret", WithDecryption=True)
    assert parameter["Parameter"]["Value"] == "s3cr3t"

    # The stream trigger's reads: GetShardIterator and GetRecords on each shard.
    event = nes_click("red", "A")
    put = kinesis.put_record(
        StreamName="tumble-lshost-iot-events", Data=encode_kinesis_data(event), PartitionKey="red"
    )
    iterator = kinesis.get_shard_iterator(
        StreamName="tumble-lshost-iot-events",
        ShardId=put["ShardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=put["SequenceNumber"],
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert records[0]["Data"] == encode_kinesis_data(event)


def viewer_frames(ws_url: str, count: int, timeout_s: float, send) -> list[dict]:
    token = issue(SECRET.encode(), Role.VIEWER, "viewer", int(time.time()) + 600)
    ws = websocket.create_connection(with_token(ws_url, token), timeout=10)
    try:
        ws.send(subscribe_envelope([Subscription.from_dict({"event_type": "NESClick"})]))
        decode_spectator_frame(ws.recv())
        send()
        frames: list[dict] = []
        deadline = time.monotonic() + timeout_s
        while len(frames) < count and time.monotonic() < deadline:
            frames.append(decode_spectator_frame(ws.recv()))
        return frames
    finally:
        ws.close()


@pytest.mark.timeout(240)
def test_tumble_local_on_localstack_delivers_both_paths(host_localstack):
    env = stack_env()
    env["LOCALSTACK_HOST"] = host_localstack.removeprefix("http://")
    env["TUMBLE_TOKEN_SECRET"] = SECRET
    stack = Stack(env=env, ports={"dynamodb": free_port()})
    try:
        assert stack.ready.wait(READY_TIMEOUT_S), stack.output
        assert "backend: localstack" in stack.output and "_localstack/health" in stack.output
        assert re.search(rf"kinesis +LocalStack at {host_localstack} ", stack.output)
        dynamodb = f"http://127.0.0.1:{stack.ports['dynamodb']}"
        assert re.search(rf"dynamodb +embedded at {dynamodb} \(LocalStack reports", stack.output)
        kinesis = session().client("kinesis", endpoint_url=host_localstack)
        event = nes_click("blue", "B")
        ws_url = f"ws://127.0.0.1:{stack.ports['gateway']}/local"

        def send_both() -> None:
            shipper = issue(SECRET.encode(), Role.SHIPPER, "shipper", int(time.time()) + 600)
            ws = websocket.create_connection(with_token(ws_url, shipper), timeout=10)
            ws.send(submit_envelope(event.with_source(Source.WEBSOCKET)))
            ws.close()
            kinesis.put_record(
                StreamName="tumble-local-iot-events",
                Data=encode_kinesis_data(event.with_source(Source.KINESIS)),
                PartitionKey="blue",
            )

        frames = viewer_frames(ws_url, 2, 60, send_both)
        sources = {
            frame[FRAME_SOURCE] for frame in frames if frame[FRAME_EVENT_ID] == event.event_id
        }
        assert sources == {Source.WEBSOCKET.value, Source.KINESIS.value}, stack.output
    finally:
        code = stack.stop()
    assert code in (0, 130), stack.output
    assert localstack_health(host_localstack) is not None  # not ours: left running


@pytest.mark.timeout(240)
def test_backend_localstack_starts_host_mode_and_kill_9_leaves_no_process():
    require_host_mode()
    env = stack_env()
    env.update(BACKEND="localstack", LOCALSTACK_MODE="host")
    stack = Stack(env=env, ports={"dynamodb": free_port()})
    tree: list[psutil.Process] = []
    try:
        assert stack.ready.wait(READY_TIMEOUT_S), stack.output
        aws = f"http://127.0.0.1:{stack.ports['aws']}"
        assert "host mode, no Docker" in stack.output
        assert re.search(r"dynamodb +embedded at .*DynamoDB Local, which needs Java", stack.output)
        health = localstack_health(aws)
        assert health is not None and health["services"]["kinesis"] in ("available", "running")
        # kinesis-mock starts with the first Kinesis call: the bootstrap's CreateStream.
        tree = psutil.Process(stack.process.pid).children(recursive=True)
        commands = [" ".join(process.cmdline()) for process in tree]
        assert any("kinesis-local" in command for command in commands), commands
        assert any("localstack.runtime.main" in command for command in commands), commands
    finally:
        stack.process.send_signal(signal.SIGKILL)
        stack.process.wait(timeout=10)
    _, alive = psutil.wait_procs(tree, timeout=30)
    assert alive == [], [process.cmdline() for process in alive]
    for port in stack.ports.values():
        assert port_is_free(port), port


def test_asked_for_localstack_in_docker_without_docker_is_an_error_with_the_reason():
    if docker_unavailable() is None:
        pytest.skip("a Docker engine answers here: LOCALSTACK_MODE=docker would start it")
    env = stack_env()
    env.update(BACKEND="localstack", LOCALSTACK_MODE="docker")
    process = subprocess.run(
        [sys.executable, "-m", "tumble", "local", "--simulate", "0", f"--aws-port={free_port()}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 1, process.stdout
    assert "tumble local: BACKEND=localstack with LOCALSTACK_MODE=docker: " in process.stderr
    assert "embedded" not in process.stdout  # no quiet fall back
