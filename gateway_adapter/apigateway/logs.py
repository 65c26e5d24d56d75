"""Logging of the gateway: one access line per connect, message and disconnect (route, status,
duration), as text or as one JSON object a line (`--log-format json`) for tools."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Literal

__all__ = ["ACCESS_LOGGER", "AccessKind", "JsonFormatter", "access", "configure_logging"]

ACCESS_LOGGER = "gateway_adapter.access"
_access = logging.getLogger(ACCESS_LOGGER)
AccessKind = Literal["connect", "message", "disconnect"]


def access(
    kind: AccessKind, route: str, status: int, duration_ms: float, connection_id: str, **extra: Any
) -> None:
    """One access line; free when INFO is off (the benchmark runs that way)."""
    if not _access.isEnabledFor(logging.INFO):
        return
    fields = {
        "event": kind,
        "route": route,
        "status": status,
        "duration_ms": round(duration_ms, 3),
        "connection_id": connection_id,
        **extra,
    }
    _access.info(
        "%s %s %s %.1fms %s",
        kind,
        route,
        status,
        duration_ms,
        connection_id,
        extra={"fields": fields},
    )


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            document.update(fields)
        else:
            document["message"] = record.getMessage()
        if record.exc_info:
            document["error"] = self.formatException(record.exc_info)
        return json.dumps(document, separators=(",", ":"), default=str)


def configure_logging(log_format: str = "text", level: int | str = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # botocore announces where it found credentials and endpoints at INFO, once per client.
    for noisy in ("botocore", "aiobotocore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
