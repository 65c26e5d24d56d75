"""The connection store against the embedded DynamoDB."""

from __future__ import annotations

import pytest

from messages import Subscription
from processor.store import (
    CONNECTION_TTL_S,
    Connection,
    ConnectionNotFound,
    ConnectionStore,
)


def conn(cid: str) -> Connection:
    return Connection(cid, "127.0.0.1:3001", "test", "viewer", "v", 1_700_000_000_000)


def subs(*raws: dict) -> list[Subscription]:
    return [Subscription.from_dict(raw) for raw in raws]


def test_put_connection_with_ttl(store, stored):
    store.put_connection(conn("a="))
    assert len(stored.items("a=")) == 1
    found = stored.connection("a=")
    assert (found["domain_name"], found["stage"], found["role"], found["subject"]) == (
        "127.0.0.1:3001",
        "test",
        "viewer",
        "v",
    )
    assert (found["connected_at"], found["sub_version"]) == ("1700000000000", "0")
    assert int(found["expires_at"]) >= CONNECTION_TTL_S + 1_700_000_000
    assert stored.connection("nobody") is None


def test_replace_subscriptions_as_one_unit(store, stored):
    store.put_connection(conn("a="))
    store.replace_subscriptions(
        "a=",
        subs(
            {"event_type": "NESClick", "filter_field": "color", "filter_expr": "red"},
            {"event_type": "DashClick"},
            {"event_type": "NESClick", "desired_fields": ["button"]},
        ),
    )
    assert stored.subscribed_types("a=") == ["NESClick", "DashClick", "NESClick"]
    store.replace_subscriptions("a=", subs({"event_type": "PhotoUpload"}))
    assert stored.subscribed_types("a=") == ["PhotoUpload"]
    assert store.subscribers("NESClick").subscribers == []
    assert stored.connection("a=")["sub_version"] == "2"  # every replacement bumps it


def test_replace_for_an_unknown_connection_changes_nothing(store):
    with pytest.raises(ConnectionNotFound):
        store.replace_subscriptions("ghost=", subs({"event_type": "NESClick"}))
    assert store.subscribers("NESClick").subscribers == []


def test_subscribers_come_from_the_index_in_client_order(store):
    for cid in ("a=", "b=", "c="):
        store.put_connection(conn(cid))
    red = {"event_type": "NESClick", "filter_field": "color", "filter_expr": "red"}
    every = {"event_type": "NESClick", "desired_fields": ["color", "button"]}
    store.replace_subscriptions("a=", subs(red, {"event_type": "DashClick"}, every))
    store.replace_subscriptions("b=", subs({"event_type": "DashClick"}))
    store.replace_subscriptions("c=", subs(every))
    lookup = store.subscribers("NESClick")
    by_id = {s.connection_id: s for s in lookup.subscribers}
    assert set(by_id) == {"a=", "c="}
    assert by_id["a="].subscriptions == tuple(subs(red, every))
    assert (by_id["a="].domain_name, by_id["a="].stage) == ("127.0.0.1:3001", "test")
    assert lookup.items == 3  # only NESClick subscription items were read
    assert store.subscribers("TranscribeEvent").subscribers == []


def test_a_lookup_counts_what_dynamodb_bills_for_it(store):
    store.put_many((conn(f"c{i:03d}="), subs({"event_type": "NESClick"})) for i in range(100))
    lookup = store.subscribers("NESClick")
    assert lookup.items == 100 and lookup.item_bytes > 100 * 100
    # one eventually consistent Query: half a unit per started 4 KB of the items it read
    assert lookup.read_units == 0.5 * -(-lookup.item_bytes // 4096)
    assert store.subscribers("TranscribeEvent").read_units == 0.5


def test_lookup_is_paginated(processor_env, dynamodb):
    small_pages = ConnectionStore(
        dynamodb,
        processor_env.functions["subscribe"].environment["CONNECTIONS_TABLE"],
        page_size=2,
    )
    small_pages.put_many((conn(f"c{i}="), subs({"event_type": "NESClick"})) for i in range(5))
    lookup = small_pages.subscribers("NESClick")
    assert len(lookup.subscribers) == 5
    assert lookup.pages >= 3


def test_expired_subscriptions_are_skipped(processor_env, dynamodb):
    table = processor_env.functions["subscribe"].environment["CONNECTIONS_TABLE"]
    past = ConnectionStore(dynamodb, table, clock=lambda: 1_000_000.0)
    past.put_many([(conn("old="), subs({"event_type": "NESClick"}))])
    assert ConnectionStore(dynamodb, table).subscribers("NESClick").subscribers == []


def test_delete_connection_removes_every_item(store, stored):
    store.put_connection(conn("a="))
    store.put_connection(conn("b="))
    store.replace_subscriptions("a=", subs(*[{"event_type": "NESClick"}] * 20))
    store.replace_subscriptions("b=", subs({"event_type": "NESClick"}))
    assert store.delete_connection("a=") == 21
    assert stored.items("a=") == []
    assert [s.connection_id for s in store.subscribers("NESClick").subscribers] == ["b="]


def test_delete_many_in_chunks(store, dynamodb):
    store.put_many((conn(f"c{i}="), subs({"event_type": "DashClick"})) for i in range(30))
    assert store.delete_connections([f"c{i}=" for i in range(30)] + ["c0="]) == 60
    assert store.subscribers("DashClick").subscribers == []


def test_unprocessed_items_are_retried(processor_env):
    """A DynamoDB that takes one request per call still gets every delete."""

    class Stingy:
        def __init__(self) -> None:
            self.calls = 0

        def query(self, **request):
            return {
                "Items": [{"connection_id": {"S": "x"}, "item": {"S": f"i{i}"}} for i in range(3)]
            }

        def batch_write_item(self, RequestItems):
            self.calls += 1
            ((table, requests),) = RequestItems.items()
            return {"UnprocessedItems": {table: requests[1:]} if requests[1:] else {}}

    stingy = Stingy()
    ConnectionStore(stingy, "t", sleep=lambda s: None).delete_connection("x")
    assert stingy.calls == 3


def test_a_replacement_based_on_a_stale_read_changes_nothing(store, stored):
    """Two subscribes racing: the one that read the older version loses and re-reads."""
    store.put_connection(conn("a="))
    stale = store._connection_record("a=")
    store.replace_subscriptions("a=", subs({"event_type": "DashClick"}))
    assert store._try_replace(stale, subs({"event_type": "NESClick"})) is False
    assert stored.subscribed_types("a=") == ["DashClick"]
    store.replace_subscriptions("a=", subs({"event_type": "NESClick"}))  # re-reads: succeeds
    assert stored.subscribed_types("a=") == ["NESClick"]
