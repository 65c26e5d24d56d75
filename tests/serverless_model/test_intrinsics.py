from __future__ import annotations

import pytest

from serverless_model.config import ConfigError, Options
from serverless_model.intrinsics import evaluate, pseudo_parameters
from serverless_model.service import load_service

PSEUDO = pseudo_parameters("123456789012", "eu-west-1", "svc-dev")


def test_pseudo_parameters_follow_the_partition():
    assert PSEUDO["AWS::Partition"] == "aws" and PSEUDO["AWS::URLSuffix"] == "amazonaws.com"
    china = pseudo_parameters("1", "cn-north-1", "s")
    assert (china["AWS::Partition"], china["AWS::URLSuffix"]) == ("aws-cn", "amazonaws.com.cn")
    assert pseudo_parameters("1", "us-gov-west-1", "s")["AWS::Partition"] == "aws-us-gov"


def test_join_of_pseudo_references_becomes_a_string():
    node = {"Fn::Join": ["-", ["bucket", {"Ref": "AWS::AccountId"}, {"Ref": "AWS::Region"}]]}
    assert evaluate(node, PSEUDO) == "bucket-123456789012-eu-west-1"
    nested = {"Fn::Join": ["", ["a", {"Fn::Join": [":", ["b", {"Ref": "AWS::StackName"}]]}]]}
    assert evaluate({"k": [nested]}, PSEUDO) == {"k": ["ab:svc-dev"]}


@pytest.mark.parametrize(
    "node",
    [
        {"Ref": "ConnectionsTable"},  # a resource: its value exists only once deployed
        {"Fn::GetAtt": ["Stream", "Arn"]},
        {"Fn::Join": ["-", ["x", {"Fn::GetAtt": ["Stream", "Arn"]}]]},
        {"Fn::Join": ["-", "not a list"]},
        {"Ref": "AWS::AccountId", "Other": 1},  # not an intrinsic: two keys
    ],
)
def test_what_needs_a_stack_is_left_as_it_is(node):
    assert evaluate(node, PSEUDO) == node


def test_environment_values_may_use_the_evaluable_forms(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(
        "service: svc\nprovider:\n  name: aws\n  environment:\n"
        "    BUCKET: !Join ['-', [b, !Ref AWS::AccountId, !Ref AWS::Region]]\n"
        "functions:\n  f:\n    handler: m.h\n"
    )
    service = load_service(path, Options(stage="s", region="eu-west-1", account_id="42"))
    assert service.functions["f"].environment["BUCKET"] == "b-42-eu-west-1"


def test_an_environment_value_needing_a_stack_is_refused_with_its_key(tmp_path):
    path = tmp_path / "serverless.yml"
    path.write_text(
        "service: svc\nprovider:\n  name: aws\n  environment:\n    ARN: !GetAtt [Q, Arn]\n"
        "functions:\n  f:\n    handler: m.h\n"
    )
    with pytest.raises(ConfigError, match=r"provider\.environment\.ARN: only Ref"):
        load_service(path, Options(stage="s"))
