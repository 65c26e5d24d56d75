"""REQUEST authorizer of $connect: the `token` query parameter must carry a valid HMAC token;
its role and subject reach every later event as `requestContext.authorizer`."""

from __future__ import annotations

import time
from typing import Any

import boto3

from messages.tokens import TOKEN_QUERY_PARAMETER, TokenError, verify

from ..logs import Invocation
from ..token_secret import TokenSecret
from ..wiring import once

__all__ = ["TOKEN_PARAMETER", "handle", "policy"]

TOKEN_PARAMETER = TOKEN_QUERY_PARAMETER  # the query parameter serverless.yml names

_secret = once(lambda: TokenSecret(boto3.client("ssm")))


def policy(
    secret: bytes | tuple[bytes, ...], token: object, method_arn: str, now: float
) -> tuple[dict[str, Any], str | None]:
    """The IAM policy for this token, and why it was denied (None when allowed); during a
    rotation's overlap `secret` holds the new and the old secret, and either signature passes."""
    try:
        claims = verify(secret, token, now)
    except TokenError as exc:
        return _document("anonymous", "Deny", method_arn), str(exc)
    allowed = _document(claims.subject, "Allow", method_arn)
    allowed["context"] = {"role": claims.role.value, "subject": claims.subject}
    return allowed, None


def _document(principal: str, effect: str, resource: str) -> dict[str, Any]:
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log = Invocation("authorizer", context)
    token = (event.get("queryStringParameters") or {}).get(TOKEN_PARAMETER)
    result, denied = policy(_secret().get(), token, event.get("methodArn") or "*", time.time())
    log.add(allowed=denied is None, reason=denied)
    log.done()
    return result
