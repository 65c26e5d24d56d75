"""`tumble local` as a user runs it: a child process, free ports, Ctrl-C at the end."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading

import boto3
import pytest

from gateway_adapter.embedded.backend import free_port
from tests.conftest import ROOT, SERVERLESS_YML

READY_TIMEOUT_S = 60


def stack_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TUMBLE_"))}
    env["LOCALSTACK_HOST"] = f"127.0.0.1:{free_port()}"  # nothing there: embedded backend
    return env


class Stack:
    def __init__(
        self, *args: str, env: dict[str, str], ports: dict[str, int] | None = None
    ) -> None:
        self.ports = {name: free_port() for name in ("aws", "gateway", "page")} | (ports or {})
        command = [
            sys.executable,
            "-m",
            "tumble",
            "local",
            "--config",
            str(SERVERLESS_YML),
            "--simulate",
            "0",
            *args,
        ]
        command += [f"--{name}-port={port}" for name, port in self.ports.items()]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if line.startswith("ready in"):
                self.ready.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=30)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.slow
def test_local_stack_comes_up_on_the_embedded_backend_and_stops_cleanly():
    env = stack_env()
    env["TUMBLE_TOKEN_SECRET"] = "a-secret-the-user-chose"
    stack = Stack(env=env)
    try:
        assert stack.ready.wait(READY_TIMEOUT_S), stack.output
        assert "backend: embedded" in stack.output and "no LocalStack reachable" in stack.output
        endpoint = re.search(r"endpoints: AWS (\S+)", stack.output).group(1)
        assert endpoint == f"http://127.0.0.1:{stack.ports['aws']}"
        assert f"ws://127.0.0.1:{stack.ports['gateway']}/local" in stack.output
        session = boto3.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
        )
        kinesis = session.client("kinesis", endpoint_url=endpoint)
        summary = kinesis.describe_stream_summary(StreamName="tumble-local-iot-events")
        assert summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
        table = session.client("dynamodb", endpoint_url=endpoint).describe_table(
            TableName="tumble-local-connections"
        )["Table"]
        assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "by_event_type"
        secret = session.client("ssm", endpoint_url=endpoint).get_parameter(
            Name="/tumble/local/token-secret", WithDecryption=True
        )["Parameter"]["Value"]
        assert secret == "a-secret-the-user-chose"
    finally:
        code = stack.stop()
    assert code in (0, 130), stack.output
    assert "stopped" in stack.output
    for port in stack.ports.values():
        assert port_is_free(port), f"port {port} still open after Ctrl-C"
    leftovers = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    for port in stack.ports.values():
        assert f"--port {port}" not in leftovers, leftovers


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (
            lambda text: text.replace("[IotEventsStream, Arn]", "[MissingStream, Arn]"),
            "resources.Resources.MissingStream: is not defined",
        ),
        (
            lambda text: text.replace("functions:\n", "functions: [\n", 1),
            "invalid YAML",
        ),
    ],
)
def test_a_broken_serverless_yml_stops_start_up_naming_file_and_key(tmp_path, breakage, message):
    broken = tmp_path / "serverless.yml"
    broken.write_text(breakage(SERVERLESS_YML.read_text()))
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "tumble",
            "local",
            "--config",
            str(broken),
            "--simulate",
            "0",
            *(f"--{name}-port={free_port()}" for name in ("aws", "gateway", "page")),
        ],
        cwd=ROOT,
        env=stack_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert process.returncode == 1
    assert f"tumble local: {broken}: " in process.stderr
    assert message in process.stderr
    assert "stopped" in process.stdout


# What a moto release that changed KinesisResponse.get_records' signature looks like to the
# GetRecords patch: the method still works (plain moto answers), its premise does not hold.
CHANGED_MOTO = """
from moto.kinesis.responses import KinesisResponse
_get_records = KinesisResponse.get_records
def get_records(self, *args):
    return _get_records(self, *args)
KinesisResponse.get_records = get_records
"""


@pytest.mark.slow
def test_a_patch_whose_premise_fails_is_named_on_the_terminal_and_moto_answers_plainly(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(CHANGED_MOTO)
    env = stack_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    stack = Stack(env=env)
    try:
        assert stack.ready.wait(READY_TIMEOUT_S), stack.output
        warning = next(line for line in stack.lines if "warning:" in line)
        assert warning.startswith("  embedded AWS: warning: moto "), warning
        assert "GetRecords patch is off" in warning and "KinesisResponse.get_records" in warning
        kinesis = boto3.client(
            "kinesis",
            endpoint_url=f"http://127.0.0.1:{stack.ports['aws']}",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )
        stream = "tumble-local-iot-events"
        shard = kinesis.put_record(StreamName=stream, Data=b"{}", PartitionKey="k")["ShardId"]
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        assert len(kinesis.get_records(ShardIterator=iterator)["Records"]) == 1
    finally:
        assert stack.stop() in (0, 130), stack.output


def test_children_see_the_environment_all_functions_share():
    from serverless_model.config import Options
    from serverless_model.service import load_service
    from tumble.local import shared_environment

    service = load_service(SERVERLESS_YML, Options(stage="local", account_id="123456789012"))
    shared = shared_environment(service)
    assert shared["STREAM_NAME"] == "tumble-local-iot-events"
    assert shared["UPLOAD_BUCKET"] == "tumble-local-uploads-123456789012"
    assert shared["CONNECTIONS_TABLE"] == "tumble-local-connections"


def test_the_parts_get_the_stacks_own_resources_whatever_the_caller_inherited(tmp_path):
    """A STREAM_NAME left in the environment by whoever starts the stack (a benchmark before
    this one, a shell) must not send the players' puts to a stream that is not there."""
    from tumble.local import LocalStack, Ports

    env = stack_env()
    env.update(STREAM_NAME="tumble-bench-iot-events", CONNECTIONS_TABLE="tumble-bench-connections")
    stack = LocalStack(
        config=SERVERLESS_YML,
        ports=Ports(aws=free_port(), gateway=free_port(), page=free_port()),
        env=env,
        simulate=0,
        page=False,
        log_dir=tmp_path,
    )
    try:
        stack.start()
        assert stack.env["STREAM_NAME"] == "tumble-local-iot-events"
        assert stack.env["CONNECTIONS_TABLE"] == "tumble-local-connections"
    finally:
        stack.stop()
