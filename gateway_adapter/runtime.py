"""A Lambda runtime in this process for the functions of a serverless.yml service.

Each handler (`module.attribute`, resolved against the service's directory like Serverless
does) is imported once, on first use, so module-level set-up runs once and stays warm. A
synchronous handler runs in a thread pool, never on the event loop; an `async def` handler is
awaited on the loop. A raise is a FunctionError, a run past the function's timeout a
FunctionTimeout (the thread of a timed-out sync handler cannot be killed: it finishes in the
background, as a Lambda sandbox would be recycled).

Environment: handlers share this process's os.environ. At start the union of every
function's `environment` is applied (usually all of them are the provider's). When two
functions give one name different values, a warning names it, and the invoked function's
value is set again just before each of its invocations: right for sequential calls, racy
for concurrent calls of the two functions (one process cannot give threads their own
environ); at start the first function declaring a name wins. Like Lambda, AWS_REGION and
AWS_DEFAULT_REGION are set to the service's region when unset. `close()` restores every
variable it replaced."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .service import Function, Service

__all__ = ["FunctionError", "FunctionTimeout", "InvocationError", "LambdaContext", "LambdaRuntime"]

log = logging.getLogger("gateway_adapter.runtime")

# Enough workers that a few slow handlers (up to the 29 s integration timeout) do not stall
# the others; Lambda would scale out to as many sandboxes.
DEFAULT_WORKERS = 64


class InvocationError(Exception):
    """The invocation failed: API Gateway answers "Internal server error"."""

    def __init__(self, function_name: str, message: str) -> None:
        super().__init__(f"{function_name}: {message}")
        self.function_name = function_name


class FunctionError(InvocationError):
    """The handler raised (or could not be imported)."""


class FunctionTimeout(InvocationError):
    """The handler ran past its function's timeout."""


class LambdaContext:
    """The context object handlers receive, with the attributes of Lambda's Python runtime."""

    __slots__ = (
        "_deadline",
        "aws_request_id",
        "function_name",
        "function_version",
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
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Prepared:
    __slots__ = ("arn", "function", "handler", "is_async", "lambda_name", "own_env")

    def __init__(self, function: Function, service: Service, handler: Callable[..., Any]) -> None:
        self.function = function
        self.handler = handler
        self.is_async = inspect.iscoroutinefunction(handler)
        # Serverless names deployed functions {service}-{stage}-{function}.
        self.lambda_name = f"{service.name}-{service.stage}-{function.name}"
        self.arn = (
            f"arn:aws:lambda:{service.region}:{service.account_id}:function:{self.lambda_name}"
        )
        self.own_env: dict[str, str] = {}


class LambdaRuntime:
    def __init__(self, service: Service, max_workers: int = DEFAULT_WORKERS) -> None:
        self.service = service
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="lambda")
        self._prepared: dict[str, _Prepared] = {}
        self._saved_env: dict[str, str | None] = {}
        self._conflicts = self._apply_environment()
        root = str(service.path.resolve().parent)
        if root not in sys.path:
            sys.path.insert(0, root)

    def _apply_environment(self) -> frozenset[str]:
        values: dict[str, str] = {}
        conflicts: set[str] = set()
        for function in self.service.functions.values():
            for name, value in function.environment.items():
                if name in values and values[name] != value:
                    conflicts.add(name)
                values.setdefault(name, value)
        for name in sorted(conflicts):
            log.warning(
                "functions give %s different values; each invocation sets its own (racy when "
                "those functions run concurrently)",
                name,
            )
        # Lambda sets the region for every function; boto3 clients in handlers rely on it.
        for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if not os.environ.get(name):
                values.setdefault(name, self.service.region)
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        return frozenset(conflicts)

    def _prepare(self, function_name: str) -> _Prepared:
        prepared = self._prepared.get(function_name)
        if prepared is not None:
            return prepared
        function = self.service.functions.get(function_name)
        if function is None:
            raise FunctionError(function_name, "no such function in the service")
        try:
            module = importlib.import_module(function.module)
            handler = getattr(module, function.attribute)
        except Exception as error:
            log.error(
                "%s: cannot load handler %s\n%s",
                function_name,
                function.handler,
                traceback.format_exc(),
            )
            problem = f"cannot load {function.handler}: {error}"
            raise FunctionError(function_name, problem) from error
        if not callable(handler):
            raise FunctionError(function_name, f"{function.handler} is not callable")
        prepared = _Prepared(function, self.service, handler)
        prepared.own_env = {
            name: function.environment[name]
            for name in self._conflicts
            if name in function.environment
        }
        self._prepared[function_name] = prepared
        return prepared

    async def invoke(self, function_name: str, event: dict[str, Any]) -> Any:
        prepared = self._prepare(function_name)
        function = prepared.function
        context = LambdaContext(
            prepared.lambda_name,
            prepared.arn,
            function.memory_mb,
            function.timeout_s,
            str(uuid.uuid4()),
        )
        if prepared.own_env:
            os.environ.update(prepared.own_env)
        deadline = asyncio.timeout(function.timeout_s)
        try:
            # asyncio.timeout, not wait_for: no extra Task per invocation on the hot path.
            async with deadline:
                if prepared.is_async:
                    return await prepared.handler(event, context)
                return await asyncio.get_running_loop().run_in_executor(
                    self._pool, prepared.handler, event, context
                )
        except TimeoutError as error:
            if not deadline.expired():  # the handler's own TimeoutError: a function error
                log.error("%s: TimeoutError: %s\n%s", function_name, error, traceback.format_exc())
                raise FunctionError(function_name, f"TimeoutError: {error}") from error
            log.error(
                "%s: timed out after %.1f s (request %s)",
                function_name,
                function.timeout_s,
                context.aws_request_id,
            )
            problem = f"timed out after {function.timeout_s} s"
            raise FunctionTimeout(function_name, problem) from None
        except Exception as error:
            log.error(
                "%s: %s: %s (request %s)\n%s",
                function_name,
                type(error).__name__,
                error,
                context.aws_request_id,
                traceback.format_exc(),
            )
            raise FunctionError(function_name, f"{type(error).__name__}: {error}") from error

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
