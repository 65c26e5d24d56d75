from __future__ import annotations

from typing import Any

import pytest

from gateway_adapter.apigateway.authorizer import (
    evaluate_authorizer_result,
    missing_identity_source,
)

ARN = "arn:aws:execute-api:us-east-1:000000000000:abcdef1234/local/$connect"


def policy(effect: str, resource: Any = ARN, action: Any = "execute-api:Invoke") -> dict[str, Any]:
    return {
        "principalId": "user",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": action, "Resource": resource}],
        },
        "context": {"role": "player", "n": 1, "ok": True},
    }


def test_allow_keeps_context_and_principal() -> None:
    decision = evaluate_authorizer_result(policy("Allow"), ARN)
    assert decision.status == 200
    assert decision.context == {"role": "player", "n": 1, "ok": True, "principalId": "user"}


@pytest.mark.parametrize(
    "resource", ["arn:aws:execute-api:*", ["arn:aws:execute-api:us-east-1:*:*/local/*"], "*"]
)
def test_wildcard_resources_allow(resource: Any) -> None:
    assert evaluate_authorizer_result(policy("Allow", resource), ARN).status == 200


@pytest.mark.parametrize(
    "result",
    [
        policy("Deny"),
        policy("Allow", resource="arn:aws:execute-api:us-east-1:1:other/local/$connect"),
        policy("Allow", action="s3:GetObject"),
    ],
)
def test_deny_or_no_matching_allow_is_403(result: dict[str, Any]) -> None:
    assert evaluate_authorizer_result(result, ARN).status == 403


@pytest.mark.parametrize(
    "result",
    [
        None,
        "Allow",
        {"principalId": "x"},
        {"policyDocument": policy("Allow")["policyDocument"]},
        {**policy("Allow"), "context": {"nested": {"no": 1}}},
        {**policy("Allow"), "context": {"big": "x" * 9000}},
        {"principalId": "x", "policyDocument": {"Statement": [{"Effect": "Maybe"}]}},
    ],
)
def test_malformed_or_oversized_results_are_500(result: Any) -> None:
    assert evaluate_authorizer_result(result, ARN).status == 500


def test_identity_sources() -> None:
    sources = ("route.request.querystring.token", "route.request.header.Auth")
    assert missing_identity_source(sources, {"auth": ["x"]}, {"token": ["t"]}) is None
    assert missing_identity_source(sources, {"auth": ["x"]}, {}) == sources[0]
    assert missing_identity_source(sources, {}, {"token": ["t"]}) == sources[1]
    assert missing_identity_source(sources, {"Auth": [""]}, {"token": ["t"]}) == sources[1]
