"""The LocalStack path: the same bootstrap against a real LocalStack in Docker."""

from __future__ import annotations

import shutil
import subprocess

import boto3
import pytest

from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import Options
from serverless_model.service import load_service
from tests.conftest import SERVERLESS_YML
from tumble.backend import choose_backend

LOCALSTACK_IMAGE = "localstack/localstack:4.14.0"


def docker_engine_missing() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return "no Docker engine answers `docker info` (only the client is installed)"
    return None


pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def localstack_url():
    reason = docker_engine_missing()
    if reason:
        pytest.skip(f"LocalStack needs Docker: {reason}")
    from testcontainers.localstack import LocalStackContainer

    with LocalStackContainer(image=LOCALSTACK_IMAGE).with_env("KINESIS_LATENCY", "0") as stack:
        yield stack.get_url()


def test_resources_bootstrap_on_localstack(localstack_url):
    session = boto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )

    def client(name):
        return session.client(name, endpoint_url=localstack_url)

    account = client("sts").get_caller_identity()["Account"]
    service = load_service(SERVERLESS_YML, Options(stage="local", account_id=account))
    assert all(change.created for change in bootstrap_resources(service, client))
    assert not any(change.created for change in bootstrap_resources(service, client))
    summary = client("kinesis").describe_stream_summary(StreamName="tumble-local-iot-events")
    assert summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"


def test_a_running_localstack_is_chosen(localstack_url):
    host = localstack_url.removeprefix("http://")
    backend = choose_backend({"LOCALSTACK_HOST": host})
    assert backend.kind == "localstack" and not backend.started_localstack
