"""The watcher against scripted gateways: what it sends, what it prints, how it fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from gateway_adapter.embedded.backend import free_port
from messages import (
    Event,
    Source,
    batched_frames,
    decode_subscribe_request,
    error_frame,
    spectator_frame,
    subscribed_frame,
)
from spectator.watch import EXIT_CONNECTION, EXIT_OK, EXIT_USAGE, main

Handler = Callable[[web.Request], object]
ARGS = ["--types", "NESClick", "--filter", "color=red", "--fields", "color,button"]


def _event(color: str) -> Event:
    return Event.create("NESClick", {"color": color, "button": "B", "source": "websocket"})


async def _accept(
    request: web.Request, seen: dict[str, object] | None = None
) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    message = await ws.receive()
    assert message.type == WSMsgType.TEXT
    asked = decode_subscribe_request(message.data)
    subs = asked.subscriptions
    if seen is not None:
        seen.update(token=request.query.get("token"), subs=subs, batched=asked.batched)
    await ws.send_str(subscribed_frame([s.to_dict() for s in subs], asked.batched))
    return ws


def test_json_prints_one_frame_per_line_and_count_stops(
    scripted_gateway: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    events = [_event("red"), _event("red")]
    seen: dict[str, Any] = {}

    async def gateway(request: web.Request) -> web.WebSocketResponse:
        ws = await _accept(request, seen)
        for event in events:
            await ws.send_str(spectator_frame(event, Source.WEBSOCKET, {"color": "red"}))
        await ws.receive()  # until the watcher leaves
        return ws

    url = scripted_gateway(gateway)
    assert main([*ARGS, "--json", "--url", url, "--token", "T", "--count", "2"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    frames = [json.loads(line) for line in lines]
    assert [f["event_id"] for f in frames] == [e.event_id for e in events]
    assert all(f["payload"] == {"color": "red"} for f in frames)
    assert seen["token"] == "T"
    (sub,) = seen["subs"]
    assert (sub.filter_field, sub.filter_expr, sub.desired_fields) == (
        "color",
        "red",
        ("color", "button"),
    )


@pytest.mark.parametrize("flag", [[], ["--batched"], ["--no-batched"]])
def test_json_prints_each_event_of_a_batched_frame_on_its_own_line(
    scripted_gateway: Callable[..., str], capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    events = [_event("red") for _ in range(20)]  # more than the table's recent rows
    seen: dict[str, Any] = {}

    async def gateway(request: web.Request) -> web.WebSocketResponse:
        ws = await _accept(request, seen)
        frames = [spectator_frame(e, Source.KINESIS, {"color": "red"}).encode() for e in events]
        if seen["batched"]:
            [batch] = batched_frames(frames)
            await ws.send_str(batch.data.decode())
        else:
            for frame in frames:
                await ws.send_str(frame.decode())
        await ws.receive()
        return ws

    url = scripted_gateway(gateway)
    argv = [*ARGS, *flag, "--json", "--url", url, "--token", "T", "--count", "20"]
    assert main(argv) == EXIT_OK
    assert seen["batched"] is (flag != ["--no-batched"])  # batched unless told otherwise
    frames = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["event_id"] for f in frames] == [e.event_id for e in events]


def test_the_table_runs_until_count(
    scripted_gateway: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    async def gateway(request: web.Request) -> web.WebSocketResponse:
        ws = await _accept(request)
        event = _event("red")
        for source in (Source.WEBSOCKET, Source.KINESIS):
            await ws.send_str(spectator_frame(event, source, {"color": "red", "button": "B"}))
        await ws.receive()
        return ws

    url = scripted_gateway(gateway)
    assert main([*ARGS, "--url", url, "--token", "T", "--count", "2"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "latency per path" in out
    assert "kinesis" in out and "websocket" in out


def test_refused_connection_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"ws://127.0.0.1:{free_port('127.0.0.1')}/local"
    assert main([*ARGS, "--json", "--url", url, "--token", "T"]) == EXIT_CONNECTION
    assert f"could not connect to {url}" in capsys.readouterr().err


def test_denied_token_exits_1(
    scripted_gateway: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    async def gateway(_: web.Request) -> web.Response:
        raise web.HTTPForbidden(text='{"message": "Forbidden"}')

    url = scripted_gateway(gateway)
    assert main([*ARGS, "--json", "--url", url, "--token", "bad"]) == EXIT_CONNECTION
    assert "HTTP 403 (the token was refused)" in capsys.readouterr().err


def test_lost_connection_exits_1(
    scripted_gateway: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    async def gateway(request: web.Request) -> web.WebSocketResponse:
        ws = await _accept(request)
        await ws.send_str(spectator_frame(_event("red"), Source.KINESIS, {"color": "red"}))
        await ws.close(code=1001)
        return ws

    url = scripted_gateway(gateway)
    assert main([*ARGS, "--json", "--url", url, "--token", "T"]) == EXIT_CONNECTION
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 1
    assert "lost (close code 1001)" in captured.err


def test_refused_subscription_exits_2(
    scripted_gateway: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    async def gateway(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()
        await ws.send_str(error_frame("invalid_subscription", "too many", "subscriptions"))
        await ws.receive()
        return ws

    url = scripted_gateway(gateway)
    assert main([*ARGS, "--json", "--url", url, "--token", "T"]) == EXIT_USAGE
    assert "subscription refused" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--types", "NESEClick"],
        ["--filter", "color"],
        ["--types", "DashClick", "--filter", "color=red"],
        ["--fields", "colour", "--types", "NESClick"],
        ["--count", "0"],
    ],
)
def test_bad_options_exit_2_before_connecting(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"ws://127.0.0.1:{free_port('127.0.0.1')}/local"
    assert main([*argv, "--url", url, "--token", "T"]) == EXIT_USAGE
    assert "could not connect" not in capsys.readouterr().err


def test_no_secret_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TUMBLE_TOKEN_SECRET", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port('127.0.0.1')}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    assert main(["--json"]) == EXIT_USAGE
    assert "pass --token" in capsys.readouterr().err
