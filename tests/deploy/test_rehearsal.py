"""`tumble deploy` end to end but for the Framework's call to AWS: the prerequisites against
the embedded backend's STS and SSM, then the packaged templates deployed there as a stack
(tests/deploy/rehearsal.py), then the URL and the command lines it prints, one of which is run.

What this proves: CloudFormation (moto's) evaluates serverless.yml's intrinsics to the same
names the local stack computes (serverless_model.intrinsics), the resources and the trigger come
out as configured, and `tumble token` as printed signs with the stage's secret."""

from __future__ import annotations

import re
import shlex
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import boto3
import pytest

from messages.tokens import Role, verify
from spectator.watch import _parser as watch_parser
from tests.deploy.artifact_build import SERVERLESS_YML, built_artifact
from tests.deploy.conftest import REGION, STAGE
from tests.deploy.rehearsal import Rehearsal
from tumble.deploy.cli import Deployer
from tumble.token import main as token_main

SECRET = "rehearsal-secret"
ACCOUNT = "123456789012"  # moto's


@pytest.fixture(scope="module")
def regional(aws_endpoint: str):
    """Clients in the stage's region on the embedded backend, emptied once for the module."""
    request = urllib.request.Request(f"{aws_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    session = boto3.Session(region_name=REGION)
    return lambda name: session.client(name, endpoint_url=aws_endpoint)


@pytest.fixture(scope="module")
def deployed(regional, packaged: Path, tmp_path_factory: pytest.TempPathFactory):
    """One rehearsed deploy for the module's tests, which only read what it made."""
    regional("ssm").put_parameter(
        Name=f"/tumble/{STAGE}/token-secret", Value=SECRET, Type="SecureString"
    )
    rehearsal = Rehearsal(
        packaged, built_artifact(tmp_path_factory), regional, stack_name=f"tumble-{STAGE}"
    )
    built: list[tuple[Path, str]] = []
    lines: list[str] = []
    deployer = Deployer(
        SERVERLESS_YML,
        regional,
        rehearsal,
        environ={},
        build=lambda config, stage: built.append((config, stage)),
        say=lines.append,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto: "no CloudFormation support for ApiGatewayV2"
        result = deployer.deploy(STAGE, REGION)
    assert built == [(SERVERLESS_YML, STAGE)]
    assert rehearsal.calls == [["deploy", "--stage", STAGE, "--region", REGION]]
    return result, lines


def test_the_checks_come_first_and_say_what_they_found(deployed):
    _, lines = deployed
    assert lines[0].startswith(f"  ok  credentials: account {ACCOUNT}")
    assert lines[1] == f"  ok  token secret: /tumble/{STAGE}/token-secret (SecureString, version 1)"
    assert lines[2] == "  ok  tooling: rehearsal on the embedded backend"


def test_the_stack_creates_what_serverless_yml_names(deployed, regional):
    stage, _ = deployed
    assert stage.stage.upload_bucket == f"tumble-{STAGE}-uploads-{ACCOUNT}"  # computed locally
    kinesis = regional("kinesis").describe_stream_summary(StreamName=stage.stage.stream)
    assert kinesis["StreamDescriptionSummary"]["OpenShardCount"] == 2
    table = regional("dynamodb").describe_table(TableName=f"tumble-{STAGE}-connections")
    assert table["Table"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by_event_type"
    regional("s3").head_bucket(Bucket=stage.stage.upload_bucket)
    sqs = regional("sqs")
    queue = sqs.get_queue_url(QueueName=f"tumble-{STAGE}-stream-failures")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == "1209600"

    function = regional("lambda").get_function(FunctionName=f"tumble-{STAGE}-subscribe")
    variables: dict[str, Any] = function["Configuration"]["Environment"]["Variables"]
    # CloudFormation's evaluation of the Fn::Join equals the local stack's.
    assert variables["UPLOAD_BUCKET"] == stage.stage.upload_bucket
    assert variables["STREAM_NAME"] == stage.stage.stream
    assert function["Configuration"]["Runtime"] == "python3.12"


def test_the_trigger_is_mapped_with_its_failure_queue(deployed, regional):
    mappings = regional("lambda").list_event_source_mappings()["EventSourceMappings"]
    by_source = {m["EventSourceArn"].rsplit(":", 1)[-1]: m for m in mappings}
    assert sorted(by_source) == [f"stream/tumble-{STAGE}-iot-events", f"tumble-{STAGE}-fanout"]
    worker = by_source[f"tumble-{STAGE}-fanout"]
    assert worker["FunctionArn"].endswith(f":function:tumble-{STAGE}-fanout_worker")
    assert (worker["BatchSize"], worker["FunctionResponseTypes"]) == (
        1,
        ["ReportBatchItemFailures"],
    )
    mapping = by_source[f"stream/tumble-{STAGE}-iot-events"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == (
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:tumble-{STAGE}-stream-failures"
    )
    assert (mapping["BatchSize"], mapping["StartingPosition"]) == (1000, "LATEST")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_url_and_the_command_lines_are_printed(deployed):
    stage, lines = deployed
    # moto has no CloudFormation for API Gateway V2: the API id is "None" there.
    assert re.fullmatch(
        rf"wss://\w+\.execute-api\.{REGION}\.amazonaws\.com/{STAGE}", stage.websocket_url
    )
    assert f"WebSocket API: {stage.websocket_url}" in lines
    token_line = next(line.strip() for line in lines if line.strip().startswith("tumble token"))
    assert (
        token_line
        == f"tumble token --role viewer --region {REGION} --parameter /tumble/{STAGE}/token-secret"
    )
    watch = next(line.strip() for line in lines if line.strip().startswith("tumble watch"))
    args = watch_parser().parse_args(shlex.split(watch)[2:])
    assert args.url == stage.websocket_url and "tumble token --role viewer" in args.token
    page = shlex.split(next(line for line in lines if "spectator.page" in line))
    assert f"UPLOAD_BUCKET={stage.stage.upload_bucket}" in page
    assert f"TUMBLE_TOKEN_SECRET_PARAMETER=/tumble/{STAGE}/token-secret" in page
    assert page[-2:] == ["--ws-url", stage.websocket_url]


def test_the_printed_token_command_signs_with_the_stage_secret(deployed, capsys, monkeypatch):
    stage, _ = deployed
    monkeypatch.delenv("TUMBLE_TOKEN_SECRET", raising=False)
    capsys.readouterr()
    assert token_main(shlex.split(stage.token_command("shipper"))[2:]) == 0
    claims = verify(SECRET.encode(), capsys.readouterr().out.strip())
    assert claims.role is Role.SHIPPER
