"""Functions run from their built artifact, each invocation in a sandbox process whose import
path is the artifact and the standard library only, the way `sam local` runs what it built.

A sandbox (`lambda_worker.py` under the function's Python, `python3.12` for
`runtime: python3.12`) imports its handler once and then serves one invocation at a time, as a
Lambda execution environment does; a function gets more sandboxes when its invocations
overlap, up to a cap. A handler that raises leaves its sandbox warm. A sandbox that crashes,
breaks the protocol or runs past the timeout is killed and the next invocation starts a fresh
one; the gateway itself never goes down with it. Each sandbox has the environment Lambda gives:
the function's `environment`, `AWS_REGION`, `AWS_LAMBDA_FUNCTION_NAME`, `_HANDLER`,
`LAMBDA_TASK_ROOT` and the rest, over the gateway's own (so the standard AWS configuration
reaches the handlers, as in-process)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from serverless_model.service import Function, Service

__all__ = [
    "ArtifactError",
    "HandlerFailure",
    "InitFailure",
    "SandboxCrash",
    "Sandboxes",
    "artifact_paths",
    "find_python",
    "lambda_identity",
]

log = logging.getLogger("gateway_adapter.lambda_runtime.sandboxes")

WORKER = Path(__file__).with_name("lambda_worker.py")
# Lambda's init phase may take 10 s (the execution environment lifecycle); a slower cold start
# gets the function's own timeout, as Lambda retries a timed-out init within the invocation.
INIT_TIMEOUT_S = 10.0
# Lambda's synchronous response payload is at most 6 MB; room for JSON's escaping on top.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# Overlapping invocations of one function get up to this many sandboxes (Lambda scales out to
# the account's concurrency; a laptop does not).
DEFAULT_SANDBOXES_PER_FUNCTION = 8
_RUNTIME = re.compile(r"^python(\d+)\.(\d+)$")


class ArtifactError(ValueError):
    """No artifact to run a function from."""


class SandboxCrash(Exception):
    """The sandbox died or broke the protocol; it was discarded."""


class HandlerFailure(Exception):
    """The handler raised (Lambda's errorType and errorMessage)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type


class InitFailure(HandlerFailure):
    """The handler could not be imported from the artifact."""


def lambda_identity(service: Service, function: str) -> tuple[str, str]:
    """The deployed function's name ({service}-{stage}-{function}, as Serverless names it) and
    its ARN."""
    name = f"{service.name}-{service.stage}-{function}"
    return name, f"arn:aws:lambda:{service.region}:{service.account_id}:function:{name}"


def find_python(runtime: str | None) -> tuple[str, bool]:
    """The interpreter for a `pythonX.Y` runtime (on PATH, else under pyenv), and whether it is
    that version; otherwise this interpreter."""
    match = _RUNTIME.match(runtime or "")
    if match:
        version = f"{match.group(1)}.{match.group(2)}"
        if sys.version_info[:2] == tuple(int(n) for n in match.groups()):
            return sys.executable, True
        found = shutil.which(f"python{version}")
        if found and "shims" not in Path(found).parts:  # a pyenv shim may pick another version
            return found, True
        pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
        candidates = [str(p) for p in pyenv.glob(f"versions/{version}.*/bin/python{version}")]
        if candidates:
            newest = max(candidates, key=lambda p: [int(n) for n in re.findall(r"\d+", p)])
            return newest, True
    return sys.executable, False


def artifact_paths(service: Service, artifact: Path | None) -> dict[str, Path]:
    """Each function's artifact: `artifact` for all, else serverless.yml's per-function
    `package.artifact` or the service's `package.artifact` (relative to the file)."""
    root = service.path.resolve().parent
    document = service.document
    default = (document.get("package") or {}).get("artifact")
    paths = {}
    for name in service.functions:
        spec = (document.get("functions") or {}).get(name) or {}
        chosen = artifact or (spec.get("package") or {}).get("artifact") or default
        if not chosen:
            raise ArtifactError(
                f"{service.path}: functions.{name}: no package.artifact (nor one for the "
                "service) to run it from; build one or pass --artifact"
            )
        path = root / chosen
        if not path.exists():
            raise ArtifactError(f"{path}: no such artifact (build it first, e.g. `make package`)")
        paths[name] = path
    return paths


class _Sandbox:
    """One worker process and its protocol ends."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(
        cls, python: str, env: Mapping[str, str], root: str, init_timeout_s: float
    ) -> _Sandbox:
        process = await asyncio.create_subprocess_exec(
            python, "-I", "-S", str(WORKER),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            env=dict(env), cwd=root, limit=MAX_ANSWER_BYTES, start_new_session=True,
        )  # fmt: skip
        sandbox = cls(process)
        try:
            async with asyncio.timeout(init_timeout_s):
                hello = await sandbox._read()
        except TimeoutError:
            sandbox.kill()
            raise SandboxCrash(f"the sandbox took over {init_timeout_s} s to start") from None
        except BaseException:
            sandbox.kill()
            raise
        if "init_error" in hello:
            error = hello["init_error"]
            await sandbox.close()
            raise InitFailure(str(error.get("errorType")), str(error.get("errorMessage")))
        return sandbox

    async def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        try:
            line = await self.process.stdout.readline()
        except (ValueError, asyncio.LimitOverrunError) as error:
            raise SandboxCrash(f"answer over {MAX_ANSWER_BYTES} bytes") from error
        if not line:
            code = await self.process.wait()
            raise SandboxCrash(f"the sandbox exited with code {code}")
        try:
            message: dict[str, Any] = json.loads(line)
        except ValueError as error:
            raise SandboxCrash(f"the sandbox broke the protocol: {line[:200]!r}") from error
        return message

    async def invoke(self, request: dict[str, Any]) -> Any:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(request, separators=(",", ":")).encode() + b"\n")
            await self.process.stdin.drain()
        except (ConnectionError, BrokenPipeError) as error:
            raise SandboxCrash(f"the sandbox is gone ({error})") from error
        answer = await self._read()
        if answer.get("id") != request["id"]:
            raise SandboxCrash(f"answer to request {answer.get('id')}, not {request['id']}")
        if "error" in answer:
            failure = answer["error"]
            raise HandlerFailure(str(failure.get("errorType")), str(failure.get("errorMessage")))
        return answer.get("result")

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def close(self, grace_s: float = 2.0) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), grace_s)
        except TimeoutError:
            self.kill()
            await self.process.wait()


class _Pool:
    """The warm sandboxes of one function."""

    def __init__(
        self, python: str, env: Mapping[str, str], root: str, init_timeout_s: float, size: int
    ) -> None:
        self.python = python
        self.env = env
        self.root = root
        self.init_timeout_s = init_timeout_s
        self.idle: list[_Sandbox] = []
        self.busy: set[_Sandbox] = set()
        self.dying: set[asyncio.Task[int]] = set()
        self.slots = asyncio.Semaphore(size)

    async def invoke(self, request: dict[str, Any], timeout_s: float) -> Any:
        async with self.slots:
            while self.idle and self.idle[-1].process.returncode is not None:
                self.idle.pop()  # died while idle (killed from outside): not worth a failure
            sandbox = self.idle.pop() if self.idle else await self.start()
            self.busy.add(sandbox)
            healthy = False
            try:
                async with asyncio.timeout(timeout_s):
                    try:
                        result = await sandbox.invoke(request)
                    except HandlerFailure:
                        healthy = True
                        raise
                healthy = True
                return result
            finally:
                self.busy.discard(sandbox)
                if healthy:
                    self.idle.append(sandbox)
                else:  # timed out, cancelled, crashed: recycled like a Lambda sandbox
                    self.discard(sandbox)

    def discard(self, sandbox: _Sandbox) -> None:
        sandbox.kill()
        reaper = asyncio.ensure_future(sandbox.process.wait())
        self.dying.add(reaper)
        reaper.add_done_callback(self.dying.discard)

    async def start(self) -> _Sandbox:
        return await _Sandbox.start(self.python, self.env, self.root, self.init_timeout_s)

    async def close(self) -> None:
        for sandbox in list(self.busy):
            self.discard(sandbox)
        idle, self.idle = self.idle, []
        closing = [sandbox.close() for sandbox in idle]
        await asyncio.gather(*closing, *self.dying, return_exceptions=True)


class Sandboxes:
    """The sandbox pools of a service's functions, each from its artifact."""

    def __init__(
        self,
        service: Service,
        artifacts: Mapping[str, Path],
        python: str | None = None,
        per_function: int = DEFAULT_SANDBOXES_PER_FUNCTION,
    ) -> None:
        self.service = service
        self.per_function = per_function
        self._unpacked: dict[Path, Path] = {}
        self._scratch: list[str] = []
        self._pools: dict[str, _Pool] = {}
        provider = service.document.get("provider") or {}
        for name, function in service.functions.items():
            spec = (service.document.get("functions") or {}).get(name) or {}
            runtime = str(spec.get("runtime") or provider.get("runtime") or "")
            interpreter, exact = (python, True) if python else find_python(runtime)
            if not exact:
                log.warning(
                    "%s: no interpreter for runtime %r; running it under %s",
                    name, runtime or "(none)", interpreter,
                )  # fmt: skip
            root = self._root(artifacts[name])
            env = self._environment(function, runtime, root)
            init_timeout = max(INIT_TIMEOUT_S, function.timeout_s)
            self._pools[name] = _Pool(interpreter, env, root, init_timeout, per_function)

    def _root(self, artifact: Path) -> str:
        """The artifact's directory: itself, or a zip unpacked once into a scratch directory."""
        artifact = artifact.resolve()
        if artifact.is_dir():
            return str(artifact)
        if artifact not in self._unpacked:
            scratch = tempfile.mkdtemp(prefix="lambda-task-")
            self._scratch.append(scratch)
            with zipfile.ZipFile(artifact) as archive:
                archive.extractall(scratch)  # zipfile sanitizes the names
            self._unpacked[artifact] = Path(scratch)
        return str(self._unpacked[artifact])

    def _environment(self, function: Function, runtime: str, root: str) -> dict[str, str]:
        service = self.service
        lambda_name, _ = lambda_identity(service, function.name)
        return {
            **os.environ,
            **function.environment,
            "AWS_REGION": service.region,
            "AWS_DEFAULT_REGION": service.region,
            "AWS_LAMBDA_FUNCTION_NAME": lambda_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{lambda_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "$LATEST/local",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}" if runtime else "AWS_Lambda_local",
            "_HANDLER": function.handler,
            "LAMBDA_TASK_ROOT": root,
            "LAMBDA_RUNTIME_DIR": str(WORKER.parent),
            "TZ": ":UTC",
        }

    async def invoke(self, function: str, request: dict[str, Any], timeout_s: float) -> Any:
        return await self._pools[function].invoke(request, timeout_s)

    async def warm(self) -> None:
        """One sandbox per function, started together (what provisioned concurrency does), so
        the first invocations do not each pay a cold start. A failure is logged, not raised:
        the invocations report it."""

        async def one(name: str, pool: _Pool) -> None:
            try:
                pool.idle.append(await pool.start())
            except (HandlerFailure, SandboxCrash, TimeoutError, OSError) as error:
                log.error("%s: cannot start a sandbox: %s", name, error)

        await asyncio.gather(*(one(name, pool) for name, pool in self._pools.items()))

    async def close(self) -> None:
        await asyncio.gather(*(pool.close() for pool in self._pools.values()))
        for scratch in self._scratch:
            shutil.rmtree(scratch, ignore_errors=True)
        self._scratch.clear()
        self._unpacked.clear()
