"""A running local stack for the end-to-end spectator tests: the gateway adapter (with its
Kinesis trigger) and the page server as real subprocesses on free ports, over the session's
embedded AWS, and a shipper that sends events on both paths."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import websocket

from gateway_adapter.embedded.backend import free_port, wait_for_http
from messages import (
    STATUS,
    Event,
    EventType,
    Source,
    Subscription,
    decode_spectator_frame,
    encode_kinesis_data,
    submit_envelope,
    subscribe_envelope,
)
from messages.envelopes import FRAME_EVENT_ID, FRAME_SOURCE
from messages.tokens import Role, issue
from serverless_model.service import Service

__all__ = [
    "SECRET",
    "Process",
    "Shipper",
    "http_get",
    "start_gateway",
    "start_page",
    "stream_name",
    "upload_bucket",
]

ROOT = Path(__file__).resolve().parents[2]
SECRET = "spectator-test-secret"
STAGE = "test"
# Kinesis PutRecords takes at most 500 records per call (Kinesis API reference).
PUT_RECORDS_MAX = 500


class Process:
    """A child process whose output goes to a log file, shown when a test fails."""

    def __init__(self, argv: Sequence[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        self._out: IO[bytes] = log.open("wb")
        self.popen = subprocess.Popen(
            list(argv), env=env, cwd=ROOT, stdout=self._out, stderr=subprocess.STDOUT
        )

    def wait_for_output(self, text: str, timeout_s: float) -> None:
        """Until the process has printed `text` (its log is a file: polled, briefly)."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log.read_text(errors="replace"):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"no {text!r} from {self.popen.args!r}:\n{self.tail()}")
            time.sleep(0.05)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._out.close()


def stack_env() -> dict[str, str]:
    """This process's AWS settings (the aws_endpoint fixture set them) and the token secret."""
    return {**os.environ, "TUMBLE_TOKEN_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}


def start_gateway(logs: Path, port: int | None = None, *extra: str) -> tuple[Process, str]:
    """`python -m gateway_adapter` at stage `test`; returns it and its ws:// URL."""
    port = port or free_port("127.0.0.1")
    argv = [
        sys.executable,
        "-m",
        "gateway_adapter",
        "--config",
        str(ROOT / "serverless.yml"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--stage",
        STAGE,
        "--log-level",
        "WARNING",
        "--poll-interval",
        "0.2",
        *extra,
    ]
    process = Process(argv, logs / f"gateway-{time.monotonic_ns()}.log", stack_env())
    try:
        # Printed once the stream trigger polls too (it starts at LATEST: a record put before
        # that would never be read), which is later than the HTTP side answers.
        process.wait_for_output("gateway ready:", 30)
    except RuntimeError:
        process.stop()
        raise
    return process, f"ws://127.0.0.1:{port}/{STAGE}"


def start_page(logs: Path, ws_url: str, bucket: str = "") -> tuple[Process, str]:
    """`python -m spectator.page`; with `bucket`, it relays that upload bucket at /uploads/."""
    port = free_port("127.0.0.1")
    argv = [
        sys.executable,
        "-m",
        "spectator.page",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--ws-url",
        ws_url,
    ]
    env = stack_env()
    if bucket:
        env["UPLOAD_BUCKET"] = bucket
    process = Process(argv, logs / "page.log", env)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, 20)
    except TimeoutError:
        process.stop()
        raise RuntimeError(f"the page server did not start:\n{process.tail()}") from None
    return process, url


def http_get(url: str, timeout_s: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body, for error statuses too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def stream_name(service: Service) -> str:
    return next(
        f.environment["STREAM_NAME"]
        for f in service.functions.values()
        if "STREAM_NAME" in f.environment
    )


def upload_bucket(service: Service) -> str:
    return next(
        f.environment["UPLOAD_BUCKET"]
        for f in service.functions.values()
        if "UPLOAD_BUCKET" in f.environment
    )


class Shipper:
    """Sends events as the producer does: a submit frame over the WebSocket, and a Kinesis
    record carrying the same EventId and SentAt."""

    def __init__(self, ws_url: str, kinesis: Any, stream: str) -> None:
        token = issue(SECRET.encode(), Role.SHIPPER, "spectator-tests", int(time.time()) + 600)
        self.ws = websocket.create_connection(f"{ws_url}?token={token}", timeout=10)
        self.ws_url = ws_url
        self.kinesis = kinesis
        self.stream = stream

    def websocket(self, events: Iterable[Event]) -> None:
        for event in events:
            self.ws.send(submit_envelope(event.with_source(Source.WEBSOCKET)))

    def kinesis_records(self, events: Iterable[Event], key: str = "race") -> None:
        """One partition key keeps the records on one shard, so they arrive in order."""
        records = [
            {"Data": encode_kinesis_data(e.with_source(Source.KINESIS)), "PartitionKey": key}
            for e in events
        ]
        for start in range(0, len(records), PUT_RECORDS_MAX):
            chunk = records[start : start + PUT_RECORDS_MAX]
            response = self.kinesis.put_records(StreamName=self.stream, Records=chunk)
            assert response["FailedRecordCount"] == 0, response

    def both(self, events: Sequence[Event]) -> None:
        self.websocket(events)
        self.kinesis_records(events)

    def paced(self, rounds: Iterable[Callable[[], list[Event]]], timeout_s: float = 15) -> None:
        """Round by round on both paths, each round only once the previous one came back over
        the WebSocket path. That path, like API Gateway's, runs a connection's messages
        concurrently and so may reorder a burst; a race needs each player's presses in order.
        Rounds are made just before they are sent, so their SentAt is honest."""
        monitor = _Monitor(self.ws_url)
        try:
            for make in rounds:
                events = make()
                self.websocket(events)
                self.kinesis_records(events)
                monitor.wait_for({e.event_id for e in events}, timeout_s)
        finally:
            monitor.close()

    def close(self) -> None:
        self.ws.close()


class _Monitor:
    """A viewer of every event, to see when a round has been delivered."""

    def __init__(self, ws_url: str) -> None:
        token = issue(SECRET.encode(), Role.VIEWER, "race-monitor", int(time.time()) + 600)
        self.ws = websocket.create_connection(f"{ws_url}?token={token}", timeout=10)
        self.ws.send(subscribe_envelope(Subscription(t) for t in EventType))
        reply = decode_spectator_frame(self.ws.recv())
        assert reply.get(STATUS) == "subscribed", reply

    def wait_for(self, event_ids: set[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        missing = set(event_ids)
        while missing:
            self.ws.settimeout(max(0.01, deadline - time.monotonic()))
            frame = decode_spectator_frame(self.ws.recv())
            if frame.get(FRAME_SOURCE) == Source.WEBSOCKET.value:
                missing.discard(str(frame.get(FRAME_EVENT_ID)))

    def close(self) -> None:
        self.ws.close()
