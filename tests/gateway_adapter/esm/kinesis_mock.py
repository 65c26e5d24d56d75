"""kinesis-mock (npm `kinesis-local`, the Kinesis inside LocalStack) as a second Kinesis
implementation for the event source mapping's integration tests: a node process on free
loopback ports, plain HTTP, no artificial latencies, streams in the tests' account.

`make test` installs it (kinesis-mock/package-lock.json); without node or that install the
tests that need it skip and say why."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

from gateway_adapter.embedded.backend import free_port, wait_for_http

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "kinesis-mock" / "node_modules" / "kinesis-local"
# Every simulated operation delay (default 500 ms each) off: the tests wait on the trigger, not
# on make-believe provisioning. AWS's own stream creation takes seconds; neither backend is AWS.
_DURATIONS = [
    "CREATE_STREAM_DURATION",
    "DELETE_STREAM_DURATION",
    "REGISTER_STREAM_CONSUMER_DURATION",
    "DEREGISTER_STREAM_CONSUMER_DURATION",
    "START_STREAM_ENCRYPTION_DURATION",
    "STOP_STREAM_ENCRYPTION_DURATION",
    "MERGE_SHARDS_DURATION",
    "SPLIT_SHARD_DURATION",
    "UPDATE_SHARD_COUNT_DURATION",
    "UPDATE_STREAM_MODE_DURATION",
]


def unavailable() -> str | None:
    """Why kinesis-mock cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (PACKAGE / "main.js").exists():
        return "kinesis-mock is not installed (make kinesis-mock/node_modules/.installed)"
    return None


class KinesisMock:
    """`node main.js` of kinesis-local; stops with the fixture that started it."""

    def __init__(self, account_id: str, region: str) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="kinesis-mock-", suffix=".log", delete=False)  # noqa: SIM115
        env = {
            **os.environ,
            "KINESIS_MOCK_PLAIN_PORT": str(self.port),
            "KINESIS_MOCK_TLS_PORT": str(free_port()),
            "KINESIS_MOCK_CERT_PATH": str(PACKAGE / "server.json"),
            "AWS_ACCOUNT_ID": account_id,
            "AWS_REGION": region,
            "LOG_LEVEL": "ERROR",
            "SHOULD_PERSIST_DATA": "false",
            **dict.fromkeys(_DURATIONS, "0ms"),
        }
        self.process = subprocess.Popen(
            ["node", str(PACKAGE / "main.js")],
            cwd=PACKAGE,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_http(self.endpoint_url, 60)
        except TimeoutError:
            self.stop()
            raise

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, region: str) -> Any:
        return boto3.client("kinesis", endpoint_url=self.endpoint_url, region_name=region)

    def reset(self, region: str) -> None:
        """Deletes every stream, as moto's reset does: each test starts on an empty backend."""
        kinesis = self.client(region)
        names = kinesis.list_streams()["StreamNames"]
        for name in names:
            kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
        deadline = time.monotonic() + 10
        while names and kinesis.list_streams()["StreamNames"]:
            if time.monotonic() > deadline:
                raise TimeoutError("kinesis-mock did not delete its streams")
            time.sleep(0.02)

    def stop(self) -> None:
        # It keeps nothing worth a clean shutdown (persistence is off), and its node process
        # does not end on SIGTERM while a connection is open.
        self.process.kill()
        self.process.wait(10)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
