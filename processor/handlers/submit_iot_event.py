"""The WebSocket path: a shipper's event is validated and fanned out at once. The route has no
route response, so refusals go back to the sender through @connections."""

from __future__ import annotations

import os
from typing import Any

from messages import ErrorCode, Source, ValidationError, decode_submit, error_frame
from messages.tokens import Role

from ..endpoints import management_domain
from ..logs import Invocation
from ..pipeline import remaining_s, request_stamp
from ..report import timings
from ..wiring import pipeline
from . import ProxyResponse, body_of, request_context

__all__ = ["handle"]


def handle(event: dict[str, Any], context: Any) -> ProxyResponse:
    log = Invocation("submit_iot_event", context)
    request = request_context(event)
    connection_id = request.get("connectionId", "")
    role = (request.get("authorizer") or {}).get("role")
    parts = pipeline()
    log.add(records=1, connection_id=connection_id)

    def refuse(code: ErrorCode, message: str, field: str | None = None) -> ProxyResponse:
        log.add(refused=str(code), invalid=1)
        parts.reply(
            management_domain(request, os.environ),
            request.get("stage", ""),
            connection_id,
            error_frame(code, message, field),
        )
        return {"statusCode": 200}

    try:
        if role != Role.SHIPPER:
            return refuse(ErrorCode.FORBIDDEN, "only a shipper token may submit events")
        try:
            submitted = decode_submit(body_of(event), request_stamp(request))
        except ValidationError as exc:
            return refuse(ErrorCode.INVALID_EVENT, str(exc), exc.field)
        log.add(event_id=submitted.event_id, decoded_ms=log.elapsed_ms())
        report = parts.fan_out([(0, submitted)], Source.WEBSOCKET, remaining_s(context))
        log.add(event_type=submitted.message_type.value, **report.summary(), **report.capacity())
        log.add(**timings(report))
        return {"statusCode": 200}
    finally:
        log.done()
