"""What several benchmarks share: the embedded backend as a child process on a free port, so
moto never competes with the code being measured for this process's GIL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway_adapter.embedded import free_port, wait_for_http

__all__ = ["ROOT", "embedded_backend", "scoped_environ"]

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_S = 10


@contextmanager
def embedded_backend(*, plain_moto: bool = False) -> Iterator[str]:
    """`python -m gateway_adapter.embedded` (as `tumble local` runs it) until the block ends;
    yields its endpoint. `plain_moto` serves GetRecords with moto's own serializer."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "gateway_adapter.embedded", "--host", "127.0.0.1"]
    argv += ["--port", str(port), *(["--plain-moto"] if plain_moto else [])]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"{endpoint}/moto-api/", 30)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def scoped_environ() -> Iterator[None]:
    """This process's environment as it was, once the block ends: a benchmark that points the
    in-process handlers at its own backend and stage (as Lambda's environment would) must not
    leave them to the benchmarks that run after it in `tumble bench`."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
