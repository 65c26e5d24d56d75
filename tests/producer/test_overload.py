"""WebSocket submits under overload (issue 12): the gateway throttles what its functions
cannot run at once and answers each throttled submit with an error frame at once; the
producer counts those answers, so every submit it sent is either delivered or reported."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from messages.tokens import with_token
from producer.config import token_source
from producer.shipper import Shipper, Summary
from producer.simulate import nes_click
from producer.websocket import WebSocketPath
from serverless_model.service import Service

from ..spectator.stack import SECRET
from .test_end_to_end import Gateway, Spectator, running_gateway
from .test_websocket import QUICK

pytestmark = pytest.mark.slow

BURST = 300
CONCURRENCY = 2


@pytest.fixture
def gateway(tumble_service: Service, tmp_path: Path) -> Iterator[Gateway]:
    """Tumble's gateway allowing only CONCURRENCY invocations of each function at once."""
    with running_gateway(tmp_path, ["--no-triggers", "--concurrency", str(CONCURRENCY)]) as gw:
        yield gw


def test_a_burst_past_the_concurrency_is_refused_at_once_and_counted(gateway: Gateway) -> None:
    spectator = Spectator(gateway.url)
    token = token_source(None, lambda: None, {"TUMBLE_TOKEN_SECRET": SECRET})
    shipper = Shipper(None, WebSocketPath(lambda: with_token(gateway.url, token()), policy=QUICK))

    async def burst() -> tuple[Summary, float]:
        shipper.start()
        assert shipper.websocket is not None
        await asyncio.wait_for(shipper.websocket.connected.wait(), 20)
        for n in range(BURST):
            await shipper.submit(nes_click("red", "A" if n % 2 else "B"), kinesis=False)
        started = time.monotonic()
        summary = await shipper.close(20)
        return summary, time.monotonic() - started

    summary, took = asyncio.run(burst())
    assert summary.websocket_sent == BURST
    assert summary.websocket_failed > 0, gateway.tail()  # throttled, and the producer knows
    assert summary.websocket_refused == 0
    assert took < 10  # no 29 s integration timeout anywhere
    assert any("websocket errors: failed" in line for line in summary.lines())
    # Read until nothing more comes (an id never sent is never seen: read_until just reads).
    spectator.read_until({("never sent", "websocket")}, timeout_s=3)
    spectator.close()
    # Every submit is accounted for: delivered to the spectator, or answered as failed.
    assert len(spectator.frames) == summary.websocket_unanswered
    assert len(spectator.frames) + summary.websocket_failed == BURST
