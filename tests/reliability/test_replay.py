"""`tumble produce --replay FILE` where FILE is also the dead-letter output (the default): no
line leaves the file before its record is acknowledged, whatever happens meanwhile."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway_adapter.embedded.backend import free_port
from producer.cli import produce_main
from producer.config import DEFAULT_STREAM
from producer.deadletter import DeadLetter, Replay, read_dead_letters
from producer.simulate import nes_click
from tests.conftest import ROOT, TEST_ENV
from tests.producer.conftest import read_stream

COLORS = ("red", "blue", "green", "yellow")


def dead_letter_file(path: Path, count: int) -> list[Any]:
    letters = DeadLetter(path)
    events = [nes_click(COLORS[i % 4], "A") for i in range(count)]
    for event in events:
        letters.write(event, event.message["color"], "ProvisionedThroughputExceededException", 8)
    return events


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts connections and never answers: a backend that hangs mid-call."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()


def test_a_replay_in_place_empties_the_file_only_once_everything_is_acknowledged(
    aws_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    kinesis = aws_client("kinesis")
    kinesis.create_stream(StreamName=DEFAULT_STREAM, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=DEFAULT_STREAM, WaiterConfig={"Delay": 0.1})
    path = tmp_path / "tumble-dead-letter.jsonl"
    events = dead_letter_file(path, 40)
    monkeypatch.chdir(tmp_path)  # the default --dead-letter is this very file
    assert produce_main(["--replay", path.name, "--linger-ms", "0"]) == 0
    assert {event.event_id for _, event in read_stream(kinesis)} == {e.event_id for e in events}
    assert list(read_dead_letters(path)) == []
    assert not path.with_name(path.name + ".replaying").exists()


def test_a_replay_in_place_that_fails_again_keeps_every_line(tmp_path: Path, monkeypatch):
    path = tmp_path / "dead.jsonl"
    events = dead_letter_file(path, 12)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing there
    argv = ["--replay", str(path), "--dead-letter", str(path), "--flush-timeout", "2"]
    assert produce_main(argv) == 0
    assert sorted(s.event.event_id for s in read_dead_letters(path)) == sorted(
        e.event_id for e in events
    )


def test_kill_9_mid_replay_leaves_the_file_whole(tmp_path: Path, silent_endpoint: str):
    path = tmp_path / "tumble-dead-letter.jsonl"
    dead_letter_file(path, 200)
    before = path.read_bytes()
    env = {**os.environ, **TEST_ENV, "AWS_ENDPOINT_URL": silent_endpoint}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", "producer", "--replay", path.name],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # "replaying 200 records": all submitted, none acked
        assert "replaying 200 records" in line, line
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert path.read_bytes() == before


def test_lines_appended_by_another_producer_during_a_replay_survive(tmp_path: Path):
    path = tmp_path / "dead.jsonl"
    dead_letter_file(path, 3)
    replay = Replay(path, path)
    assert len(replay.records) == 3 and replay.in_place
    late = nes_click("red", "B")
    DeadLetter(path).write(late, "red", "spilled by another producer", 8)
    spilled_again = replay.records[0]
    DeadLetter(replay.spill_to).write(spilled_again.event, "red", "still refused", 9)
    assert replay.finish() == 2
    assert [s.event.event_id for s in read_dead_letters(path)] == [
        spilled_again.event.event_id,
        late.event_id,
    ]


def test_a_replay_into_another_file_leaves_the_source_alone(tmp_path: Path):
    source, target = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    dead_letter_file(source, 2)
    before = source.read_bytes()
    replay = Replay(source, target)
    assert not replay.in_place and replay.spill_to == target
    assert replay.finish() == 0
    assert source.read_bytes() == before
