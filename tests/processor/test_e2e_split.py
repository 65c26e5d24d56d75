"""A fan-out that splits, end to end: PutRecords on the stream, the gateway's Kinesis mapping
invokes send_iot_message, which finds more posts than its budget allows (two a slice here),
sends the slices to the fan-out queue and waits; the gateway's SQS mapping invokes the worker
once per slice. One worker fails slice 1 of every run once (tests/fixtures/split): SQS gives
that slice back alone, and every spectator still gets every event exactly once, in order."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import websocket

from messages import COLORS, Event, encode_kinesis_data, unbatch
from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import Options
from serverless_model.service import load_service

from .conftest import REGION, SERVERLESS_YML, GatewayProcess
from .test_e2e_batched import click, spectator

pytestmark = pytest.mark.slow

STAGE = "split"
STREAM = f"tumble-{STAGE}-iot-events"
SPECTATORS = 6  # half batched: at two posts a slice, every run splits into several slices
EVENTS = 12
# The queue's visibility timeout, short so the failed slice is back within seconds, and the
# worker's timeout with it (Lambda refuses a longer one). Not shorter: on a loaded machine a
# worker that runs out of time fails its slice, and five such receives send it to the DLQ.
VISIBILITY_S = 8
# How long the spectators may wait for the events, together: the failed slice's retry (the
# visibility timeout) with room for a loaded machine; a spectator that has them all stops.
ARRIVAL_S = 40.0


def flaky_config(tmp_path: Path) -> Path:
    """serverless.yml with the flaky worker as fanout_worker and a short visibility timeout."""
    text = SERVERLESS_YML.read_text()
    replaced = (
        text.replace(
            "handler: processor.handlers.fanout_worker.handle",
            "handler: tests.fixtures.split.flaky_worker.handle",
        )
        .replace("    timeout: 30\n", f"    timeout: {VISIBILITY_S}\n")
        .replace("VisibilityTimeout: 180", f"VisibilityTimeout: {VISIBILITY_S}")
    )
    assert replaced.count("flaky_worker") == 1 and f"VisibilityTimeout: {VISIBILITY_S}" in replaced
    path = tmp_path / "serverless.yml"
    path.write_text(replaced)
    return path


@pytest.fixture(scope="module")
def split_gateway(
    aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = flaky_config(tmp_path_factory.mktemp("split"))
    session = boto3.Session(region_name=REGION)
    client = lambda name: session.client(name, endpoint_url=aws_endpoint)  # noqa: E731
    account = client("sts").get_caller_identity()["Account"]
    bootstrap_resources(
        load_service(config, Options(stage=STAGE, region=REGION, account_id=account)), client
    )
    running = GatewayProcess(
        triggers=True, config=config, stage=STAGE, environ={"TUMBLE_FANOUT_SLICE_POSTS": "2"}
    )
    yield running
    running.stop()


def put(kinesis: Any, events: list[Event]) -> None:
    records = [{"Data": encode_kinesis_data(e), "PartitionKey": e.message["color"]} for e in events]
    assert kinesis.put_records(StreamName=STREAM, Records=records)["FailedRecordCount"] == 0


def events_of(ws: websocket.WebSocket, quiet_s: float) -> list[dict[str, Any]]:
    """Every event a spectator receives until it has been quiet for `quiet_s`."""
    got: list[dict[str, Any]] = []
    ws.settimeout(quiet_s)
    while True:
        try:
            got.extend(unbatch(ws.recv()))
        except websocket.WebSocketTimeoutException:
            return got


def events_until(
    ws: websocket.WebSocket, wanted: set[str], deadline: float
) -> list[dict[str, Any]]:
    """Every event a spectator receives until it has all of `wanted` (or the deadline
    passed), then a quiet second more: a duplicate would arrive in it."""
    got: list[dict[str, Any]] = []
    while not wanted <= {f["event_id"] for f in got} and time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            got.extend(unbatch(ws.recv()))
        except websocket.WebSocketTimeoutException:
            break
    return got + events_of(ws, 1.0)


def log_lines(gateway: GatewayProcess, key: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in gateway.output().splitlines() if line.startswith("{")]
    return [line for line in lines if key in line]


def test_a_split_fan_out_reaches_everyone_once_in_order_though_a_worker_fails(
    split_gateway: GatewayProcess, aws_endpoint: str
):
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=aws_endpoint)
    crowd = [spectator(split_gateway, batched=n % 2 == 0) for n in range(SPECTATORS)]
    try:
        # The mapping starts at LATEST: a probe a second until the first spectator gets one.
        for _ in range(20):
            put(kinesis, [click("red")])
            if events_of(crowd[0], 1.0):
                break
        else:
            pytest.fail("the event source mappings never delivered a probe")
        for ws in crowd:
            events_of(ws, 0.5 if ws is not crowd[0] else 0.1)  # the probes, whoever got them
        time.sleep(VISIBILITY_S + 1)  # any probe slice's retry is over
        for ws in crowd:
            events_of(ws, 0.3)
        colors = list(COLORS)
        sent = [click(colors[n % len(colors)]) for n in range(EVENTS)]
        put(kinesis, sent[: EVENTS // 2])
        time.sleep(0.5)
        put(kinesis, sent[EVENTS // 2 :])
        wanted = {e.event_id for e in sent}
        deadline = time.monotonic() + ARRIVAL_S
        received = [events_until(ws, wanted, deadline) for ws in crowd]
    finally:
        for ws in crowd:
            ws.close()

    for got in received:
        mine = [f for f in got if f["event_id"] in wanted]
        assert sorted(f["event_id"] for f in mine) == sorted(wanted)  # all of them, once each
        for color in colors:  # per partition key, in the order it was put
            in_order = [e.event_id for e in sent if e.message["color"] == color]
            assert [f["event_id"] for f in mine if f["payload"]["color"] == color] == in_order
    triggers = [
        line
        for line in log_lines(split_gateway, "slices")
        if line.get("function") == "send_iot_message"
    ]
    assert triggers and all(line["slices"] >= 3 for line in triggers)
    assert all(line["slices_pending"] == 0 and line["slices_inline"] == 0 for line in triggers)
    failed_runs = {line["run"] for line in log_lines(split_gateway, "flaky_worker")}
    assert len(failed_runs) >= len(triggers)  # slice 1 of every run failed once and came back
    workers = [
        line
        for line in log_lines(split_gateway, "connections")
        if line.get("function") == "fanout_worker"
    ]
    assert sum(line["connections"] for line in workers) >= SPECTATORS
