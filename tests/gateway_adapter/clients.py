"""Helpers for the WebSocket tests: websocket-client connections to a running gateway and the
events the probe service's handlers recorded."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import websocket

from .conftest import RunningGateway

ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


def events_of(kind: str) -> list[dict[str, Any]]:
    import probe_handlers

    return [
        e
        for e in probe_handlers.EVENTS
        if e.get("type") != "REQUEST" and e["requestContext"]["eventType"] == kind
    ]


def connect(
    gateway: RunningGateway, query: str = "token=allow", **kwargs: Any
) -> websocket.WebSocket:
    return websocket.create_connection(f"{gateway.url}?{query}", timeout=5, **kwargs)


def handshake_status(gateway: RunningGateway, query: str) -> int:
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"{gateway.url}?{query}", timeout=5)
    return refused.value.status_code
