"""Functions run from a built artifact in sandbox processes
(gateway_adapter.lambda_runtime.sandboxes): the context and environment Lambda gives, an import path
of the artifact and the standard library only, and the in-process runtime's invocation semantics (a
raise or a crash is a FunctionError, a run past the timeout a FunctionTimeout) with the sandbox
recycled, never the gateway."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import websocket

from gateway_adapter.lambda_runtime.runtime import FunctionError, FunctionTimeout, LambdaRuntime
from gateway_adapter.lambda_runtime.sandboxes import Sandboxes, artifact_paths, find_python
from serverless_model.config import Options
from serverless_model.service import Service, load_service

from ..test_main import start

pytestmark = pytest.mark.slow

HANDLERS = """
import os, sys, time
IMPORTED = time.time()
NAMES = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION", "_HANDLER",
         "LAMBDA_TASK_ROOT", "AWS_EXECUTION_ENV", "SB_SHARED", "SB_OWN"]

def context(event, context):
    return {"function_name": context.function_name, "arn": context.invoked_function_arn,
            "memory": context.memory_limit_in_mb,
            "remaining": context.get_remaining_time_in_millis(),
            "request_id": context.aws_request_id, "pid": os.getpid(), "imported": IMPORTED,
            "path": sys.path, "prefix": sys.base_prefix, "version": list(sys.version_info[:2]),
            "env": {name: os.environ.get(name) for name in NAMES}}

def maybe(event, context):
    if event.get("fail"):
        raise ValueError("failed on purpose")
    if event.get("crash"):
        os._exit(3)
    time.sleep(event.get("sleep", 0))
    print("a line from the handler")
    return os.getpid()

async def async_echo(event, context):
    return event

def unserializable(event, context):
    return object()

def echo(event, context):
    if event.get("body") == "crash":
        os._exit(4)
    return {"statusCode": 200, "body": f"{os.getpid()} {sys.version_info[1]} {event['body']}"}
"""

SERVICE = """
service: sb
provider:
  name: aws
  runtime: python3.12
  timeout: 3
  memorySize: 512
  environment:
    SB_SHARED: one
package:
  artifact: code
functions:
  context:
    handler: handlers.context
    environment:
      SB_OWN: mine
  maybe:
    handler: handlers.maybe
    timeout: 1
  asyncecho:
    handler: handlers.async_echo
  unserializable:
    handler: handlers.unserializable
  missing:
    handler: no_such_module.handle
  echo:
    handler: handlers.echo
    events:
      - websocket:
          route: $default
          routeResponseSelectionExpression: $default
"""


@pytest.fixture
def service(tmp_path: Path) -> Service:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "handlers.py").write_text(HANDLERS)
    (tmp_path / "serverless.yml").write_text(SERVICE)
    return load_service(tmp_path / "serverless.yml", Options(stage="t", region="eu-west-1"))


def run_sandboxed(
    service: Service, body: Callable[[LambdaRuntime], Awaitable[Any]], artifact: Path | None = None
) -> Any:
    async def go() -> Any:
        runtime = LambdaRuntime(
            service, sandboxes=Sandboxes(service, artifact_paths(service, artifact))
        )
        try:
            return await body(runtime)
        finally:
            await runtime.close()

    return asyncio.run(go())


def test_context_environment_and_import_path(service: Service):
    async def body(runtime: LambdaRuntime) -> list[dict]:
        return [await runtime.invoke("context", {}) for _ in range(2)]

    first, second = run_sandboxed(service, body)
    assert (first["pid"], first["imported"]) == (second["pid"], second["imported"])  # warm
    assert first["pid"] != os.getpid()
    assert first["function_name"] == "sb-t-context"
    assert first["arn"] == "arn:aws:lambda:eu-west-1:000000000000:function:sb-t-context"
    assert first["memory"] == "512"
    assert 2000 < first["remaining"] <= 3000
    assert first["request_id"] != second["request_id"]
    root = str(service.path.parent / "code")
    assert first["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "sb-t-context",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_REGION": "eu-west-1",
        "_HANDLER": "handlers.context",
        "LAMBDA_TASK_ROOT": root,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "SB_SHARED": "one",
        "SB_OWN": "mine",
    }
    # The artifact, then the standard library: no site-packages, no source tree.
    assert first["path"][0] == root
    assert all(entry.startswith(first["prefix"]) for entry in first["path"][1:])
    assert not [entry for entry in first["path"] if "site-packages" in entry]
    if find_python("python3.12")[1]:
        assert first["version"] == [3, 12]


def test_a_raise_is_a_function_error_and_the_sandbox_stays_warm(service: Service):
    async def body(runtime: LambdaRuntime) -> tuple[int, int]:
        before = await runtime.invoke("maybe", {})
        with pytest.raises(FunctionError, match="ValueError: failed on purpose"):
            await runtime.invoke("maybe", {"fail": True})
        return before, await runtime.invoke("maybe", {})

    before, after = run_sandboxed(service, body)
    assert before == after


def test_a_timeout_recycles_the_sandbox(service: Service):
    async def body(runtime: LambdaRuntime) -> tuple[int, int]:
        before = await runtime.invoke("maybe", {})
        started = time.monotonic()
        with pytest.raises(FunctionTimeout):
            await runtime.invoke("maybe", {"sleep": 30})
        assert time.monotonic() - started < 5
        return before, await runtime.invoke("maybe", {})

    before, after = run_sandboxed(service, body)
    assert before != after
    with pytest.raises(ProcessLookupError):
        os.kill(before, 0)


def test_a_crash_fails_that_invocation_and_a_fresh_sandbox_follows(service: Service):
    async def body(runtime: LambdaRuntime) -> tuple[int, int]:
        before = await runtime.invoke("maybe", {})
        with pytest.raises(FunctionError, match="exited with code 3"):
            await runtime.invoke("maybe", {"crash": True})
        return before, await runtime.invoke("maybe", {})

    before, after = run_sandboxed(service, body)
    assert before != after


def test_prints_go_to_the_log_not_the_protocol(service: Service, capfd: pytest.CaptureFixture):
    async def body(runtime: LambdaRuntime) -> int:
        return await runtime.invoke("maybe", {})

    assert isinstance(run_sandboxed(service, body), int)
    assert "a line from the handler" in capfd.readouterr().err


def test_async_handlers_are_awaited(service: Service):
    async def body(runtime: LambdaRuntime) -> Any:
        return await runtime.invoke("asyncecho", {"n": 1})

    assert run_sandboxed(service, body) == {"n": 1}


@pytest.mark.parametrize(
    ("function", "problem"),
    [
        ("missing", "cannot load no_such_module.handle: ModuleNotFoundError"),
        ("unserializable", "TypeError: Object of type object is not JSON serializable"),
    ],
)
def test_unloadable_or_unserializable_is_a_function_error(
    service: Service, function: str, problem: str
):
    async def body(runtime: LambdaRuntime) -> None:
        with pytest.raises(FunctionError, match=problem):
            await runtime.invoke(function, {})

    run_sandboxed(service, body)


def test_a_zip_artifact_is_unpacked_for_the_run_and_removed_after(service: Service, tmp_path: Path):
    artifact = tmp_path / "built.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.write(tmp_path / "code" / "handlers.py", "handlers.py")

    async def body(runtime: LambdaRuntime) -> dict:
        return await runtime.invoke("context", {})

    answer = run_sandboxed(service, body, artifact)
    root = Path(answer["env"]["LAMBDA_TASK_ROOT"])
    assert root != tmp_path / "code"
    assert not root.exists()


def test_a_missing_artifact_is_refused_up_front(service: Service, tmp_path: Path):
    with pytest.raises(ValueError, match="no such artifact"):
        artifact_paths(service, tmp_path / "nope.zip")
    bare = tmp_path / "bare.yml"
    bare.write_text("service: b\nfunctions:\n  f:\n    handler: h.f\n")
    with pytest.raises(ValueError, match=r"functions\.f: no package\.artifact"):
        artifact_paths(load_service(bare, Options(stage="t")), None)
    refused = start(bare, "--from-artifact")
    _, errors = refused.communicate(timeout=30)
    assert refused.returncode == 2
    assert "functions.f: no package.artifact" in errors


def test_the_gateway_serves_from_the_artifact_and_survives_a_crash(service: Service):
    """`python -m gateway_adapter --from-artifact`: frames reach a handler in a sandbox; one
    that kills its sandbox gets "Internal server error", and the next frame is answered."""
    gateway = start(service.path, "--from-artifact", "--no-triggers", "--log-level", "WARNING")
    try:
        assert gateway.stdout is not None
        line = gateway.stdout.readline()
        url = line.strip().removeprefix("gateway ready: ")
        assert url.startswith("ws://"), line + gateway.stderr.read()  # type: ignore[union-attr]
        ws = websocket.create_connection(url, timeout=20)
        ws.send("hello")
        pid, minor, text = str(ws.recv()).split(" ")
        assert (int(pid) != gateway.pid, text) == (True, "hello")
        if find_python("python3.12")[1]:
            assert minor == "12"
        ws.send("crash")
        assert json.loads(ws.recv())["message"] == "Internal server error"
        ws.send("again")
        assert str(ws.recv()).split(" ")[2] == "again"
        ws.close()
    finally:
        gateway.terminate()
        gateway.wait(15)


def test_the_worker_runs_under_this_interpreter_when_no_other_fits():
    assert find_python("python2.1") == (sys.executable, False)
    assert find_python(None) == (sys.executable, False)


def test_a_sandbox_killed_while_idle_is_replaced_without_a_failure(service: Service):
    async def body(runtime: LambdaRuntime) -> tuple[int, int]:
        before = await runtime.invoke("maybe", {})
        os.kill(before, signal.SIGKILL)
        await asyncio.sleep(0.2)
        return before, await runtime.invoke("maybe", {})

    before, after = run_sandboxed(service, body)
    assert before != after


def test_an_interpreter_that_cannot_start_is_a_function_error(service: Service):
    async def go() -> None:
        sandboxes = Sandboxes(service, artifact_paths(service, None), python="/no/python3.12")
        runtime = LambdaRuntime(service, sandboxes=sandboxes)
        try:
            await runtime.warm()  # logged, not raised
            with pytest.raises(FunctionError, match="No such file"):
                await runtime.invoke("maybe", {})
        finally:
            await runtime.close()

    asyncio.run(go())


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_sandboxes_die_with_a_gateway_killed_outright(service: Service):
    gateway = start(service.path, "--from-artifact", "--no-triggers", "--log-level", "WARNING")
    try:
        assert gateway.stdout is not None
        assert gateway.stdout.readline().startswith("gateway ready")
        sandboxes = children_of(gateway.pid)
        assert len(sandboxes) == len(service.functions) - 1  # all but the unloadable one
    finally:
        gateway.kill()
        gateway.wait(15)
    deadline = time.monotonic() + 10
    while [pid for pid in sandboxes if Path(f"/proc/{pid}").exists()]:
        assert time.monotonic() < deadline, "sandboxes outlived their gateway"
        time.sleep(0.05)
