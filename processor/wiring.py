"""The warm parts every handler shares, built once per process on first use and reused while
the function stays warm (the global-handler pattern).

Built on first use rather than at import so the standard AWS configuration in the environment
at that moment (AWS_ENDPOINT_URL, region, credentials) is the one the clients take."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Generic, TypeVar

import boto3
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.config import Config

from .delivery import DEFAULT_CONCURRENCY, BotocoreConnectionsApi, ConnectionsApi, Deliverer
from .json_api import DYNAMODB, SQS
from .lookup import SignedLookup, SubscriberLookup, ThreadedLookup
from .pipeline import Pipeline
from .removal import GoneRemoval, SignedRemoval, ThreadedRemoval
from .runtime import ClientPool, LoopThread
from .slices import slice_posts
from .split import Progress, SliceQueue
from .store import ConnectionStore
from .transport import DEFAULT_CONNECT_TIMEOUT_S, DEFAULT_READ_TIMEOUT_S, AwsTransport

__all__ = [
    "CLIENT_ENV",
    "CONCURRENCY_ENV",
    "connections_api",
    "fanout_queue",
    "once",
    "pipeline",
    "store",
    "subscriber_lookup",
]

T = TypeVar("T")
CONCURRENCY_ENV = "TUMBLE_FANOUT_CONCURRENCY"
CLIENT_ENV = "TUMBLE_FANOUT_CLIENT"
FANOUT_QUEUE_ENV = "FANOUT_QUEUE"
FANOUT_PROGRESS_TABLE_ENV = "FANOUT_PROGRESS_TABLE"


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
    transport = AwsTransport(session)  # every lean client's: one close closes them all
    api, close = connections_api(session, concurrency, kind, transport)
    lookup, removal, close_lookup = subscriber_lookup(session, store(), kind, transport)
    closers = [close, close_lookup, transport.close]
    queue = fanout_queue(session, store(), os.environ, transport)
    return Pipeline(
        store(),
        Deliverer(api, concurrency),
        runner,
        closers=closers,
        lookup=lookup,
        slices=queue,
        removal=removal,
    )


def fanout_queue(
    session: AioSession,
    connection_store: ConnectionStore,
    environ: Mapping[str, str],
    transport: AwsTransport | None = None,
) -> SliceQueue | None:
    """The fan-out queue and progress table of a fan-out that splits (processor.split), or
    None when the function has none (FANOUT_QUEUE unset: it never splits). SQS's endpoint and
    region are the ones boto3 resolves for it (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL...)."""
    queue_name = environ.get(FANOUT_QUEUE_ENV)
    if not queue_name:
        return None
    table = environ.get(FANOUT_PROGRESS_TABLE_ENV)
    if not table:
        raise RuntimeError(f"{FANOUT_QUEUE_ENV} is set but {FANOUT_PROGRESS_TABLE_ENV} is not")
    transport = transport or AwsTransport(session)
    dynamodb = transport.json_api(connection_store.client_meta, DYNAMODB)
    sqs = transport.json_api(boto3.client("sqs").meta, SQS)
    return SliceQueue(sqs, queue_name, Progress(dynamodb, table), slice_posts(environ))


def subscriber_lookup(
    session: AioSession,
    connection_store: ConnectionStore,
    kind: str = "signed",
    transport: AwsTransport | None = None,
) -> tuple[SubscriberLookup, GoneRemoval, Callable[[], Coroutine[Any, Any, None]]]:
    """The subscriber lookup, the removal of gone connections and what closes them: one lean
    signed DynamoDB client (default), sent to the endpoint and region the store's boto3 client
    resolved, or that client itself (`botocore`), in a worker thread."""
    if kind == "botocore":
        return (
            ThreadedLookup(connection_store),
            ThreadedRemoval(connection_store),
            _nothing_to_close,
        )
    api = (transport or AwsTransport(session)).json_api(connection_store.client_meta, DYNAMODB)
    return SignedLookup(connection_store, api), SignedRemoval(connection_store, api), api.close


async def _nothing_to_close() -> None:
    return None


def connections_api(
    session: AioSession,
    concurrency: int,
    kind: str = "signed",
    transport: AwsTransport | None = None,
) -> tuple[ConnectionsApi, Callable[[], Coroutine[Any, Any, None]]]:
    """The @connections client and what closes it: the lean signed path (default), or
    aiobotocore's own client (`botocore`), whose per-call pipeline costs about 1.1 ms of CPU.
    The same switch (TUMBLE_FANOUT_CLIENT) chooses the subscriber lookup's client."""
    if kind == "signed":
        signed = (transport or AwsTransport(session)).connections(concurrency)
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
