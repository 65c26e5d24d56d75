"""The warm parts every handler shares, built once per process on first use and reused while
the function stays warm (the global-handler pattern).

Built on first use rather than at import so the standard AWS configuration in the environment
at that moment (AWS_ENDPOINT_URL, region, credentials) is the one the clients take."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

import boto3
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.config import Config

from .connections_api import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_READ_TIMEOUT_S,
    SessionCredentials,
    SignedConnectionsApi,
)
from .delivery import DEFAULT_CONCURRENCY, BotocoreConnectionsApi, ConnectionsApi, Deliverer
from .dynamodb_api import SIGNING_SERVICE as DYNAMODB_SERVICE
from .dynamodb_api import SignedDynamoDb
from .lookup import SignedLookup, SubscriberLookup, ThreadedLookup
from .pipeline import Pipeline
from .runtime import ClientPool, LoopThread
from .sigv4 import SigV4Signer
from .store import ConnectionStore

__all__ = [
    "CLIENT_ENV",
    "CONCURRENCY_ENV",
    "connections_api",
    "once",
    "pipeline",
    "store",
    "subscriber_lookup",
]

T = TypeVar("T")
CONCURRENCY_ENV = "TUMBLE_FANOUT_CONCURRENCY"
CLIENT_ENV = "TUMBLE_FANOUT_CLIENT"


class once(Generic[T]):
    """A thread-safe lazily built singleton: handlers may run on several threads locally."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._box: list[T] = []

    def __call__(self) -> T:
        if not self._box:
            with self._lock:
                if not self._box:
                    self._box.append(self._factory())
        return self._box[0]

    def built(self) -> T | None:
        """The instance if it was built, without building it (for a clean shutdown)."""
        return self._box[0] if self._box else None


def _store() -> ConnectionStore:
    table = os.environ.get("CONNECTIONS_TABLE")
    if not table:
        raise RuntimeError("CONNECTIONS_TABLE is not set (serverless.yml provider.environment)")
    dynamodb = boto3.client("dynamodb", config=Config(max_pool_connections=32))
    return ConnectionStore(
        dynamodb, table, os.environ.get("CONNECTIONS_BY_EVENT_TYPE_INDEX", "by_event_type")
    )


def _pipeline() -> Pipeline:
    concurrency = int(os.environ.get(CONCURRENCY_ENV) or DEFAULT_CONCURRENCY)
    session = get_session()
    runner = LoopThread()
    kind = os.environ.get(CLIENT_ENV, "signed")
    api, close = connections_api(session, concurrency, kind)
    lookup, close_lookup = subscriber_lookup(session, store(), kind)
    return Pipeline(
        store(), Deliverer(api, concurrency), runner, closers=[close, close_lookup], lookup=lookup
    )


def subscriber_lookup(
    session: AioSession, connection_store: ConnectionStore, kind: str = "signed"
) -> tuple[SubscriberLookup, Callable[[], Coroutine[Any, Any, None]]]:
    """The subscriber lookup and what closes it: the lean signed Query (default), sent to the
    endpoint and region the store's boto3 client resolved, or that client itself (`botocore`)."""
    if kind == "botocore":
        return ThreadedLookup(connection_store), _nothing_to_close
    meta = connection_store.client_meta
    api = SignedDynamoDb(
        meta.endpoint_url,
        SessionCredentials(session),
        SigV4Signer(meta.region_name or "", DYNAMODB_SERVICE),
    )
    return SignedLookup(connection_store, api), api.close


async def _nothing_to_close() -> None:
    return None


def connections_api(
    session: AioSession, concurrency: int, kind: str = "signed"
) -> tuple[ConnectionsApi, Callable[[], Coroutine[Any, Any, None]]]:
    """The @connections client and what closes it: the lean signed path (default), or
    aiobotocore's own client (`botocore`), whose per-call pipeline costs about 1.1 ms of CPU.
    The same switch (TUMBLE_FANOUT_CLIENT) chooses the subscriber lookup's client."""
    if kind == "signed":
        region = session.get_config_variable("region")
        signed = SignedConnectionsApi(
            SessionCredentials(session), SigV4Signer(region or ""), concurrency
        )
        return signed, signed.close
    if kind != "botocore":
        raise RuntimeError(f"{CLIENT_ENV} must be 'signed' or 'botocore', not {kind!r}")
    # Retries are ours (fanout.RetryPolicy), so botocore makes exactly one attempt.
    config = AioConfig(
        max_pool_connections=concurrency,
        retries={"total_max_attempts": 1},
        connect_timeout=DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout=DEFAULT_READ_TIMEOUT_S,
        parameter_validation=False,  # the parameters are ours, built by fanout.plan_posts
    )
    clients = ClientPool(session, "apigatewaymanagementapi", config)
    return BotocoreConnectionsApi(clients.get), clients.close


store = once(_store)
pipeline = once(_pipeline)
