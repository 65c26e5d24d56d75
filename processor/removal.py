"""Removing the connections a fan-out found gone (410) or closed (never reading), on the
processor's loop with the posts: through the lean signed client (processor.json_api), or, as
the reference, through the store's own boto3 client in a worker thread. Both send the store's
requests (processor.store: one consistent key Query per connection, then BatchWriteItem
DeleteRequests of at most 25 keys, unprocessed ones resent with backoff), so the table sees
the same calls either way.

A removal that fails is logged and never fails the fan-out: the posts were made, and a
connection left behind answers 410 again next time (or its TTL removes it)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from .json_api import SignedJsonApi
from .logs import warn
from .store import (
    BATCH_WRITE_LIMIT,
    MAX_BATCH_ATTEMPTS,
    ConnectionStore,
    StoreError,
    batch_retry_s,
)

__all__ = ["GoneRemoval", "SignedRemoval", "ThreadedRemoval", "remove_logged"]

# What a removal may fail with: DynamoDB's refusal, no answer, or throttling past the retries.
_FAILURES = (ClientError, BotoCoreError, StoreError, OSError, TimeoutError)


class GoneRemoval(Protocol):
    async def remove(self, connection_ids: Sequence[str]) -> int:
        """Removes the connections and every item they own; how many items went."""
        ...


class SignedRemoval:
    def __init__(
        self,
        store: ConnectionStore,
        api: SignedJsonApi,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._api = api
        self._sleep = sleep
        self._draw = draw

    async def remove(self, connection_ids: Sequence[str]) -> int:
        keys: list[dict[str, Any]] = []
        for connection_id in dict.fromkeys(connection_ids):
            request = self._store.item_keys_request(connection_id)
            while True:
                response = await self._api.call("Query", request)
                keys.extend(response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        for start in range(0, len(keys), BATCH_WRITE_LIMIT):
            await self._batch_write(
                self._store.delete_requests(keys[start : start + BATCH_WRITE_LIMIT])
            )
        return len(keys)

    async def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        table = self._store.table
        for attempt in range(MAX_BATCH_ATTEMPTS):
            response = await self._api.call("BatchWriteItem", {"RequestItems": {table: requests}})
            requests = response.get("UnprocessedItems", {}).get(table, [])
            if not requests:
                return
            await self._sleep(batch_retry_s(attempt, self._draw()))
        raise StoreError(f"{len(requests)} writes still unprocessed after retries")


class ThreadedRemoval:
    """The store's boto3 calls, off the loop so other fan-outs' posts keep going meanwhile."""

    def __init__(self, store: ConnectionStore) -> None:
        self._store = store

    async def remove(self, connection_ids: Sequence[str]) -> int:
        return await asyncio.to_thread(self._store.delete_connections, list(connection_ids))


async def remove_logged(removal: GoneRemoval, connection_ids: Sequence[str]) -> int | None:
    """The items removed, or None when the removal failed (logged, never raised)."""
    try:
        return await removal.remove(connection_ids)
    except _FAILURES as exc:
        warn(
            "fanout",
            "could not remove gone connections",
            connections=len(connection_ids),
            error=type(exc).__name__,
            reason=str(exc),
        )
        return None
