"""Delivery through aiobotocore to a stand-in @connections API on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from processor.delivery import Deliverer
from processor.fanout import MAX_POST_BYTES, Post
from processor.runtime import ClientPool, LoopThread


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    yield LoopThread("test-delivery")


@pytest.fixture
def deliver(loop_thread, connections, aws_endpoint):
    config = AioConfig(retries={"total_max_attempts": 1})
    pool = ClientPool(get_session(), "apigatewaymanagementapi", config)
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    def run(posts, **options):
        deliverer = Deliverer(pool.get, sleep=no_sleep, **options)
        return loop_thread.run(deliverer.deliver(posts), 30)

    run.slept = slept
    yield run
    loop_thread.run(pool.close())


def post(sink, cid: str, data: bytes = b"{}", tag: int = 0) -> Post:
    return Post(cid, f"http://{sink.domain_name}/test", data, tag)


def test_frames_reach_their_connections_in_order(deliver, connections):
    posts = [post(connections, f"c{i % 3}", f'{{"n":{i}}}'.encode(), i) for i in range(30)]
    report = deliver(posts, concurrency=4)
    assert report.delivered == 30 and report.failed == 0
    for c in range(3):
        assert [f["n"] for f in connections.received(f"c{c}")] == list(range(c, 30, 3))


def test_gone_connections_are_reported_and_skipped(deliver, connections):
    connections.gone.add("dead")
    report = deliver(
        [post(connections, "dead"), post(connections, "dead"), post(connections, "ok")]
    )
    assert report.gone == {"dead"}
    assert report.delivered == 1 and report.failed == 0
    assert connections.posts == 2  # the second frame to a gone connection is not sent


def test_throttled_posts_are_retried_with_backoff(deliver, connections):
    connections.throttle["busy"] = 2
    connections.fail_5xx["flaky"] = 1
    report = deliver([post(connections, "busy"), post(connections, "flaky")])
    assert report.delivered == 2 and report.failed == 0
    assert len(deliver.slept) == 3 and report.attempts == 5  # 2 posts, 3 retries
    assert len(connections.received("busy")) == 1


def test_retries_run_out_and_name_the_event(deliver, connections):
    connections.throttle["busy"] = 100
    report = deliver(
        [post(connections, "busy", tag=5), post(connections, "ok", tag=6)], max_attempts=3
    )
    assert report.failed == 1 and report.failed_tags == {5}
    assert report.delivered == 1


def test_oversized_frames_are_rejected_without_a_post(deliver, connections):
    report = deliver([post(connections, "big", b"x" * (MAX_POST_BYTES + 1))])
    assert report.rejected == 1 and connections.posts == 0


def test_unreachable_endpoint_is_a_retryable_failure(deliver, connections):
    from gateway_adapter.embedded import free_port

    dead = Post("c", f"http://127.0.0.1:{free_port()}/test", b"{}", 9)
    report = deliver([dead], max_attempts=2)
    assert report.failed_tags == {9}


def test_bad_settings_are_refused():
    async def client_for(endpoint: str) -> None:
        return None

    with pytest.raises(ValueError, match="at least 1"):
        Deliverer(client_for, concurrency=0)


def test_concurrency_is_bounded(loop_thread):
    active = peak = 0

    class SlowClient:
        async def post_to_connection(self, ConnectionId, Data):
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.001)
            active -= 1

    async def client_for(endpoint: str) -> SlowClient:
        return SlowClient()

    posts = [Post(f"c{i}", "http://x", b"{}", 0) for i in range(50)]
    report = loop_thread.run(Deliverer(client_for, concurrency=8).deliver(posts), 30)
    assert report.delivered == 50 and peak == 8


def test_a_fan_out_that_outlives_its_invocation_is_cancelled(loop_thread):
    import concurrent.futures

    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(concurrent.futures.TimeoutError):
        loop_thread.run(forever(), timeout_s=0.05)
    loop_thread.run(asyncio.wait_for(cancelled.wait(), 5))
