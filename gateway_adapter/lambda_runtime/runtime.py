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
variable it replaced.

With `sandboxes` (gateway_adapter.lambda_runtime.sandboxes) the functions run from their built
artifact instead, each in processes of its own with Lambda's environment; the errors and timeouts an
invocation can end in are the same.

Concurrency (gateway_adapter.lambda_runtime.concurrency): admission follows Lambda's account pool
and each function's reservedConcurrency; what is admitted waits for its own function's local slots
(`max_workers` threads per function here, `Sandboxes.per_function` sandboxes from an artifact),
so one function's flood queues behind itself only."""

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
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from serverless_model.service import Function, Service

from .concurrency import DEFAULT_ACCOUNT_CONCURRENCY, ConcurrencyPool
from .lambda_worker import LambdaContext
from .sandboxes import HandlerFailure, InitFailure, SandboxCrash, Sandboxes, lambda_identity

__all__ = [
    "DEFAULT_ACCOUNT_CONCURRENCY",
    "DEFAULT_WORKERS",
    "FunctionError",
    "FunctionThrottled",
    "FunctionTimeout",
    "InvocationError",
    "LambdaContext",
    "LambdaRuntime",
]

log = logging.getLogger("gateway_adapter.lambda_runtime.runtime")

# Threads per function (made as needed): enough that a few slow handlers (up to the 29 s
# integration timeout) do not stall the function's other invocations; more admitted ones wait
# for a thread of their own function. Lambda would scale out to as many sandboxes.
DEFAULT_WORKERS = 8


class InvocationError(Exception):
    """The invocation failed: API Gateway answers "Internal server error"."""

    def __init__(self, function_name: str, message: str) -> None:
        super().__init__(f"{function_name}: {message}")
        self.function_name = function_name


class FunctionError(InvocationError):
    """The handler raised (or could not be imported)."""


class FunctionTimeout(InvocationError):
    """The handler ran past its function's timeout."""


class FunctionThrottled(InvocationError):
    """Lambda's TooManyRequestsException (HTTP 429): the function was at its reservation or
    the account pool was spent; refused at once, never queued. `reason` is Lambda's Reason."""

    status = 429
    error_type = "TooManyRequestsException"

    def __init__(self, function_name: str, reason: str) -> None:
        super().__init__(function_name, f"{self.error_type}: Rate Exceeded. ({reason})")
        self.reason = reason


def _timed_out(function: Function, request_id: str) -> FunctionTimeout:
    """Logged like every failed invocation; the gateway answers "Internal server error"."""
    log.error(
        "%s: timed out after %.1f s (request %s)", function.name, function.timeout_s, request_id
    )
    return FunctionTimeout(function.name, f"timed out after {function.timeout_s} s")


class _Prepared:
    __slots__ = ("arn", "function", "handler", "is_async", "lambda_name", "own_env")

    def __init__(self, function: Function, service: Service, handler: Callable[..., Any]) -> None:
        self.function = function
        self.handler = handler
        self.is_async = inspect.iscoroutinefunction(handler)
        self.lambda_name, self.arn = lambda_identity(service, function.name)
        self.own_env: dict[str, str] = {}


class LambdaRuntime:
    """In this process from the source tree (the fast default), or, given `sandboxes`, each
    function in sandbox processes from its built artifact; invocations mean the same."""

    def __init__(
        self,
        service: Service,
        max_workers: int = DEFAULT_WORKERS,
        sandboxes: Sandboxes | None = None,
        concurrency: int = DEFAULT_ACCOUNT_CONCURRENCY,
        min_unreserved: int | None = None,
    ) -> None:
        """`concurrency`: the account pool; `min_unreserved`: what reservations must leave of
        it (AWS's 100 by default). ValueError when serverless.yml reserves more."""
        self.service = service
        self.sandboxes = sandboxes
        self._max_workers = max_workers
        self._pools: dict[str, tuple[ThreadPoolExecutor, asyncio.Semaphore]] = {}
        reserved = service.reserved_concurrency()
        if min_unreserved is None:
            self.limits = ConcurrencyPool(concurrency, reserved)
        else:
            self.limits = ConcurrencyPool(concurrency, reserved, min_unreserved)
        self._prepared: dict[str, _Prepared] = {}
        self._saved_env: dict[str, str | None] = {}
        if sandboxes is not None:  # each sandbox has its own environment and import path
            self._conflicts: frozenset[str] = frozenset()
            return
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

    async def invoke(
        self, function_name: str, event: Mapping[str, Any], *, throttle: bool = True
    ) -> Any:
        """The handler's result; InvocationError when it failed, timed out or was throttled
        (never, with `throttle` off: it then waits for a worker like any queued call)."""
        limits = self.limits
        refused = limits.acquire(function_name, force=not throttle)
        if refused is not None:
            self._report_throttles(function_name)
            raise FunctionThrottled(function_name, refused)
        try:
            if self.sandboxes is not None:
                return await self._invoke_sandboxed(self.sandboxes, function_name, event)
            return await self._invoke_here(function_name, event)
        finally:
            limits.release(function_name)
            self._report_throttles(function_name)

    def _report_throttles(self, function_name: str) -> None:
        report = self.limits.report(function_name, time.monotonic())
        if report is not None:
            log.warning(report.line())

    async def _invoke_here(self, function_name: str, event: Mapping[str, Any]) -> Any:
        prepared = self._prepare(function_name)
        function = prepared.function
        request_id = str(uuid.uuid4())
        if prepared.own_env:
            os.environ.update(prepared.own_env)
        threads, slots = self._threads(function_name)
        deadline = asyncio.timeout(function.timeout_s)
        try:
            # The function's timeout, and the time its context says is left, start once it
            # has a slot (a Lambda would have had a sandbox at once; a handler that budgets by
            # get_remaining_time_in_millis must not lose the wait for one). asyncio.timeout,
            # not wait_for: no extra Task on the hot path.
            async with slots:
                context = LambdaContext(
                    prepared.lambda_name,
                    prepared.arn,
                    function.memory_mb,
                    function.timeout_s,
                    request_id,
                )
                async with deadline:
                    if prepared.is_async:
                        return await prepared.handler(event, context)
                    return await asyncio.get_running_loop().run_in_executor(
                        threads, prepared.handler, event, context
                    )
        except TimeoutError as error:
            if not deadline.expired():  # the handler's own TimeoutError: a function error
                log.error("%s: TimeoutError: %s\n%s", function_name, error, traceback.format_exc())
                raise FunctionError(function_name, f"TimeoutError: {error}") from error
            raise _timed_out(function, request_id) from None
        except Exception as error:
            log.error(
                "%s: %s: %s (request %s)\n%s",
                function_name,
                type(error).__name__,
                error,
                request_id,
                traceback.format_exc(),
            )
            raise FunctionError(function_name, f"{type(error).__name__}: {error}") from error

    def local_slots(self, function_name: str) -> int:
        """How many invocations of the function run at once here (the rest wait for a slot),
        for a poller that should not take work it cannot start."""
        if self.sandboxes is not None:
            return self.sandboxes.per_function
        return self._max_workers

    def _threads(self, function_name: str) -> tuple[ThreadPoolExecutor, asyncio.Semaphore]:
        """The function's own threads and the slots that queue for them: a flood of one
        function waits behind itself only."""
        found = self._pools.get(function_name)
        if found is None:
            prefix = f"lambda-{function_name}"
            found = (
                ThreadPoolExecutor(self._max_workers, prefix),
                asyncio.Semaphore(self._max_workers),
            )
            self._pools[function_name] = found
        return found

    async def _invoke_sandboxed(
        self, sandboxes: Sandboxes, function_name: str, event: Mapping[str, Any]
    ) -> Any:
        function = self.service.functions.get(function_name)
        if function is None:
            raise FunctionError(function_name, "no such function in the service")
        request: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "request_id": str(uuid.uuid4()),
            "arn": lambda_identity(self.service, function_name)[1],
            "remaining_ms": int(function.timeout_s * 1000),
            "event": event,
        }
        try:
            return await sandboxes.invoke(function_name, request, function.timeout_s)
        except InitFailure as error:
            log.error("%s: cannot load handler %s: %s", function_name, function.handler, error)
            raise FunctionError(
                function_name, f"cannot load {function.handler}: {error}"
            ) from error
        except TimeoutError:  # before OSError, its base class
            raise _timed_out(function, str(request["request_id"])) from None
        except (HandlerFailure, SandboxCrash, OSError) as error:  # OSError: no interpreter
            log.error("%s: %s (request %s)", function_name, error, request["request_id"])
            raise FunctionError(function_name, str(error)) from error

    async def warm(self) -> None:
        """Start one sandbox per function ahead of the first invocations (sandboxed only)."""
        if self.sandboxes is not None:
            await self.sandboxes.warm()

    async def close(self) -> None:
        if self.sandboxes is not None:
            await self.sandboxes.close()
        for pool, _ in self._pools.values():
            pool.shutdown(wait=False, cancel_futures=True)
        self._pools.clear()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
