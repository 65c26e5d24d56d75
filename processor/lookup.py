"""The subscriber lookup as the fan-out awaits it, on the processor's loop: through the lean
signed Query (processor.json_api) or, as the reference, through the store's own boto3
client in a worker thread. Both send the store's request and read its pages the same way
(processor.store.LookupPages), so they give the same Lookup.

No cache here, on purpose: on AWS several warm containers run at once, and a subscriber
acknowledged by any of them must receive every later event from every other, so each event
reads the table as it is now."""

from __future__ import annotations

import asyncio
from typing import Protocol

from .json_api import SignedJsonApi
from .store import ConnectionStore, Lookup

__all__ = ["SignedLookup", "SubscriberLookup", "ThreadedLookup"]


class SubscriberLookup(Protocol):
    async def subscribers(self, event_type: str) -> Lookup: ...


class SignedLookup:
    def __init__(self, store: ConnectionStore, api: SignedJsonApi) -> None:
        self._store = store
        self._api = api

    async def subscribers(self, event_type: str) -> Lookup:
        request = self._store.lookup_request(event_type)
        pages = self._store.lookup_pages()
        while True:
            response = await self._api.call("Query", request)
            if not pages.add(response):
                return pages.lookup()
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class ThreadedLookup:
    """The store's boto3 Query, off the loop so posts in flight keep going meanwhile."""

    def __init__(self, store: ConnectionStore) -> None:
        self._store = store

    async def subscribers(self, event_type: str) -> Lookup:
        return await asyncio.to_thread(self._store.subscribers, event_type)
