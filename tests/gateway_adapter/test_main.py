"""`python -m gateway_adapter` as a subprocess: the ready line, JSON access logs, shutdown
with $disconnect for every connection, stream triggers, and refusal of a broken file."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from gateway_adapter.__main__ import chosen_loop

from .conftest import PROBE_YML

ROOT = Path(__file__).resolve().parents[2]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            **extra,
        }
    )
    return env


def start(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway_adapter",
            "--config",
            str(config),
            "--port",
            "0",
            "--stage",
            "test",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or child_env(),
        cwd=ROOT,
    )


def stderr_of(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    return process.stderr.read()


def ready_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    match = re.fullmatch(r"gateway ready: (ws://127\.0\.0\.1:\d+/test)\n", line)
    assert match, (line, stderr_of(process) if process.poll() is not None else "")
    return match.group(1)


@pytest.fixture
def gateway_process() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_json_logs_and_graceful_shutdown(gateway_process: list[Any]) -> None:
    process = start(PROBE_YML, "--log-format", "json")
    gateway_process.append(process)
    url = ready_url(process)
    sockets = [websocket.create_connection(f"{url}?token=allow", timeout=5) for _ in range(2)]
    sockets[0].send(json.dumps({"action": "echo", "n": 1}))
    assert sockets[0].recv() == '{"action": "echo", "n": 1}'
    sockets[1].close(status=1000)
    time.sleep(0.2)  # let the client close be logged before the shutdown
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    lines = [json.loads(line) for line in stderr_of(process).splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "gateway_adapter.access"]
    kinds = [(line["event"], line["route"], line["status"]) for line in access]
    assert kinds.count(("connect", "$connect", 200)) == 2
    assert ("message", "echo", 200) in kinds
    disconnects = [line for line in access if line["event"] == "disconnect"]
    assert sorted(line["code"] for line in disconnects) == [1000, 1001]  # 1001: shutdown
    assert all(isinstance(line["duration_ms"], float | int) for line in access)


def test_text_log_lines(gateway_process: list[Any]) -> None:
    process = start(PROBE_YML)
    gateway_process.append(process)
    url = ready_url(process)
    ws = websocket.create_connection(f"{url}?token=allow", timeout=5)
    ws.send(json.dumps({"action": "fail"}))
    ws.recv()
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    text = stderr_of(process)
    assert re.search(r"message fail 500 [\d.]+ms", text)
    assert re.search(r"disconnect \$disconnect 200 [\d.]+ms", text)


def test_broken_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text("service: x\nfunctions:\n  f:\n    handler: nodot\n")
    result = subprocess.run(
        [sys.executable, "-m", "gateway_adapter", "--config", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        timeout=30,
    )
    assert result.returncode == 2
    assert "functions.f.handler" in result.stderr


STREAM_YML = """
service: streamy
provider:
  name: aws
  environment:
    OUT_FILE: {out}
functions:
  sink:
    handler: stream_sink.handle
    events:
      - stream:
          type: kinesis
          arn:
            Fn::GetAtt: [Events, Arn]
          batchSize: 10
          startingPosition: TRIM_HORIZON
resources:
  Resources:
    Events:
      Type: AWS::Kinesis::Stream
      Properties:
        Name: streamy-events
        ShardCount: 1
"""

SINK = """
import base64, os
def handle(event, context):
    with open(os.environ["OUT_FILE"], "a") as out:
        for record in event["Records"]:
            out.write(base64.b64decode(record["kinesis"]["data"]).decode() + "\\n")
"""


@pytest.mark.slow
def test_triggers_only_runs_stream_triggers(
    tmp_path: Path, aws_client: Any, gateway_process: list[Any]
) -> None:
    out = tmp_path / "out.txt"
    config = tmp_path / "serverless.yml"
    config.write_text(STREAM_YML.format(out=out))
    (tmp_path / "stream_sink.py").write_text(SINK)
    kinesis = aws_client("kinesis")
    kinesis.create_stream(StreamName="streamy-events", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="streamy-events")
    kinesis.put_record(StreamName="streamy-events", Data=b"hello stream", PartitionKey="k")
    env = child_env(AWS_ENDPOINT_URL=os.environ["AWS_ENDPOINT_URL"])
    process = start(config, "--triggers-only", "--poll-interval", "0.2", env=env)
    gateway_process.append(process)
    assert process.stdout is not None
    assert process.stdout.readline() == "gateway ready: triggers only\n"
    deadline = time.monotonic() + 30
    while not (out.exists() and "hello stream" in out.read_text()):
        assert time.monotonic() < deadline, stderr_of(process) if process.poll() else "late"
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0


@pytest.mark.parametrize(
    ("requested", "installed", "chosen"),
    [
        ("auto", True, "uvloop"),
        ("auto", False, "asyncio"),
        ("asyncio", True, "asyncio"),
        ("uvloop", True, "uvloop"),
    ],
)
def test_the_event_loop_is_the_one_asked_for(requested: str, installed: bool, chosen: str) -> None:
    assert chosen_loop(requested, installed) == chosen


def test_uvloop_asked_for_but_missing_is_an_error_not_a_fallback() -> None:
    with pytest.raises(ValueError, match="uvloop is not installed"):
        chosen_loop("uvloop", uvloop_installed=False)
