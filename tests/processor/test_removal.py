"""Removing gone connections from the processor's loop: the signed client and the store's own
boto3 client remove the same items from the embedded backend, and a removal that fails is
logged, never raised."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiobotocore.session import get_session

from gateway_adapter.embedded.backend import free_port
from messages import Subscription
from processor.json_api import SignedJsonApi
from processor.removal import SignedRemoval, ThreadedRemoval, remove_logged
from processor.runtime import LoopThread
from processor.sigv4 import SigV4Signer
from processor.store import Connection, ConnectionStore
from processor.transport import SessionCredentials

REGION = "us-east-1"


@pytest.fixture(scope="module")
def loop_thread() -> Iterator[LoopThread]:
    yield LoopThread("test-removal")


def lean(endpoint: str, **options: Any) -> SignedJsonApi:
    return SignedJsonApi(
        endpoint, SessionCredentials(get_session()), SigV4Signer(REGION, "dynamodb"), **options
    )


def load(store: ConnectionStore, prefix: str, count: int, subscriptions: int) -> list[str]:
    ids = [f"{prefix}{number}=" for number in range(count)]
    store.put_many(
        (
            Connection(cid, "127.0.0.1:3001", "local", "viewer", "s", 0),
            [Subscription.from_dict({"event_type": "NESClick"})] * subscriptions,
        )
        for cid in ids
    )
    return ids


@pytest.mark.parametrize("kind", ["signed", "threaded"])
def test_both_remove_every_item_of_every_connection(store, stored, loop_thread, aws_endpoint, kind):
    ids = load(store, kind, 20, 1) + load(store, f"{kind}-many", 1, 30)  # past one batch of 25
    api = lean(aws_endpoint)
    removal = SignedRemoval(store, api) if kind == "signed" else ThreadedRemoval(store)
    try:
        written = loop_thread.run(removal.remove([*ids, ids[0]]), 30)
    finally:
        loop_thread.run(api.close())
    assert written == 20 * 2 + 31
    assert all(stored.items(cid) == [] for cid in ids)


def test_a_failed_removal_is_logged_not_raised(store, loop_thread, log_lines):
    api = lean(f"http://127.0.0.1:{free_port()}", max_attempts=2)
    try:
        written = loop_thread.run(remove_logged(SignedRemoval(store, api), ["a=", "b="]), 30)
    finally:
        loop_thread.run(api.close())
    assert written is None
    line = log_lines[-1]
    assert line["level"] == "WARNING" and line["connections"] == 2
    assert line["error"] == "ClientError"
