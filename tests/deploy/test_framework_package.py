"""The service packaged offline by the pinned Framework: the template means what serverless.yml
says (per-stage names, the OnFailure queue and its IAM, the Kinesis actions Lambda documents,
the deletion policies), no Framework variable is left in it, and cfn-lint finds no error."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.deploy.conftest import REGION, STAGE
from tumble.deploy.framework import QUIET, framework_environment

# W3005 (a DependsOn the Framework writes beside a GetAtt that implies it) is the Framework's
# own style for its Lambda permissions, harmless; every other finding fails the test.
FRAMEWORK_STYLE_CHECKS = "W3005"
KINESIS_ACTIONS = {
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
    "kinesis:ListStreams",
}


def statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    role = template["Resources"]["IamRoleLambdaExecution"]["Properties"]
    found: list[dict[str, Any]] = role["Policies"][0]["PolicyDocument"]["Statement"]
    return found


def actions_on(template: dict[str, Any], resource: Any) -> set[str]:
    """The actions granted on `resource` (a statement's Resource is one or a list)."""
    found: set[str] = set()
    for statement in statements(template):
        targets = statement["Resource"]
        if resource == targets or (isinstance(targets, list) and resource in targets):
            found.update(statement["Action"])
    return found


def test_the_framework_is_told_to_stay_silent():
    env = framework_environment({"PATH": "/bin", "AWS_PROFILE": "p"})
    assert env["AWS_PROFILE"] == "p" and env["SLS_TELEMETRY_DISABLED"] == "1"
    assert env["SLS_NOTIFICATIONS_MODE"] == "off" and set(QUIET) <= set(env)


def test_packaging_needs_no_account_and_leaves_no_variable(packaged: Path):
    text = (packaged / "cloudformation-template-update-stack.json").read_text()
    # Only CloudFormation's own ${AWS::...} (in the Framework's Fn::Sub) may remain.
    assert re.findall(r"\$\{(?!AWS::)[^}]*\}", text) == []
    assert "123456789012" not in text and "000000000000" not in text


def test_names_are_per_stage(template: dict[str, Any]):
    resources = template["Resources"]
    assert resources["IotEventsStream"]["Properties"]["Name"] == f"tumble-{STAGE}-iot-events"
    assert resources["ConnectionsTable"]["Properties"]["TableName"] == f"tumble-{STAGE}-connections"
    queue = resources["StreamFailuresQueue"]["Properties"]["QueueName"]
    assert queue == f"tumble-{STAGE}-stream-failures"
    bucket = resources["UploadBucket"]["Properties"]["BucketName"]
    assert bucket == {"Fn::Join": ["-", [f"tumble-{STAGE}-uploads", {"Ref": "AWS::AccountId"}]]}
    variables = resources["SubscribeLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["UPLOAD_BUCKET"] == bucket
    assert variables["STREAM_NAME"] == f"tumble-{STAGE}-iot-events"


def test_the_trigger_sends_failed_batches_to_the_queue_it_may_write(template: dict[str, Any]):
    (mapping,) = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping" and "StartingPosition" in r["Properties"]
    ]
    queue_arn = {"Fn::GetAtt": ["StreamFailuresQueue", "Arn"]}
    assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": queue_arn}}
    assert (mapping["MaximumRetryAttempts"], mapping["MaximumRecordAgeInSeconds"]) == (10, 3600)
    assert "sqs:SendMessage" in actions_on(template, queue_arn)


def test_the_fanout_worker_reads_its_queue_one_slice_at_a_time(template: dict[str, Any]):
    resources = template["Resources"]
    queue_arn = {"Fn::GetAtt": ["FanoutQueue", "Arn"]}
    (mapping,) = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventSourceMapping"
        and r["Properties"].get("EventSourceArn") == queue_arn
    ]
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 100}
    queue = resources["FanoutQueue"]["Properties"]
    assert queue["QueueName"] == f"tumble-{STAGE}-fanout"
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["FanoutDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    worker = resources["FanoutUnderscoreworkerLambdaFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * worker["Timeout"]  # Lambda's advice for SQS
    for function in ("FanoutUnderscoreworker", "SendUnderscoreiotUnderscoremessage",
                     "SubmitUnderscoreiotUnderscoreevent"):  # fmt: skip
        variables = resources[f"{function}LambdaFunction"]["Properties"]["Environment"]["Variables"]
        assert variables["FANOUT_QUEUE"] == f"tumble-{STAGE}-fanout"
        assert variables["FANOUT_PROGRESS_TABLE"] == f"tumble-{STAGE}-fanout-progress"
    # Exactly the new calls: the trigger's send and wait, the worker's count and backoff,
    # and what the Framework adds for the sqs event.
    assert actions_on(template, queue_arn) == {
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
    }
    progress = {"Fn::GetAtt": ["FanoutProgressTable", "Arn"]}
    assert actions_on(template, progress) == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    assert actions_on(template, {"Fn::GetAtt": ["FanoutDeadLetterQueue", "Arn"]}) == set()


def test_the_role_has_what_lambda_documents_for_kinesis(template: dict[str, Any]):
    stream = {"Fn::GetAtt": ["IotEventsStream", "Arn"]}
    granted = actions_on(template, stream) | actions_on(template, "*")
    assert granted >= KINESIS_ACTIONS
    assert "kinesis:SubscribeToShard" not in granted  # no enhanced fan-out consumer


def test_deletion_policies_are_chosen_per_resource(template: dict[str, Any]):
    policies = {
        name: (template["Resources"][name]["DeletionPolicy"],
               template["Resources"][name]["UpdateReplacePolicy"])
        for name in ("IotEventsStream", "ConnectionsTable", "UploadBucket", "StreamFailuresQueue",
                     "FanoutQueue", "FanoutDeadLetterQueue", "FanoutProgressTable")
    }  # fmt: skip
    assert policies == {
        "IotEventsStream": ("Delete", "Delete"),
        "ConnectionsTable": ("Delete", "Delete"),
        "UploadBucket": ("Retain", "Retain"),
        "StreamFailuresQueue": ("Delete", "Delete"),
        "FanoutQueue": ("Delete", "Delete"),
        "FanoutDeadLetterQueue": ("Delete", "Delete"),
        "FanoutProgressTable": ("Delete", "Delete"),
    }


@pytest.mark.parametrize("name", ["update", "create"])
def test_cfn_lint_finds_nothing(packaged: Path, name: str):
    path = packaged / f"cloudformation-template-{name}-stack.json"
    config = ManualArgs(regions=[REGION], ignore_checks=[FRAMEWORK_STYLE_CHECKS])
    assert [str(match) for match in lint_file(path, config=config)] == []


def test_the_framework_state_names_the_artifact(packaged: Path):
    state = json.loads((packaged / "serverless-state.json").read_text())
    assert state["package"]["artifact"].endswith("tumble-lambda.zip")


def test_cfn_lint_would_catch_a_broken_template(template: dict[str, Any], tmp_path: Path):
    """The lint is not vacuous: a wrong property type in the same template is an error."""
    broken = json.loads(json.dumps(template))
    broken["Resources"]["IotEventsStream"]["Properties"]["ShardCount"] = "two"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    config = ManualArgs(regions=[REGION], ignore_checks=[FRAMEWORK_STYLE_CHECKS])
    found = [match.rule.id for match in lint_file(path, config=config)]
    assert found and all(rule.startswith("E") for rule in found)
