"""The frame guard's premise check (gateway_adapter.apigateway.aiohttp_frames), fed an aiohttp
that changed: it has no fallback, so a failed premise refuses to start (PatchUnsafe)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from gateway_adapter.apigateway import aiohttp_frames
from gateway_adapter.embedded.patches.premises import PatchUnsafe


@pytest.fixture
def unverified(monkeypatch) -> None:
    monkeypatch.setattr(aiohttp_frames, "_verified", False)


def test_the_frame_guard_holds_on_the_installed_aiohttp(unverified):
    asyncio.run(aiohttp_frames.verify())


def test_a_renamed_aiohttp_hook_stops_start_up(monkeypatch, unverified):
    monkeypatch.setattr(web.WebSocketResponse, "_post_start", lambda self, request, proto: None)
    refused = r"aiohttp \S+: the 32 KB WebSocket frame guard .*_post_start"
    with pytest.raises(PatchUnsafe, match=refused):
        asyncio.run(aiohttp_frames.verify())


def test_an_aiohttp_that_stops_reading_through_the_hook_stops_start_up(monkeypatch, unverified):
    prepare = web.WebSocketResponse.prepare

    async def unguarded(self: Any, request: Any) -> Any:
        writer = await prepare(self, request)
        request.protocol._payload_parser = self._parser  # a later aiohttp resets its parser
        return writer

    monkeypatch.setattr(web.WebSocketResponse, "prepare", unguarded)
    with pytest.raises(PatchUnsafe, match="will not run without it"):
        asyncio.run(aiohttp_frames.verify())
