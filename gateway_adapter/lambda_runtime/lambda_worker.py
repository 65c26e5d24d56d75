"""One Lambda sandbox: a process that imports one function's handler from its artifact and runs
its invocations one at a time, as Lambda's Python runtime does.

Started by `gateway_adapter.lambda_runtime.sandboxes` as `python3.12 -I -S lambda_worker.py`:
isolated, no site-packages, so `sys.path` is the standard library plus `LAMBDA_TASK_ROOT` (the
unpacked artifact), and what the artifact lacks fails here as it would on AWS. This file
therefore uses the standard library only and imports nothing of the gateway. Like Lambda's
bootstrap it reads `LAMBDA_TASK_ROOT` and `_HANDLER` from its environment.

Protocol: JSON lines on the process's original stdin and stdout. First the worker answers
`{"ready": true}` after importing the handler, or `{"init_error": {...}}` and exits. Then each
request `{"id", "event", "request_id", "arn", "remaining_ms"}` gets `{"id", "result"}` or
`{"id", "error": {"errorType", "errorMessage"}}` (Lambda's error fields). The handler's own
prints and logs go to stderr, which the gateway logs as Lambda sends stdout to CloudWatch."""

from __future__ import annotations

import asyncio
import contextlib
import decimal
import importlib
import inspect
import io
import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["LambdaContext", "main"]

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class LambdaContext:
    """The context object handlers receive, with the attributes of Lambda's Python runtime."""

    __slots__ = (
        "_deadline",
        "aws_request_id",
        "client_context",
        "function_name",
        "function_version",
        "identity",
        "invoked_function_arn",
        "log_group_name",
        "log_stream_name",
        "memory_limit_in_mb",
    )

    def __init__(
        self, function_name: str, arn: str, memory_mb: int, timeout_s: float, request_id: str
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = str(memory_mb)
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]local"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _channel() -> tuple[IO[str], IO[str]]:
    """The protocol's ends; fd 0 becomes /dev/null and fd 1 the log, so nothing a handler
    reads or prints can break the protocol."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    return requests, answers


def _die_with_parent() -> None:
    """A gateway killed outright takes its sandboxes with it (Linux; elsewhere stdin's EOF)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        sys.exit(0)


def _json_default(value: Any) -> Any:
    # Lambda's runtime serializes Decimal (what DynamoDB's resource API returns) as a number.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error(error: BaseException) -> dict[str, str]:
    return {"errorType": type(error).__name__, "errorMessage": str(error)}


def _send(answers: IO[str], message: dict[str, Any]) -> None:
    answers.write(json.dumps(message, default=_json_default, separators=(",", ":")) + "\n")
    answers.flush()


def _load(handler: str) -> Callable[..., Any]:
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"bad handler {handler!r}: expected module.function")
    function = getattr(importlib.import_module(module_name), attribute)
    if not callable(function):
        raise TypeError(f"{handler} is not callable")
    return function  # type: ignore[no-any-return]


def _answer(
    handler: Callable[..., Any], request: dict[str, Any], loop: asyncio.AbstractEventLoop
) -> dict[str, Any]:
    context = LambdaContext(
        os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
        str(request.get("arn", "")),
        int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or 128),
        float(request.get("remaining_ms", 0)) / 1000,
        str(request.get("request_id", "")),
    )
    try:
        result = handler(request.get("event"), context)
        if inspect.isawaitable(result):  # the in-process runtime awaits async handlers too
            result = loop.run_until_complete(result)
        json.dumps(result, default=_json_default)  # Lambda fails what it cannot serialize
    except Exception as error:
        traceback.print_exc()
        return {"id": request.get("id"), "error": _error(error)}
    return {"id": request.get("id"), "result": result}


def main() -> int:
    requests, answers = _channel()
    _die_with_parent()
    root = os.environ.get("LAMBDA_TASK_ROOT") or str(Path.cwd())
    sys.path.insert(0, root)
    handler_name = os.environ.get("_HANDLER", "")
    try:
        handler = _load(handler_name)
    except Exception as error:
        traceback.print_exc()
        _send(answers, {"init_error": _error(error)})
        return 1
    _send(answers, {"ready": True})
    loop = asyncio.new_event_loop()
    for line in requests:
        _send(answers, _answer(handler, json.loads(line), loop))
    return 0


if __name__ == "__main__":
    sys.exit(main())
