"""Lambda proxy events of an API Gateway WebSocket API (CONNECT, MESSAGE, DISCONNECT and the
REQUEST authorizer's), built as AWS sends them. Pure: no I/O, so every field is tested
directly.

Where the management API is: `requestContext.domainName` is the adapter's own `host:port` and
`requestContext.stage` its stage, so `http://{domainName}/{stage}` is the @connections
endpoint. A handler (Tumble's processor, or any other) finds it by this rule:
`AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI` when set; otherwise `http://{domainName}/{stage}`
when domainName's host is loopback (`127.0.0.1`, `localhost` in any case, or `[::1]`, with or
without a port; a bare `::1` is no host:port and counts as remote), else
`https://{domainName}/{stage}` (the AWS form). The emulator itself needs no such function: its
@connections API is wherever its events say it is."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

__all__ = [
    "AuthorizerEvent",
    "ConnectEvent",
    "ConnectionFacts",
    "DisconnectEvent",
    "EventType",
    "Identity",
    "MessageEvent",
    "RequestContext",
    "api_id",
    "authorizer_event",
    "clf_time",
    "connect_event",
    "disconnect_event",
    "disconnect_headers",
    "iso_time",
    "message_event",
    "new_id",
    "valid_connection_id",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# AWS ids (connectionId, requestId, messageId) look like "L0SM9cOFvHcCIhw=": 16 characters of
# the URL-safe base64 alphabet, the last one '=': 11 bytes encode to exactly that.
_ID_BYTES = 11
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(_ID_BYTES)).decode("ascii")


def valid_connection_id(value: str) -> bool:
    return len(value) == 16 and value[15] == "=" and _ID_CHARS.issuperset(value[:15])


def api_id(service_name: str) -> str:
    """A stable 10-character API id, like AWS's ("a1b2c3d4e5"), derived from the service."""
    return hashlib.sha256(service_name.encode()).hexdigest()[:10]


def clf_time(epoch_s: float) -> str:
    """Common Log Format, as in `requestTime`: 09/Apr/2015:12:34:56 +0000 (English months)."""
    t = time.gmtime(epoch_s)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


def iso_time(epoch_ms: int) -> str:
    """ISO 8601 in UTC with milliseconds, as the management API's GetConnection returns."""
    t = time.gmtime(epoch_ms // 1000)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{epoch_ms % 1000:03d}Z"
    )


EventType = Literal["CONNECT", "MESSAGE", "DISCONNECT"]


class Identity(TypedDict):
    userAgent: str
    sourceIp: str


class RequestContext(TypedDict):
    """`requestContext` of every event, as AWS spells it; some keys belong to one event type."""

    routeKey: str
    eventType: EventType
    extendedRequestId: str
    requestTime: str
    messageDirection: Literal["IN"]
    stage: str
    connectedAt: int
    requestTimeEpoch: int
    identity: Identity
    requestId: str
    domainName: str
    connectionId: str
    apiId: str
    authorizer: NotRequired[dict[str, Any]]  # every event after an authorizer allowed $connect
    messageId: NotRequired[str]  # MESSAGE only
    disconnectStatusCode: NotRequired[int]  # DISCONNECT only
    disconnectReason: NotRequired[str]  # DISCONNECT only


class ConnectEvent(TypedDict):
    headers: dict[str, str]
    multiValueHeaders: dict[str, list[str]]
    requestContext: RequestContext
    isBase64Encoded: bool
    queryStringParameters: NotRequired[dict[str, str]]  # only when the URL has a query
    multiValueQueryStringParameters: NotRequired[dict[str, list[str]]]


class MessageEvent(TypedDict):
    requestContext: RequestContext
    body: str
    isBase64Encoded: bool  # binary frames arrive base64-encoded


class DisconnectEvent(TypedDict):
    headers: dict[str, str]
    multiValueHeaders: dict[str, list[str]]
    requestContext: RequestContext
    isBase64Encoded: bool


class AuthorizerEvent(TypedDict):
    """The REQUEST authorizer's: CONNECT's headers and context, no body flag, query always."""

    headers: dict[str, str]
    multiValueHeaders: dict[str, list[str]]
    requestContext: RequestContext
    queryStringParameters: dict[str, str]
    multiValueQueryStringParameters: dict[str, list[str]]
    type: Literal["REQUEST"]
    methodArn: str
    stageVariables: dict[str, str]


@dataclass(slots=True)
class ConnectionFacts:
    """What every event of one connection repeats."""

    connection_id: str
    connected_at_ms: int
    source_ip: str
    user_agent: str
    domain_name: str
    stage: str
    api_id: str
    authorizer: dict[str, Any] | None = None


def _context(
    facts: ConnectionFacts, route_key: str, event_type: EventType, request_id: str, now_s: float
) -> RequestContext:
    context: RequestContext = {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": clf_time(now_s),
        "messageDirection": "IN",
        "stage": facts.stage,
        "connectedAt": facts.connected_at_ms,
        "requestTimeEpoch": int(now_s * 1000),
        "identity": {"userAgent": facts.user_agent, "sourceIp": facts.source_ip},
        "requestId": request_id,
        "domainName": facts.domain_name,
        "connectionId": facts.connection_id,
        "apiId": facts.api_id,
    }
    if facts.authorizer is not None:
        context["authorizer"] = facts.authorizer
    return context


def _single(multi: Mapping[str, list[str]]) -> dict[str, str]:
    """API Gateway's single-value form keeps the last value of a repeated name."""
    return {name: values[-1] for name, values in multi.items()}


def connect_event(
    facts: ConnectionFacts,
    request_id: str,
    now_s: float,
    headers: Mapping[str, list[str]],
    query: Mapping[str, list[str]],
) -> ConnectEvent:
    event: ConnectEvent = {
        "headers": _single(headers),
        "multiValueHeaders": {name: list(values) for name, values in headers.items()},
        "requestContext": _context(facts, "$connect", "CONNECT", request_id, now_s),
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = _single(query)
        event["multiValueQueryStringParameters"] = {k: list(v) for k, v in query.items()}
    return event


def message_event(
    facts: ConnectionFacts,
    route_key: str,
    request_id: str,
    message_id: str,
    now_s: float,
    body: str,
    is_base64: bool,
) -> MessageEvent:
    context = _context(facts, route_key, "MESSAGE", request_id, now_s)
    context["messageId"] = message_id
    return {"requestContext": context, "body": body, "isBase64Encoded": is_base64}


def disconnect_headers(domain_name: str) -> dict[str, list[str]]:
    """The fixed headers API Gateway puts on every $disconnect event, whatever the handshake
    sent (captured AWS events; Powertools' disconnect model requires them): the API's host and
    three empty ones."""
    return {"Host": [domain_name], "x-api-key": [""], "X-Forwarded-For": [""], "x-restapi": [""]}


def disconnect_event(
    facts: ConnectionFacts, request_id: str, now_s: float, status_code: int, reason: str
) -> DisconnectEvent:
    context = _context(facts, "$disconnect", "DISCONNECT", request_id, now_s)
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    headers = disconnect_headers(facts.domain_name)
    return {
        "headers": _single(headers),
        "multiValueHeaders": headers,
        "requestContext": context,
        "isBase64Encoded": False,
    }


def authorizer_event(
    facts: ConnectionFacts,
    request_id: str,
    now_s: float,
    headers: Mapping[str, list[str]],
    query: Mapping[str, list[str]],
    method_arn: str,
) -> AuthorizerEvent:
    """The REQUEST authorizer's event for `$connect` (the CONNECT event plus type and ARN)."""
    context = _context(facts, "$connect", "CONNECT", request_id, now_s)
    context.pop("authorizer", None)
    return {
        "headers": _single(headers),
        "multiValueHeaders": {name: list(values) for name, values in headers.items()},
        "requestContext": context,
        "queryStringParameters": _single(query),
        "multiValueQueryStringParameters": {k: list(v) for k, v in query.items()},
        "type": "REQUEST",
        "methodArn": method_arn,
        "stageVariables": {},
    }
