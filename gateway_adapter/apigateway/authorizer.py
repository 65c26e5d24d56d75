"""The REQUEST authorizer of `$connect`, as API Gateway applies it: identity sources checked
before the authorizer runs (missing: 401), the returned IAM policy evaluated against the
method ARN (deny: 403), a malformed result or an oversized one a failure (500), and the
allowed policy's `context` kept for `requestContext.authorizer`. Pure: no I/O."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .limits import AUTHORIZER_RESULT_MAX_BYTES

__all__ = ["AuthorizerDecision", "evaluate_authorizer_result", "missing_identity_source"]

_INVOKE_ACTIONS = ("execute-api:Invoke",)


@dataclass(frozen=True, slots=True)
class AuthorizerDecision:
    status: int  # 200 allow, 401, 403 or 500
    context: dict[str, Any] | None = None  # requestContext.authorizer when allowed
    reason: str = ""


def missing_identity_source(
    sources: Sequence[str], headers: Mapping[str, list[str]], query: Mapping[str, list[str]]
) -> str | None:
    """The first identity source absent or empty in the request (API Gateway then answers 401
    without calling the authorizer), or None."""
    lowered = {name.lower(): values for name, values in headers.items()}
    for source in sources:
        parts = source.split(".", 3)
        if len(parts) != 4 or parts[:2] != ["route", "request"]:
            continue  # context/stage variables: nothing to check locally
        kind, name = parts[2], parts[3]
        if kind == "querystring":
            values = query.get(name)
        elif kind == "header":
            values = lowered.get(name.lower())
        else:
            continue
        if not values or not values[-1]:
            return source
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(patterns: list[Any], value: str) -> bool:
    return any(isinstance(p, str) and fnmatch.fnmatchcase(value, p) for p in patterns)


def evaluate_authorizer_result(result: Any, method_arn: str) -> AuthorizerDecision:
    if not isinstance(result, dict):
        return AuthorizerDecision(500, reason="authorizer result is not an object")
    try:
        size = len(json.dumps(result, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        return AuthorizerDecision(500, reason="authorizer result is not JSON")
    if size > AUTHORIZER_RESULT_MAX_BYTES:
        return AuthorizerDecision(500, reason=f"authorizer result of {size} bytes exceeds 8 KB")
    policy = result.get("policyDocument")
    statements = policy.get("Statement") if isinstance(policy, dict) else None
    if "principalId" not in result or not isinstance(statements, list | dict):
        return AuthorizerDecision(500, reason="authorizer result lacks principalId or policy")
    allowed = False
    for statement in _as_list(statements):
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            return AuthorizerDecision(500, reason="malformed policy statement")
        actions = _as_list(statement.get("Action", []))
        resources = _as_list(statement.get("Resource", []))
        if not any(_matches(actions, a) for a in _INVOKE_ACTIONS):
            continue
        if not _matches(resources, method_arn):
            continue
        if statement["Effect"] == "Deny":
            return AuthorizerDecision(403, reason="explicit deny")
        allowed = True
    if not allowed:
        return AuthorizerDecision(403, reason="no statement allows execute-api:Invoke")
    context = result.get("context") or {}
    if not isinstance(context, dict) or any(isinstance(v, dict | list) for v in context.values()):
        return AuthorizerDecision(500, reason="authorizer context must map names to scalars")
    return AuthorizerDecision(200, context={**context, "principalId": result["principalId"]})
