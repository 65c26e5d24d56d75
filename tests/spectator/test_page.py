from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

from messages.tokens import Role, verify
from spectator.auth import SecretMissing
from spectator.page import make_app

from .conftest import ServerThread
from .stack import http_get

WS_URL = "ws://127.0.0.1:3001/local"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>race</title>")
    (tmp_path / "app.js").write_text("console.log('race')")
    (tmp_path.parent / "secret.txt").write_text("outside dist")
    return tmp_path


def test_config_gives_the_gateway_and_a_fresh_viewer_token(
    serve: Callable[[web.Application], ServerThread], dist: Path
) -> None:
    server = serve(make_app(WS_URL, dist, lambda: b"k"))
    status, headers, body = http_get(f"{server.url}/config.json")
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    config = json.loads(body)
    assert config["wsUrl"] == WS_URL
    assert verify(b"k", config["token"]).role is Role.VIEWER


def test_no_secret_is_a_503_with_the_reason(
    serve: Callable[[web.Application], ServerThread], dist: Path
) -> None:
    def missing() -> bytes:
        raise SecretMissing("no token secret: set TUMBLE_TOKEN_SECRET")

    server = serve(make_app(WS_URL, dist, missing))
    status, _, body = http_get(f"{server.url}/config.json")
    assert status == 503
    assert "TUMBLE_TOKEN_SECRET" in json.loads(body)["error"]


def test_the_built_page_is_served_and_nothing_outside_it(
    serve: Callable[[web.Application], ServerThread], dist: Path
) -> None:
    server = serve(make_app(WS_URL, dist, lambda: b"k"))
    assert http_get(f"{server.url}/")[2].startswith(b"<!doctype html>")
    assert http_get(f"{server.url}/app.js")[2] == b"console.log('race')"
    assert http_get(f"{server.url}/missing.js")[0] == 404
    assert http_get(f"{server.url}/..%2Fsecret.txt")[0] in (403, 404)


def test_an_unbuilt_page_says_how_to_build_it(
    serve: Callable[[web.Application], ServerThread], tmp_path: Path
) -> None:
    server = serve(make_app(WS_URL, tmp_path / "nowhere", lambda: b"k"))
    status, _, body = http_get(f"{server.url}/")
    assert status == 503
    assert b"make web" in body
