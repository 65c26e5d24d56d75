from __future__ import annotations

import json

import pytest

from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import ConfigError, Options
from serverless_model.service import load_service
from tests.conftest import SERVERLESS_YML


def test_resources_are_created_then_left_alone(aws_client):
    account = aws_client("sts").get_caller_identity()["Account"]
    service = load_service(SERVERLESS_YML, Options(stage="boot", account_id=account))
    first = bootstrap_resources(service, aws_client)
    assert [(c.kind, c.created) for c in first] == [
        ("stream", True),
        ("table", True),
        ("bucket", True),
        ("queue", True),
        ("queue", True),
        ("table", True),
        ("queue", True),  # last: its RedrivePolicy names the dead-letter queue made before
    ]
    assert [c.name for c in first][4:] == [
        "tumble-boot-fanout-dead-letters",
        "tumble-boot-fanout-progress",
        "tumble-boot-fanout",
    ]
    second = bootstrap_resources(service, aws_client)
    assert [c.created for c in second] == [False] * 7
    sqs = aws_client("sqs")
    queue = sqs.get_queue_url(QueueName="tumble-boot-stream-failures")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["MessageRetentionPeriod"] == "1209600"  # from serverless.yml
    assert attributes["QueueArn"] == service.triggers[0].on_failure_arn  # the trigger's target

    stream = aws_client("kinesis").describe_stream_summary(StreamName="tumble-boot-iot-events")[
        "StreamDescriptionSummary"
    ]
    assert stream["StreamStatus"] == "ACTIVE" and stream["OpenShardCount"] == 2
    dynamodb = aws_client("dynamodb")
    table = dynamodb.describe_table(TableName="tumble-boot-connections")["Table"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by_event_type"
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["event_type", "connection_id"]
    ttl = dynamodb.describe_time_to_live(TableName="tumble-boot-connections")[
        "TimeToLiveDescription"
    ]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    aws_client("s3").head_bucket(Bucket=f"tumble-boot-uploads-{account}")
    fanout = sqs.get_queue_url(QueueName="tumble-boot-fanout")["QueueUrl"]
    fanout_attributes = sqs.get_queue_attributes(QueueUrl=fanout, AttributeNames=["All"])
    redrive = json.loads(fanout_attributes["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":tumble-boot-fanout-dead-letters")
    assert int(redrive["maxReceiveCount"]) == 5
    assert fanout_attributes["Attributes"]["VisibilityTimeout"] == "180"


def test_queues_and_topics_for_failure_destinations(aws_client, tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(
        "service: s\nresources:\n  Resources:\n"
        "    Dlq: {Type: AWS::SQS::Queue, Properties: {QueueName: dlq}}\n"
        "    Alerts: {Type: AWS::SNS::Topic, Properties: {TopicName: alerts}}\n"
        "    Role: {Type: AWS::IAM::Role}\n"
    )
    service = load_service(path)
    assert [str(c) for c in bootstrap_resources(service, aws_client)] == [
        "created queue dlq",
        "created topic alerts",
    ]
    assert [c.created for c in bootstrap_resources(service, aws_client)] == [False, False]


def test_a_resource_without_type_stops_bootstrap(aws_client, tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text("service: s\nresources:\n  Resources:\n    Table: {Properties: {}}\n")
    with pytest.raises(
        ConfigError, match=r"resources.Resources.Table: must be a mapping with a Type"
    ):
        bootstrap_resources(load_service(path), aws_client)
