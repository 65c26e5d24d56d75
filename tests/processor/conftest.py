"""Fixtures of the processor's tests: the handlers' environment taken from serverless.yml, a
stand-in @connections API, tokens, and the real gateway adapter as a child process."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest

from benchmarks.fanout import ConnectionsSink
from gateway_adapter.embedded.backend import free_port, wait_for_http
from messages.tokens import issue
from processor.store import CONNECTION_ITEM, ConnectionStore
from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import Options
from serverless_model.service import Service, load_service

ROOT = Path(__file__).resolve().parents[2]
SERVERLESS_YML = ROOT / "serverless.yml"
REGION = "us-east-1"
SECRET = "processor-test-secret"


@pytest.fixture(scope="session", autouse=True)
def _close_warm_clients() -> Iterator[None]:
    """Handlers called in this process keep their clients open while warm; close them at the
    end as a process that stops would."""
    yield
    from processor import wiring

    built = wiring.pipeline.built()
    if built is not None:
        built.close()


@pytest.fixture(scope="module")
def processor_service(aws_endpoint: str) -> Service:
    """serverless.yml at stage `test` bootstrapped once per module on a reset backend; the
    tests of a module share the resources and `processor_env` empties the table between them
    (re-creating a stream and a table per test costs seconds on this machine)."""
    request = urllib.request.Request(f"{aws_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    session = boto3.Session(region_name=REGION)
    client = lambda name: session.client(name, endpoint_url=aws_endpoint)  # noqa: E731
    account = client("sts").get_caller_identity()["Account"]
    service = load_service(SERVERLESS_YML, Options(stage="test", region=REGION, account_id=account))
    bootstrap_resources(service, client)
    return service


@pytest.fixture
def aws_client_same_backend(aws_endpoint: str) -> Any:
    """Clients of the backend without resetting it (unlike `aws_client`)."""
    session = boto3.Session(region_name=REGION)
    return lambda name: session.client(name, endpoint_url=aws_endpoint)


@pytest.fixture
def dynamodb(aws_endpoint: str) -> Any:
    return boto3.client("dynamodb", region_name=REGION, endpoint_url=aws_endpoint)


@pytest.fixture
def processor_env(
    processor_service: Service, dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> Service:
    """What Lambda would give the handlers (the function environment of serverless.yml), and
    an empty connections table."""
    environment = processor_service.functions["send_iot_message"].environment
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TUMBLE_TOKEN_SECRET", SECRET)
    monkeypatch.delenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", raising=False)
    table = environment["CONNECTIONS_TABLE"]
    keys = [
        {"connection_id": item["connection_id"], "item": item["item"]}
        for page in dynamodb.get_paginator("scan").paginate(TableName=table)
        for item in page["Items"]
    ]
    for start in range(0, len(keys), 25):
        chunk = keys[start : start + 25]
        dynamodb.batch_write_item(
            RequestItems={table: [{"DeleteRequest": {"Key": k}} for k in chunk]}
        )
    return processor_service


@pytest.fixture
def store(processor_env: Service, dynamodb: Any) -> ConnectionStore:
    return ConnectionStore(dynamodb, os.environ["CONNECTIONS_TABLE"])


class StoredItems:
    """What the store left in its table, read with DynamoDB's own API: the store has no read
    for one connection, since nothing that runs in Lambda needs one."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def items(self, connection_id: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._dynamodb.query(
            TableName=self._table,
            KeyConditionExpression="connection_id = :c",
            ExpressionAttributeValues={":c": {"S": connection_id}},
            ConsistentRead=True,
        )["Items"]
        return items

    def connection(self, connection_id: str) -> dict[str, str] | None:
        """The connection's own item as plain values, or None once it is gone."""
        for item in self.items(connection_id):
            if item["item"]["S"] == CONNECTION_ITEM:
                return {name: next(iter(value.values())) for name, value in item.items()}
        return None

    def subscribed_types(self, connection_id: str) -> list[str]:
        """The event types of its subscription items, in the client's order."""
        rows = [i for i in self.items(connection_id) if i["item"]["S"] != CONNECTION_ITEM]
        rows.sort(key=lambda item: int(item["position"]["N"]))
        return [row["event_type"]["S"] for row in rows]


@pytest.fixture
def stored(store: ConnectionStore, dynamodb: Any) -> StoredItems:
    return StoredItems(dynamodb, store.table)


@pytest.fixture(scope="session")
def sink() -> Iterator[ConnectionsSink]:
    """Verifies SigV4 with the tests' credentials, as the gateway does."""
    with ConnectionsSink(verify=("test", "test")) as running:
        yield running


@pytest.fixture
def connections(sink: ConnectionsSink) -> ConnectionsSink:
    """The stand-in @connections API, emptied for this test."""
    with sink._lock:
        sink.frames.clear()
        sink.gone.clear()
        sink.throttle.clear()
        sink.fail_5xx.clear()
        sink.deleted.clear()
        sink.posts = 0
        sink.forbidden = 0
    return sink


def make_token(role: str, subject: str = "someone", ttl_s: int = 600) -> str:
    return issue(SECRET.encode(), role, subject, int(time.time()) + ttl_s)


class GatewayProcess:
    """`python -m gateway_adapter` serving serverless.yml at stage `test`."""

    def __init__(
        self,
        triggers: bool = False,
        extra: Sequence[str] = (),
        config: Path = SERVERLESS_YML,
        stage: str = "test",
        environ: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.stage = stage
        self.log = tempfile.NamedTemporaryFile(prefix="gateway-", suffix=".log", delete=False)  # noqa: SIM115
        env = {**os.environ, **(environ or {}), "TUMBLE_TOKEN_SECRET": SECRET}
        env.pop("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", None)
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "gateway_adapter", "--config", str(config),
                "--host", "127.0.0.1", "--port", str(self.port), "--stage", stage,
                "--log-level", "WARNING", "--poll-interval", "0.2",
                *([] if triggers else ["--no-triggers"]), *extra,
            ],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_http(f"http://127.0.0.1:{self.port}/", 30)
        except TimeoutError:
            self.stop()
            raise

    @property
    def domain_name(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, token: str | None = None) -> str:
        base = f"ws://127.0.0.1:{self.port}/{self.stage}"
        return base if token is None else f"{base}?token={token}"

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def gateway(aws_endpoint: str) -> Iterator[GatewayProcess]:
    running = GatewayProcess()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def gateway_with_triggers(processor_service: Service) -> Iterator[GatewayProcess]:
    """The gateway with its Kinesis event source mapping, on resources that already exist."""
    running = GatewayProcess(triggers=True)
    yield running
    running.stop()


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    """The processor's JSON log lines, as dicts, while the test runs."""
    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(record.getMessage()))

    handler = Collect()
    logger = logging.getLogger("tumble.processor")
    logger.addHandler(handler)
    yield lines
    logger.removeHandler(handler)
