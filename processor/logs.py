"""One structured JSON line per invocation, on stdout where Lambda sends it to CloudWatch.

A stdlib logger with its own handler does what Powertools' Logger would do here without
adding a dependency and its cold-start cost to every function."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

__all__ = ["Invocation", "logger", "warn"]

logger = logging.getLogger("tumble.processor")
if not logger.handlers:
    _handler = logging.StreamHandler(sys.stdout)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(_handler)
    logger.propagate = False
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("LOG_LEVEL") or "INFO")


def _line(level: str, fields: dict[str, Any]) -> str:
    return json.dumps({"level": level, **fields}, default=str, separators=(",", ":"))


def warn(function: str, message: str, **fields: Any) -> None:
    """A warning line of its own, for what goes wrong away from an invocation's log."""
    logger.warning(_line("WARNING", {"function": function, "message": message, **fields}))


class Invocation:
    """Collects counts during one invocation and logs them once at the end."""

    def __init__(self, function: str, context: Any = None) -> None:
        self.fields: dict[str, Any] = {
            "function": function,
            "request_id": getattr(context, "aws_request_id", None),
            "records": 0,
            "delivered": 0,
            "filtered": 0,
            "gone": 0,
            "failed": 0,
            "started_at_ms": round(time.time() * 1000, 3),  # epoch: lines up with other parts
        }
        self._started = time.perf_counter()

    def add(self, **counts: Any) -> None:
        for name, value in counts.items():
            if isinstance(value, int) and isinstance(self.fields.get(name), int):
                self.fields[name] += value
            else:
                self.fields[name] = value

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self._started) * 1000, 3)

    def warn(self, message: str, **fields: Any) -> None:
        warn(self.fields["function"], message, **fields)

    def done(self) -> None:
        self.fields["duration_ms"] = self.elapsed_ms()
        logger.info(_line("INFO", self.fields))
