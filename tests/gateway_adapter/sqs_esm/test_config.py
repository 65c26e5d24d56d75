"""`sqs` events as serverless.yml gives them: the Framework's defaults and Lambda's limits,
the queue policies bootstrapped, and the pure delete decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway_adapter.sqs_esm.decisions import failed_ids
from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import ConfigError, Options
from serverless_model.service import Service, load_service
from serverless_model.sqs import SqsTrigger

from .conftest import queue_url

ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"


def load(tmp_path: Path, event: Any) -> Service:
    document = {
        "service": "cfg",
        "provider": {"name": "aws", "region": "us-east-1"},
        "functions": {"f": {"handler": "h.f", "events": [{"sqs": event}]}},
        "resources": {
            "Resources": {"Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs"}}}
        },
    }
    path = tmp_path / "serverless.yml"
    path.write_text(yaml.safe_dump(document))
    return load_service(path, Options(stage="dev", account_id="123456789012"))


def test_short_form_takes_the_framework_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, ARN).sqs_triggers == (
        SqsTrigger(
            function="f",
            queue_arn=ARN,
            batch_size=10,
            maximum_batching_window_s=0,
            report_batch_item_failures=False,
            maximum_concurrency=None,
            enabled=True,
        ),
    )


def test_full_form_with_get_att(tmp_path: Path) -> None:
    (trigger,) = load(
        tmp_path,
        {
            "arn": {"Fn::GetAtt": ["Jobs", "Arn"]},
            "batchSize": 500,
            "maximumBatchingWindow": 2,
            "functionResponseType": "ReportBatchItemFailures",
            "maximumConcurrency": 50,
            "enabled": False,
        },
    ).sqs_triggers
    assert trigger == SqsTrigger("f", ARN, 500, 2, True, 50, False)


@pytest.mark.parametrize(
    ("event", "key", "problem"),
    [
        ({"arn": ARN, "batchSize": 11}, "batchSize", "1 to 10 without"),
        ({"arn": ARN, "batchSize": 0}, "batchSize", "1 to 10"),
        ({"arn": ARN, "batchSize": 10_001, "maximumBatchingWindow": 1}, "batchSize", "10000"),
        ({"arn": ARN, "maximumBatchingWindow": 301}, "maximumBatchingWindow", "0 to 300"),
        ({"arn": ARN, "maximumConcurrency": 1}, "maximumConcurrency", "2 to 1000"),
        ({"arn": ARN, "maximumConcurrency": 1001}, "maximumConcurrency", "2 to 1000"),
        ({"arn": ARN, "functionResponseType": "Other"}, "functionResponseType", "must be"),
        ({"arn": ARN, "batchsize": 5}, "batchsize", "not an sqs event setting"),
        ({"arn": ARN, "filterPatterns": [{"body": "x"}]}, "filterPatterns", "not run locally"),
        ({"arn": ARN, "enabled": "yes"}, "enabled", "true or false"),
        ({"batchSize": 1}, "arn", "required"),
        ({"arn": "arn:aws:kinesis:us-east-1:123456789012:stream/s"}, "arn", "not an SQS"),
        ({"arn": ARN + ".fifo", "maximumBatchingWindow": 1}, "maximumBatchingWindow", "FIFO"),
        ({"arn": {"Fn::GetAtt": ["Missing", "Arn"]}}, "Missing", "not defined"),
    ],
)
def test_limits_are_lambdas(tmp_path: Path, event: Any, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, event)
    assert key in str(caught.value)
    assert problem in str(caught.value)


def test_redrive_policy_is_bootstrapped(queue_service: Service, aws_client: Any) -> None:
    sqs = aws_client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url(sqs, "queuetest-work"), AttributeNames=["All"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "1"
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == "arn:aws:sqs:us-east-1:123456789012:queuetest-work-dlq"
    assert int(policy["maxReceiveCount"]) == 2
    again = bootstrap_resources(queue_service, aws_client)
    assert not any(change.created for change in again)


IDS = ["a", "b", "c"]


@pytest.mark.parametrize(
    ("result", "kept"),
    [
        (None, set()),
        ("", set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "x"}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, set(IDS)),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, set(IDS)),
        ({"batchItemFailures": [{"id": "b"}]}, set(IDS)),
        ({"batchItemFailures": {"itemIdentifier": "b"}}, set(IDS)),
        ("nonsense", set(IDS)),
        (42, set(IDS)),
    ],
)
def test_report_batch_item_failures(result: Any, kept: set[str]) -> None:
    assert failed_ids(IDS, error=False, result=result, report_failures=True) == kept


def test_errors_keep_all_and_responses_count_only_when_asked() -> None:
    assert failed_ids(IDS, error=True, result=None, report_failures=True) == set(IDS)
    failing = {"batchItemFailures": [{"itemIdentifier": "a"}]}
    assert failed_ids(IDS, error=False, result=failing, report_failures=False) == set()
