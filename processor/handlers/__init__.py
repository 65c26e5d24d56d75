"""Lambda entry points named in serverless.yml (`processor.handlers.<name>.handle`); each
module only wires warm clients to the plain objects of `processor`."""

from __future__ import annotations

import base64
from typing import Any, NotRequired, TypedDict

__all__ = ["BatchItemFailure", "BatchResponse", "ProxyResponse", "body_of", "request_context"]


class ProxyResponse(TypedDict):
    """A WebSocket route's answer: API Gateway reads the status (a non-2xx refuses $connect)
    and, where the route has a route response, sends the body back to the client."""

    statusCode: int
    body: NotRequired[str]


class BatchItemFailure(TypedDict):
    itemIdentifier: str  # the record's sequence number


class BatchResponse(TypedDict):
    """ReportBatchItemFailures: Lambda checkpoints before the lowest failed record."""

    batchItemFailures: list[BatchItemFailure]


def request_context(event: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = event.get("requestContext") or {}
    return context


def body_of(event: dict[str, Any]) -> str | bytes | None:
    """A WebSocket message body; binary frames arrive base64-encoded."""
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body
