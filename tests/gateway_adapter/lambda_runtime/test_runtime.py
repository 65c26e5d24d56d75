from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway_adapter.lambda_runtime.runtime import (
    FunctionError,
    FunctionTimeout,
    InvocationError,
    LambdaRuntime,
)
from serverless_model.config import Options
from serverless_model.service import load_service

from ..conftest import PROBE_YML

SERVICE_YML = """
service: rt
provider:
  name: aws
  timeout: 3
  memorySize: 512
  environment:
    RT_SHARED: one
    RT_CONFLICT: provider
functions:
  record:
    handler: probe_handlers.record
  fail:
    handler: probe_handlers.fail
  slow:
    handler: probe_handlers.slow
    timeout: 0.2
  asyncecho:
    handler: probe_handlers.async_echo
  busy:
    handler: probe_handlers.record_then_sleep
  missing:
    handler: probe_handlers.does_not_exist
  nomodule:
    handler: no_such_module_here.handle
  other:
    handler: probe_handlers.record
    environment:
      RT_CONFLICT: other
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LambdaRuntime]:
    path = tmp_path / "serverless.yml"
    path.write_text(SERVICE_YML)
    runtime = LambdaRuntime(load_service(path, Options(stage="t", region="eu-west-1")))
    yield runtime
    asyncio.run(runtime.close())


def run(coro):
    return asyncio.run(coro)


def test_context_and_warm_import(runtime: LambdaRuntime) -> None:
    import probe_handlers

    async def go() -> None:
        await runtime.invoke("record", {"n": 1})
        await runtime.invoke("record", {"n": 2})
        await runtime.close()

    imports = len(probe_handlers.IMPORTS)
    probe_handlers.CONTEXTS.clear()
    run(go())
    assert len(probe_handlers.IMPORTS) == imports  # module-level set-up ran once
    first, second = probe_handlers.CONTEXTS[-2:]
    assert first["function_name"] == "rt-t-record"
    assert first["arn"].startswith("arn:aws:lambda:eu-west-1:")
    assert first["memory_limit_in_mb"] == "512"
    assert 2000 < first["remaining_ms"] <= 3000
    assert first["aws_request_id"] != second["aws_request_id"]


def test_the_time_left_starts_with_a_slot_not_before(tmp_path: Path) -> None:
    """A queued invocation (one local slot, two calls) gets its whole timeout once it runs,
    in its context as in the runtime's own deadline: a handler that budgets its work by the
    time left must not lose the wait, which a Lambda would not have had."""
    import probe_handlers

    path = tmp_path / "serverless.yml"
    path.write_text(SERVICE_YML)
    runtime = LambdaRuntime(
        load_service(path, Options(stage="t", region="eu-west-1")), max_workers=1
    )

    async def go() -> None:
        try:
            await asyncio.gather(*(runtime.invoke("busy", {"sleep_s": 1.0}) for _ in range(2)))
        finally:
            await runtime.close()

    probe_handlers.CONTEXTS.clear()
    run(go())
    first, second = probe_handlers.CONTEXTS
    assert first["remaining_ms"] > 2500 and second["remaining_ms"] > 2500  # of 3,000


def test_handler_error_is_function_error(
    runtime: LambdaRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(FunctionError, match="failed on purpose"):
        run(runtime.invoke("fail", {}))
    assert "Traceback" in caplog.text
    assert issubclass(FunctionError, InvocationError)


def test_timeout_is_function_timeout(runtime: LambdaRuntime) -> None:
    with pytest.raises(FunctionTimeout):
        run(runtime.invoke("slow", {}))
    assert issubclass(FunctionTimeout, InvocationError)


def test_async_handler_is_awaited(runtime: LambdaRuntime) -> None:
    assert run(runtime.invoke("asyncecho", {"body": '{"text": "hi"}'})) == {
        "statusCode": 200,
        "body": "hi",
    }


@pytest.mark.parametrize("name", ["missing", "nomodule", "not_a_function"])
def test_unloadable_handlers_are_function_errors(runtime: LambdaRuntime, name: str) -> None:
    with pytest.raises(FunctionError):
        run(runtime.invoke(name, {}))


def test_sync_handlers_run_off_the_loop(tmp_path: Path) -> None:
    import threading

    seen: list[str] = []
    path = tmp_path / "serverless.yml"
    path.write_text("service: th\nfunctions:\n  f:\n    handler: thread_probe.handle\n")
    (tmp_path / "thread_probe.py").write_text(
        "import threading\nNAMES = []\n"
        "def handle(event, context):\n    NAMES.append(threading.current_thread().name)\n"
    )
    runtime = LambdaRuntime(load_service(path, Options(stage="t")))
    run(runtime.invoke("f", {}))
    run(runtime.close())
    import thread_probe  # the service's directory is on sys.path, as with Serverless

    seen.extend(thread_probe.NAMES)
    assert seen and seen[0] != threading.main_thread().name


def test_environment_union_conflicts_and_restore(
    runtime: LambdaRuntime, caplog: pytest.LogCaptureFixture
) -> None:
    assert os.environ["RT_SHARED"] == "one"
    assert os.environ["AWS_REGION"]

    async def go() -> None:
        await runtime.invoke("other", {})
        assert os.environ["RT_CONFLICT"] == "other"
        await runtime.invoke("record", {})
        assert os.environ["RT_CONFLICT"] == "provider"
        await runtime.close()

    run(go())
    assert "RT_SHARED" not in os.environ
    assert "RT_CONFLICT" not in os.environ


def test_conflict_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(SERVICE_YML)
    with caplog.at_level(logging.WARNING):
        runtime = LambdaRuntime(load_service(path, Options(stage="t")))
    assert "RT_CONFLICT" in caplog.text
    run(runtime.close())


def test_probe_service_loads() -> None:
    service = load_service(PROBE_YML, Options(stage="t"))
    assert service.routes["$connect"].authorizer is not None
