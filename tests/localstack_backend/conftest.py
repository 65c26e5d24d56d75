"""Host-mode LocalStack for the tests: started once per session on a free loopback port, under
tumble.watchdog (which dies with pytest, even by SIGKILL, and takes kinesis-mock with it).

These tests run wherever Python 3.13 exists: `make test` builds LocalStack's venv first. With
Python 3.13 but no venv they fail, saying how to build it; without Python 3.13 they skip."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway_adapter.embedded.backend import free_port
from tumble.backend import localstack_health
from tumble.localstack_host import (
    host_environment,
    host_mode_unavailable,
    host_runtime,
    python_313_exists,
)
from tumble.supervision import spawn

READY_TIMEOUT_S = 120


def require_host_mode() -> None:
    reason = host_mode_unavailable()
    if reason is None:
        return
    if not python_313_exists():
        pytest.skip(reason)
    pytest.fail(reason)


@pytest.fixture(scope="session")
def host_localstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """LocalStack's URL (`http://127.0.0.1:PORT`), Kinesis, S3, SSM, SQS, SNS and STS on it."""
    require_host_mode()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log: Path = tmp_path_factory.mktemp("localstack") / "localstack.log"
    env = host_environment(os.environ, "127.0.0.1", port)
    command = [sys.executable, "-m", "tumble.watchdog", "--", *host_runtime()]
    process = spawn(command, env, log, death_signal=signal.SIGTERM)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while localstack_health(url) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"host-mode LocalStack did not start; its log:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
