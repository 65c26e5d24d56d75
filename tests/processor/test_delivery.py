"""Delivery to a stand-in @connections API on loopback that verifies SigV4, through both
clients: the lean signed path and aiobotocore's, which must mean the same thing."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.session import get_session

from gateway_adapter.embedded.backend import free_port
from processor.connections_api import SignedConnectionsApi
from processor.delivery import BotocoreConnectionsApi, Deliverer
from processor.fanout import MAX_POST_BYTES, Answer, OverflowRule, Post, RetryPolicy
from processor.runtime import ClientPool, LoopThread
from processor.sigv4 import SigV4Signer
from processor.transport import SessionCredentials

REGION = "us-east-1"


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    yield LoopThread("test-delivery")


def signed_api(session: Any = None) -> tuple[Any, Any]:
    api = SignedConnectionsApi(SessionCredentials(session or get_session()), SigV4Signer(REGION), 8)
    return api, api.close


def botocore_api() -> tuple[Any, Any]:
    config = AioConfig(retries={"total_max_attempts": 1})
    pool = ClientPool(get_session(), "apigatewaymanagementapi", config)
    return BotocoreConnectionsApi(pool.get), pool.close


@pytest.fixture(params=["signed", "botocore"])
def deliver(request, loop_thread, connections, aws_endpoint):
    api, close = signed_api() if request.param == "signed" else botocore_api()
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    def run(posts, **options):
        deliverer = Deliverer(api, sleep=no_sleep, **options)
        return loop_thread.run(deliverer.deliver(posts), 30)

    run.slept = slept
    run.api = api
    yield run
    loop_thread.run(close())


def post(sink, cid: str, data: bytes = b"{}", tag: int = 0) -> Post:
    return Post(cid, f"http://{sink.domain_name}/test", data, tag)


def test_frames_reach_their_connections_in_order(deliver, connections):
    ids = ["c0", "L0SM9cOFvHcCIhw=", "Ab+/c=d"]
    posts = [post(connections, ids[i % 3], f'{{"n":{i}}}'.encode(), i) for i in range(30)]
    report = deliver(posts, concurrency=4)
    assert report.delivered == 30 and report.failed == 0
    assert connections.forbidden == 0  # every request carried a valid signature
    for c, cid in enumerate(ids):
        assert [f["n"] for f in connections.received(cid)] == list(range(c, 30, 3))


def test_gone_connections_are_reported_and_skipped(deliver, connections):
    connections.gone.add("dead")
    report = deliver(
        [post(connections, "dead"), post(connections, "dead"), post(connections, "ok")]
    )
    assert report.gone_ids == {"dead"}
    assert report.delivered == 1 and report.failed == 0
    assert connections.posts == 2  # the second frame to a gone connection is not sent


def test_brief_overflows_and_5xx_are_retried_with_backoff(deliver, connections):
    connections.throttle["busy"] = 2
    connections.fail_5xx["flaky"] = 1
    report = deliver([post(connections, "busy"), post(connections, "flaky")])
    assert report.delivered == 2 and report.failed == 0 and report.dropped == 0
    assert len(deliver.slept) == 3
    assert len(connections.received("busy")) == 1


def test_endpoint_failures_that_outlive_retries_name_the_event(deliver, connections):
    connections.fail_5xx["broken"] = connections.fail_5xx["also-broken"] = 100
    report = deliver(
        [post(connections, "broken", tag=5), post(connections, "also-broken", tag=6)],
        policy=RetryPolicy(max_attempts=3),
    )
    assert report.failed == 2 and report.failed_tags == {5, 6} and report.abandoned == 0
    assert connections.posts == 6


def test_a_5xx_for_one_connection_while_others_are_served_loses_only_its_frame(
    deliver, connections
):
    connections.fail_5xx["broken"] = 100
    report = deliver(
        [post(connections, "broken", tag=5), post(connections, "ok", tag=5)],
        policy=RetryPolicy(max_attempts=3),
    )
    assert report.abandoned == 1 and report.failed == 0 and report.failed_tags == set()
    assert report.delivered == 1 and connections.posts == 4


def test_a_client_not_reading_loses_its_frame_not_the_record(deliver, connections):
    connections.throttle["stalled"] = 100
    report = deliver(
        [post(connections, "stalled", tag=5), post(connections, "ok", tag=5)],
        policy=RetryPolicy(overflow_attempts=3),
    )
    assert report.dropped == 1 and report.failed == 0 and report.failed_tags == set()
    assert report.delivered == 1
    assert connections.posts == 4  # three brief tries for the stalled one, one for the other
    assert max(deliver.slept) <= RetryPolicy().overflow_cap_s


def test_after_a_drop_the_rest_of_the_batch_gets_one_try_each(deliver, connections):
    connections.throttle["stalled"] = 100
    posts = [post(connections, "stalled", tag=i) for i in range(4)]
    report = deliver(posts, policy=RetryPolicy(overflow_attempts=3), overflow=OverflowRule(50))
    assert report.dropped == 4 and report.failed_tags == set()
    assert connections.posts == 3 + 3


def test_a_reader_that_never_reads_is_disconnected(deliver, connections):
    connections.throttle["stalled"] = 1000
    rule = OverflowRule(limit=3)
    posts = [post(connections, "stalled", tag=i) for i in range(10)]
    posts += [post(connections, "ok", tag=i) for i in range(10)]
    report = deliver(posts, overflow=rule)
    assert report.closed_ids == {"stalled"} and connections.deleted == ["stalled"]
    assert report.dropped == 10 and report.delivered == 10 and report.failed_tags == set()
    assert rule.count("stalled") == 0


def test_drops_count_across_invocations_and_a_delivery_resets_them(deliver, connections):
    rule = OverflowRule(limit=3)
    connections.throttle["slow"] = 1000
    for _ in range(2):
        assert deliver([post(connections, "slow")], overflow=rule).dropped == 1
    connections.throttle["slow"] = 0
    assert deliver([post(connections, "slow")], overflow=rule).delivered == 1
    connections.throttle["slow"] = 1000
    for _ in range(2):
        assert deliver([post(connections, "slow")], overflow=rule).closed_ids == set()
    assert deliver([post(connections, "slow")], overflow=rule).closed_ids == {"slow"}


def test_oversized_frames_are_rejected_without_a_post(deliver, connections):
    report = deliver([post(connections, "big", b"x" * (MAX_POST_BYTES + 1))])
    assert report.rejected == 1 and connections.posts == 0
    assert report.rejected_codes == {"PayloadTooLargeException": 1}


def test_unreachable_endpoint_is_a_retryable_failure(deliver, connections):
    dead = Post("c", f"http://127.0.0.1:{free_port()}/test", b"{}", 9)
    report = deliver([dead], policy=RetryPolicy(max_attempts=2))
    assert report.failed_tags == {9}


def test_a_wrong_signature_is_reported_as_403(loop_thread, connections, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    api, close = signed_api()
    try:
        report = loop_thread.run(Deliverer(api).deliver([post(connections, "c")]), 30)
    finally:
        loop_thread.run(close())
    assert report.rejected == 1 and report.rejected_codes == {"ForbiddenException": 1}
    assert connections.forbidden == 1 and report.failed_tags == set()


class RotatingSession:
    """A session whose chain gives refreshable credentials (as an STS role does) that expire
    at once; the sink accepts only the keys of the second issue."""

    def __init__(self) -> None:
        self.issued = 0

    async def _fetch(self) -> dict[str, str]:
        self.issued += 1
        expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
            seconds=1 if self.issued == 1 else 3600
        )
        secret = "test" if self.issued > 1 else "old"
        return {
            "access_key": "test",
            "secret_key": secret,
            "token": f"token-{self.issued}",
            "expiry_time": expiry.isoformat(),
        }

    async def get_credentials(self) -> AioRefreshableCredentials:
        return AioRefreshableCredentials.create_from_metadata(
            await self._fetch(), self._fetch, "sts-assume-role"
        )


def test_refreshable_credentials_are_refreshed_before_signing(loop_thread, connections):
    session = RotatingSession()
    api, close = signed_api(session)
    try:
        report = loop_thread.run(Deliverer(api).deliver([post(connections, "c")]), 30)
    finally:
        loop_thread.run(close())
    # Within botocore's refresh window of the first keys, so the second issue signs.
    assert session.issued == 2
    assert report.delivered == 1 and connections.forbidden == 0


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        Deliverer(BotocoreConnectionsApi(lambda endpoint: None), concurrency=0)


def test_concurrency_is_bounded(loop_thread):
    active = peak = 0

    class SlowApi:
        async def post(self, endpoint: str, connection_id: str, data: bytes) -> Answer:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.001)
            active -= 1
            return Answer(200)

        async def delete(self, endpoint: str, connection_id: str) -> Answer:
            return Answer(204)

    posts = [Post(f"c{i}", "http://x", b"{}", 0) for i in range(50)]
    report = loop_thread.run(Deliverer(SlowApi(), concurrency=8).deliver(posts), 30)
    assert report.delivered == 50 and peak == 8


def test_a_fan_out_that_outlives_its_invocation_is_cancelled(loop_thread):
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


def test_every_subscriber_gets_its_first_frame_before_anyone_gets_a_second(loop_thread):
    """Round robin over connections, one post in flight per connection: order kept, and
    `concurrency` posts in flight until fewer connections have frames left."""
    sent: list[tuple[str, bytes]] = []
    in_flight: set[str] = set()

    class RecordingApi:
        async def post(self, endpoint: str, connection_id: str, data: bytes) -> Answer:
            assert connection_id not in in_flight  # never two posts at once to one client
            in_flight.add(connection_id)
            await asyncio.sleep(0.001)
            in_flight.discard(connection_id)
            sent.append((connection_id, data))
            return Answer(200)

        async def delete(self, endpoint: str, connection_id: str) -> Answer:
            return Answer(204)

    posts = [Post(f"c{c}", "http://x", b"%d" % n, n) for n in range(3) for c in range(4)]
    report = loop_thread.run(Deliverer(RecordingApi(), concurrency=2).deliver(posts), 30)
    assert report.delivered == 12
    assert {data for _, data in sent[:4]} == {b"0"}
    for c in range(4):
        assert [data for cid, data in sent if cid == f"c{c}"] == [b"0", b"1", b"2"]


def test_no_credentials_is_a_clear_error_of_the_whole_fan_out(loop_thread, connections):
    class NoCredentials:
        def get_credentials(self) -> None:
            return None

    api, close = signed_api(NoCredentials())
    try:
        with pytest.raises(RuntimeError, match="no AWS credentials"):
            loop_thread.run(Deliverer(api).deliver([post(connections, "c")]), 30)
    finally:
        loop_thread.run(close())
    assert connections.posts == 0


def batch(sink, cid: str, tags: tuple[int, ...], data: bytes = b'{"frames":[]}') -> Post:
    return Post(cid, f"http://{sink.domain_name}/test", data, tags[0], tags[1:])


def test_a_batched_frame_counts_one_frame_and_its_events(deliver, connections):
    report = deliver([batch(connections, "b", (0, 1, 2)), post(connections, "t", tag=0)])
    assert report.delivered == 2 and report.events_delivered == 4
    assert connections.posts == 2


def test_a_failed_batched_post_fails_exactly_the_records_it_carried_once(deliver, connections):
    connections.fail_5xx["b"] = connections.fail_5xx["c"] = 100
    report = deliver(
        [
            batch(connections, "b", (0, 1, 2)),
            batch(connections, "b", (3,)),  # the rest of the same batch, split at 32 KB
            batch(connections, "c", (1, 2)),
        ],
        policy=RetryPolicy(max_attempts=2),
    )
    assert report.failed_tags == {0, 1, 2, 3}
    assert report.failed == 3 and report.delivered == 0 and report.events_delivered == 0
    assert connections.posts == 6  # each post its own retries, nothing sent twice more


def test_one_connections_failed_batch_stays_with_it(deliver, connections):
    connections.fail_5xx["broken"] = 100
    connections.gone.add("gone")
    report = deliver(
        [
            batch(connections, "broken", (4, 5)),
            batch(connections, "gone", (4, 5)),
            batch(connections, "gone", (6,)),
            batch(connections, "ok", (4, 5)),
        ],
        policy=RetryPolicy(max_attempts=2),
    )
    assert report.failed_tags == set() and report.abandoned == 1
    assert report.gone_ids == {"gone"} and report.delivered == 1 and report.events_delivered == 2
    assert connections.posts == 4  # 2 for broken, 1 for gone (its second frame not sent), 1 ok


def test_an_oversized_batched_post_is_rejected_like_any_frame(deliver, connections):
    report = deliver([batch(connections, "b", (0, 1), b"x" * (MAX_POST_BYTES + 1))])
    assert report.rejected == 1 and report.failed_tags == set()
    assert report.rejected_codes == {"PayloadTooLargeException": 1}
