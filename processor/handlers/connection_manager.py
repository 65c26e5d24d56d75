"""$connect stores the connection with the role its token gave; $disconnect removes it and
every subscription it had."""

from __future__ import annotations

import os
import time
from typing import Any

from messages.tokens import Role

from ..endpoints import management_domain
from ..logs import Invocation
from ..store import Connection
from ..wiring import store
from . import ProxyResponse, request_context

__all__ = ["handle"]


def handle(event: dict[str, Any], context: Any) -> ProxyResponse:
    log = Invocation("connection_manager", context)
    request = request_context(event)
    route = request.get("routeKey")
    connection_id = request.get("connectionId", "")
    log.add(route=route, connection_id=connection_id)
    try:
        if route == "$connect":
            authorizer = request.get("authorizer") or {}
            role = authorizer.get("role")
            if role not in {r.value for r in Role}:
                log.add(refused="no role from the authorizer")
                return {"statusCode": 403}
            store().put_connection(
                Connection(
                    connection_id,
                    management_domain(request, os.environ),
                    request.get("stage", ""),
                    role,
                    str(authorizer.get("subject") or role),
                    int(request.get("connectedAt") or time.time() * 1000),
                )
            )
            return {"statusCode": 200}
        if route == "$disconnect":
            log.add(removed_items=store().delete_connection(connection_id))
            return {"statusCode": 200}
        return {"statusCode": 400}
    finally:
        log.done()
