"""Lambda's concurrency limit: the pure gate, the runtime that applies it, and what a client
of a running gateway sees when it floods a route (an error frame at once, not a 29 s wait)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import websocket

from gateway_adapter.lambda_runtime.concurrency import (
    ACCOUNT_LIMIT,
    DEFAULT_ACCOUNT_CONCURRENCY,
    REPORT_EVERY_S,
    RESERVED_LIMIT,
    ConcurrencyPool,
)
from gateway_adapter.lambda_runtime.runtime import FunctionThrottled, FunctionTimeout, LambdaRuntime
from serverless_model.config import ConfigError, Options
from serverless_model.service import load_service

from ..conftest import RunningGateway

FLOODED_YML = """
service: flooded
provider:
  name: aws
  timeout: 5
functions:
  slow:
    handler: probe_handlers.slow
    reservedConcurrency: 2
    events:
      - websocket: slow
  echo:
    handler: probe_handlers.echo
    events:
      - websocket:
          route: echo
          routeResponseSelectionExpression: $default
"""


SHUTDOWN_YML = """
service: shutdown
provider:
  name: aws
  timeout: 5
functions:
  disconnect:
    handler: probe_handlers.record
    reservedConcurrency: 1
    events:
      - websocket: $disconnect
"""


def test_functions_share_the_account_pool_and_a_reservation_caps_its_own() -> None:
    pool = ConcurrencyPool(5, {"small": 1, "off": 0}, min_unreserved=2)
    assert pool.unreserved == 4 and pool.limit("small") == 1 and pool.limit("f") == 4
    assert [pool.acquire("f") for _ in range(3)] == [None, None, None]
    assert pool.acquire("g") is None  # another function scales out of the same pool
    assert pool.acquire("g") == ACCOUNT_LIMIT  # the pool is spent: every unreserved one waits
    assert pool.acquire("small") is None  # the reservation is still there for its function
    assert pool.acquire("small") == RESERVED_LIMIT
    assert pool.acquire("off") == RESERVED_LIMIT  # reservedConcurrency 0 switches it off
    pool.release("f")
    assert pool.acquire("g") is None
    assert pool.in_flight("g") == 2 and pool.in_flight("f") == 2


def test_reservations_must_leave_the_unreserved_minimum() -> None:
    assert ConcurrencyPool().unreserved == DEFAULT_ACCOUNT_CONCURRENCY == 1000
    ConcurrencyPool(1000, {"a": 900})
    with pytest.raises(ValueError, match="at least 100 unreserved"):
        ConcurrencyPool(1000, {"a": 850, "b": 51})
    with pytest.raises(ValueError, match="at least 1"):
        ConcurrencyPool(0)


def test_throttles_are_reported_in_one_line_per_interval() -> None:
    limits = ConcurrencyPool(1, min_unreserved=0)
    assert limits.acquire("f") is None
    for _ in range(3):
        assert limits.acquire("f") is not None
    report = limits.report("f", 100.0)
    assert report is not None and report.throttled == 3
    assert "throttled 3 invocation(s) over its concurrency limit of 1" in report.line()
    assert "TooManyRequestsException, ConcurrentInvocationLimitExceeded" in report.line()
    assert limits.acquire("f") is not None
    assert limits.report("f", 100.0 + REPORT_EVERY_S / 2) is None
    later = limits.report("f", 100.0 + REPORT_EVERY_S)
    assert later is not None and later.throttled == 1
    assert limits.report("f", 200.0) is None  # nothing new


def test_a_forced_invocation_is_admitted_past_the_limit() -> None:
    limits = ConcurrencyPool(1, min_unreserved=0)
    assert limits.acquire("f") is None
    assert limits.acquire("f", force=True) is None and limits.in_flight("f") == 2
    assert limits.acquire("f") is not None


def test_reserved_concurrency_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(FLOODED_YML)
    service = load_service(path, Options(stage="t"))
    assert service.functions["slow"].reserved_concurrency == 2
    assert service.functions["echo"].reserved_concurrency is None
    path.write_text(FLOODED_YML.replace("reservedConcurrency: 2", "reservedConcurrency: -1"))
    with pytest.raises(ConfigError, match="reservedConcurrency"):
        load_service(path, Options(stage="t"))


def test_an_invocation_past_the_limit_is_throttled_at_once(tmp_path: Path) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(FLOODED_YML.replace("timeout: 5", "timeout: 0.3"))
    runtime = LambdaRuntime(load_service(path, Options(stage="t")), concurrency=3, min_unreserved=1)

    async def scenario() -> tuple[list[BaseException | None], float]:
        started = time.monotonic()
        first = asyncio.ensure_future(runtime.invoke("echo", {"body": "1"}))
        second = asyncio.ensure_future(runtime.invoke("echo", {"body": "2"}))
        try:
            await second
            outcomes: list[BaseException | None] = [None]
        except FunctionThrottled as error:
            outcomes = [error]
        took = time.monotonic() - started
        assert await first == {"statusCode": 200, "body": "1"}
        with pytest.raises(FunctionTimeout):  # the limit frees again after a timeout
            await runtime.invoke("slow", {})
        await runtime.close()
        return outcomes, took

    outcomes, took = asyncio.run(scenario())
    assert isinstance(outcomes[0], FunctionThrottled)
    assert "TooManyRequestsException" in str(outcomes[0])
    assert outcomes[0].reason == ACCOUNT_LIMIT and outcomes[0].status == 429
    assert took < 0.2


def test_a_flooded_route_answers_each_refused_frame_at_once(
    start_gateway: Callable[..., RunningGateway],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "serverless.yml"
    path.write_text(FLOODED_YML)
    gateway = start_gateway(path)
    ws = websocket.create_connection(gateway.url, timeout=5)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, "gateway_adapter.lambda_runtime.runtime"):
        for _ in range(6):
            ws.send(json.dumps({"action": "slow"}))
        frames = [json.loads(ws.recv()) for _ in range(4)]
        took = time.monotonic() - started
    assert {f["message"] for f in frames} == {"Internal server error"}
    assert took < 1.0  # the two admitted run 1.5 s; the refusals do not wait for them
    throttled = [r for r in caplog.records if "throttled" in r.getMessage()]
    assert 1 <= len(throttled) <= 2 and not any(r.exc_info for r in throttled)
    ws.send(json.dumps({"action": "echo", "n": 1}))  # the connection is still fine
    assert json.loads(ws.recv()) == {"action": "echo", "n": 1}
    ws.close()


def test_the_gateways_own_shutdown_runs_every_disconnect(
    start_gateway: Callable[..., RunningGateway], tmp_path: Path
) -> None:
    import probe_handlers

    path = tmp_path / "serverless.yml"
    path.write_text(SHUTDOWN_YML)
    probe_handlers.EVENTS.clear()
    gateway = start_gateway(path)
    sockets = [websocket.create_connection(gateway.url, timeout=5) for _ in range(5)]
    deadline = time.monotonic() + 5
    while len(gateway.gateway.connections) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    gateway.stop()  # five $disconnect at once, a limit of one: none may be throttled
    disconnects = [
        e for e in probe_handlers.EVENTS if e["requestContext"]["eventType"] == "DISCONNECT"
    ]
    assert len(disconnects) == 5
    for ws in sockets:
        ws.close()


BUSY_YML = """
service: busy
provider:
  name: aws
  timeout: 5
functions:
  slow:
    handler: probe_handlers.slow
  echo:
    handler: probe_handlers.echo
"""


def test_a_flooded_function_queues_behind_itself_and_the_others_answer(tmp_path: Path) -> None:
    """Two local threads per function: ten slow invocations at once are all admitted (the
    account pool holds them) and served in turn, while another function answers at once."""
    path = tmp_path / "serverless.yml"
    path.write_text(BUSY_YML)
    runtime = LambdaRuntime(load_service(path, Options(stage="t")), max_workers=2)

    async def scenario() -> tuple[list[object], float, float]:
        started = time.monotonic()
        flood = [asyncio.ensure_future(runtime.invoke("slow", {})) for _ in range(6)]
        await asyncio.sleep(0.05)
        assert runtime.limits.in_flight("slow") == 6  # admitted, four of them waiting locally
        assert await runtime.invoke("echo", {"body": "x"}) == {"statusCode": 200, "body": "x"}
        echo_took = time.monotonic() - started
        outcomes = await asyncio.gather(*flood, return_exceptions=True)
        took = time.monotonic() - started
        await runtime.close()
        return outcomes, echo_took, took

    outcomes, echo_took, took = asyncio.run(scenario())
    assert outcomes == [None] * 6  # served, not refused, none timed out while waiting
    assert echo_took < 0.5
    assert 4.4 < took < 8  # three turns of 1.5 s on two threads
