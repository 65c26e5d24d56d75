from __future__ import annotations

import asyncio
import time

import aiobotocore.session
import pytest

from gateway_adapter.esm.leases import (
    SHARD_END,
    TRIM_HORIZON,
    LeaseLost,
    LeaseTable,
    fair_share,
    lease_key,
)

TABLE = "leases-test"


def test_fair_share():
    assert fair_share(4, 2) == 2
    assert fair_share(3, 2) == 2
    assert fair_share(1, 3) == 1
    assert fair_share(5, 0) == 5


def test_lease_key_names_the_mapping_and_the_shard():
    assert lease_key("fn", "arn:s", "shardId-1") == "fn|arn:s|shardId-1"


async def _tables(duration: float):
    session = aiobotocore.session.get_session()
    client = await session.create_client("dynamodb", region_name="us-east-1").__aenter__()
    first = LeaseTable(client, TABLE, "runner-a", duration)
    second = LeaseTable(client, TABLE, "runner-b", duration)
    await first.ensure_table()
    await second.ensure_table()  # a second create is harmless
    return client, first, second


def test_only_one_runner_holds_a_lease_and_expiry_allows_takeover(fresh_aws):
    async def scenario():
        # Two seconds of lease: long enough that the held-lease checks below never
        # see it expire on a loaded CI machine (0.5 s did, once), short enough to wait out.
        client, a, b = await _tables(2.0)
        try:
            await a.create("k", "shardId-0", TRIM_HORIZON, ("shardId-p",))
            await b.create("k", "shardId-0", "999")  # exists: left as it is
            a_view = (await a.scan())[0]["k"]
            b_view = (await b.scan())[0]["k"]
            assert a_view.checkpoint == TRIM_HORIZON
            assert a_view.parents == ("shardId-p",)
            await a.take(a_view)
            with pytest.raises(LeaseLost):
                await b.take(b_view)  # stale counter
            b_view = (await b.scan())[0]["k"]
            assert b_view.owner == "runner-a"
            assert not b_view.available("runner-b", time.time())
            with pytest.raises(LeaseLost):
                await b.take(b_view)  # held and not expired
            await a.renew(a_view)
            await a.checkpoint(a_view, "17")
            await asyncio.sleep(2.1)
            b_view = (await b.scan())[0]["k"]
            assert b_view.available("runner-b", time.time())
            await b.take(b_view)
            with pytest.raises(LeaseLost):
                await a.checkpoint(a_view, "18")  # the old owner's write is refused
            with pytest.raises(LeaseLost):
                await a.renew(a_view)
            row = (await a.scan())[0]["k"]
            assert (row.owner, row.checkpoint) == ("runner-b", "17")
            await b.checkpoint(b_view, SHARD_END)
            await b.release(b_view)
            row = (await a.scan())[0]["k"]
            assert row.owner is None
            assert row.checkpoint == SHARD_END
            await a.take(row)  # released: free at once, no expiry wait
        finally:
            await client.__aexit__(None, None, None)

    asyncio.run(scenario())


def test_worker_heartbeats(fresh_aws):
    async def scenario():
        client, a, b = await _tables(5)
        try:
            await a.heartbeat()
            await b.heartbeat()
            leases, workers = await a.scan()
            assert leases == {}
            assert set(workers) == {"runner-a", "runner-b"}
            await b.retire()
            assert set((await a.scan())[1]) == {"runner-a"}
        finally:
            await client.__aexit__(None, None, None)

    asyncio.run(scenario())
