"""`tumble produce` and `tumble emit` in-process, against the embedded backend and a recording
WebSocket server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from messages import decode_event
from messages.tokens import Role, verify
from producer.cli import emit_main, parse_fields, produce_main

from .conftest import RecordingServer, read_stream

SECRET = "cli-test-secret"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, fresh_aws: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_aws)
    monkeypatch.setenv("TUMBLE_TOKEN_SECRET", SECRET)
    monkeypatch.delenv("STREAM_NAME", raising=False)


def test_parse_fields():
    assert parse_fields(["a=1", "b=x", "c=null", "d=1.5", "e=", 'f="2"', "g=a=b"]) == {
        "a": 1,
        "b": "x",
        "c": None,
        "d": 1.5,
        "e": "",
        "f": "2",
        "g": "a=b",
    }
    for bad in ["novalue", "=1"]:
        with pytest.raises(ValueError, match="key=value"):
            parse_fields([bad])


def test_emit_sends_one_event_on_both_paths(
    env: None, kinesis: Any, ws_server: RecordingServer, tmp_path: Path, capsys: Any
):
    argv = ["DashClick", "event=toggle-game", "click_type=SINGLE", "--ws-url", ws_server.url]
    assert emit_main([*argv, "--dead-letter", str(tmp_path / "d.jsonl")]) == 0
    event_id = capsys.readouterr().out.strip()
    [(key, via_kinesis)] = read_stream(kinesis)
    [frame] = ws_server.frames
    via_ws = decode_event(json.loads(frame)["event"])
    assert via_kinesis.event_id == via_ws.event_id == event_id and key == "DashClick"
    assert via_ws.message == {"event": "toggle-game", "click_type": "SINGLE"}
    assert verify(SECRET.encode(), ws_server.queries[0]["token"]).role is Role.SHIPPER


def test_emit_nesclick_fills_in_its_source(env: None, kinesis: Any, ws_server: RecordingServer):
    assert emit_main(["NESClick", "color=yellow", "button=START", "--ws-url", ws_server.url]) == 0
    [(key, event)] = read_stream(kinesis)
    assert key == "yellow" and event.message["source"] == "kinesis"


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["Nope"], "unknown event type"),
        (["DashClick", "event=toggle-game"], "click_type"),
        (["DashClick", "event=toggle-game", "click_type=SINGLE", "extra=1"], "extra"),
        (["PhotoUpload", "bucket=b", "key=k", "emotion=HAPPY", "confidence=200"], "confidence"),
        (["TranscribeEvent", "transcribed_text"], "key=value"),
    ],
)
def test_emit_refuses_bad_events(argv: list[str], problem: str, capsys: Any):
    assert emit_main(argv) == 2
    assert problem in capsys.readouterr().err


def test_emit_without_a_reachable_gateway_fails_loudly(
    env: None, kinesis: Any, ws_server: RecordingServer, capsys: Any
):
    ws_server.stop()
    argv = ["TranscribeEvent", "transcribed_text=Ada", "--ws-url", ws_server.url]
    assert emit_main([*argv, "--flush-timeout", "0.5"]) == 1
    assert "websocket 0" in capsys.readouterr().err
    assert len(read_stream(kinesis)) == 1


def test_no_token_and_no_secret(monkeypatch: pytest.MonkeyPatch, fresh_aws: str, capsys: Any):
    monkeypatch.setenv("AWS_ENDPOINT_URL", fresh_aws)
    monkeypatch.delenv("TUMBLE_TOKEN_SECRET", raising=False)
    assert emit_main(["TranscribeEvent", "transcribed_text=x"]) == 2
    assert "no shipper token" in capsys.readouterr().err


def test_produce_simulates_players_and_prints_a_summary(
    env: None, kinesis: Any, ws_server: RecordingServer, tmp_path: Path, capsys: Any
):
    argv = ["--simulate", "4", "--rate", "20", "--seed", "7", "--ws-url", ws_server.url]
    argv += ["--duration", "0.5", "--dead-letter", str(tmp_path / "d.jsonl")]
    assert produce_main(argv) == 0
    err = capsys.readouterr().err
    records = read_stream(kinesis)
    assert len(records) >= 8 and {key for key, _ in records} == {"red", "blue", "green", "yellow"}
    # The server may still be reading the last frames when the producer has closed.
    frames = ws_server.wait_for(len(records))
    assert f"sent: kinesis {len(records)}, websocket {len(frames)}" in err, err
    assert "spilled 0" in err and "dropped 0" in err


@pytest.mark.parametrize(
    "argv",
    [["--simulate", "5"], ["--rate", "0"], ["--partition-key", "shard"], ["--linger-ms", "-1"]],
)
def test_produce_refuses_bad_options(argv: list[str]):
    with pytest.raises(SystemExit) as caught:
        produce_main(argv)
    assert caught.value.code == 2


def test_replay_of_a_bad_file(tmp_path: Path, capsys: Any):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nope\n")
    assert produce_main(["--replay", str(bad)]) == 2
    assert f"{bad}:1" in capsys.readouterr().err
    assert produce_main(["--replay", str(tmp_path / "missing.jsonl")]) == 2


def test_ctrl_c_flushes_and_prints_the_summary(
    env: None, kinesis: Any, tmp_path: Path, fresh_aws: str
):
    import os
    import signal
    import subprocess
    import sys

    argv = [sys.executable, "-m", "producer", "--simulate", "4", "--rate", "20", "--no-websocket"]
    argv += ["--linger-ms", "500", "--dead-letter", str(tmp_path / "d.jsonl")]
    child = subprocess.Popen(
        argv,
        env={**os.environ, "AWS_ENDPOINT_URL": fresh_aws},
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 30
        while not read_stream(kinesis) and time.monotonic() < deadline:
            time.sleep(0.1)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, err
    sent = int(err.split("sent: kinesis ")[1].split(",")[0])
    # The 500 ms linger held presses back; the flush sent them all the same.
    assert sent == len(read_stream(kinesis)) > 0
    assert "spilled 0" in err
