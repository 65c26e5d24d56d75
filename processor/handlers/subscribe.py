"""The `subscribe` route: replaces a connection's subscriptions as one unit and answers with
what was accepted, or with an error and no change (the route has a route response)."""

from __future__ import annotations

from typing import Any

from messages import (
    ErrorCode,
    ValidationError,
    decode_subscribe_request,
    error_frame,
    subscribed_frame,
)

from ..logs import Invocation
from ..store import ConnectionNotFound
from ..wiring import store
from . import ProxyResponse, body_of, request_context

__all__ = ["handle"]


def handle(event: dict[str, Any], context: Any) -> ProxyResponse:
    log = Invocation("subscribe", context)
    connection_id = request_context(event).get("connectionId", "")
    log.add(connection_id=connection_id)
    try:
        try:
            request = decode_subscribe_request(body_of(event))
        except ValidationError as exc:
            log.add(refused=str(exc))
            return _answer(error_frame(ErrorCode.INVALID_SUBSCRIPTION, str(exc), exc.field))
        try:
            store().replace_subscriptions(connection_id, request.subscriptions, request.batched)
        except ConnectionNotFound:
            return _answer(
                error_frame(ErrorCode.NOT_CONNECTED, "this connection is no longer known")
            )
        log.add(subscriptions=len(request.subscriptions), batched=request.batched)
        kept = [s.to_dict() for s in request.subscriptions]
        return _answer(subscribed_frame(kept, request.batched))
    finally:
        log.done()


def _answer(frame: str) -> ProxyResponse:
    return {"statusCode": 200, "body": frame}
