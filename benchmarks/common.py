"""What several benchmarks share, so none reaches into another's private names: the embedded
backend as a child process on a free port (moto never competes with the code being measured for
this process's GIL), a gateway server child and its CPU bill, and the fan-out's test press and
the Kinesis event Lambda would wrap it in."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway_adapter.embedded.backend import free_port, wait_for_http
from messages import Event, encode_kinesis_data

__all__ = [
    "CLICK",
    "ROOT",
    "embedded_backend",
    "kinesis_event",
    "process_cpu_s",
    "scoped_environ",
    "start_server",
    "stop_server",
]

ROOT = Path(__file__).resolve().parent.parent
STOP_TIMEOUT_S = 10
# The fan-out benchmarks' press: one NESClick message, every field present.
CLICK = {"color": "red", "button": "A", "axis": None, "value": None, "source": "kinesis"}


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


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(
    argv: list[str], env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[str], str]:
    """A server child that prints `gateway ready: URL` once it listens; its stderr goes to
    `log`, shown only when it fails to start. Returns the process and its URL."""
    with log.open("w") as errors:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=errors, text=True, env=env, cwd=ROOT
        )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("gateway ready: "):
        process.kill()
        raise RuntimeError(f"{argv[2:4]} did not start: {line!r}\n{log.read_text()[-2000:]}")
    return process, line.split(": ", 1)[1].strip()


def stop_server(process: subprocess.Popen[str]) -> None:
    """SIGTERM, so the server's own shutdown runs; killed after a minute."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def kinesis_event(events: list[Event]) -> dict[str, Any]:
    """`events` as the Kinesis event a Lambda event source mapping hands send_iot_message."""
    return {
        "Records": [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": "red",
                    "sequenceNumber": f"{49600000000000000000000000000000000000000000000 + i}",
                    "data": base64.b64encode(encode_kinesis_data(e)).decode(),
                    "approximateArrivalTimestamp": time.time(),
                },
                "eventSource": "aws:kinesis",
                "eventID": f"shardId-000000000000:{i}",
            }
            for i, e in enumerate(events)
        ]
    }
