"""The connection store on DynamoDB.

One item per connection (`item = "connection"`) and one per subscription (`item = "sub#NN"`,
NN its position in the client's list). Only subscription items carry `event_type`, so the sparse
index `by_event_type` holds exactly the subscribers of each type: finding them is one paginated
Query whose cost follows the subscribers, never the connections. Subscription items repeat the
connection's domain name and stage so the Kinesis path can post without a second read, and
whether the connection asked for batched frames (`batched`, only when it did: the talk's
clients' items stay as they were) so the fan-out knows how to pack its frames from the same read.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from messages import BATCHED, Subscription, parse_event_type
from messages.backoff import full_jitter_s

from .capacity import item_size, query_read_units

__all__ = [
    "BATCH_WRITE_LIMIT",
    "CONNECTION_TTL_S",
    "MAX_BATCH_ATTEMPTS",
    "Connection",
    "ConnectionNotFound",
    "ConnectionStore",
    "Lookup",
    "LookupPages",
    "StoreError",
    "Subscriber",
    "batch_retry_s",
]

# API Gateway WebSocket: a connection lasts at most 2 hours; the TTL removes what a lost
# $disconnect leaves, a little after that.
CONNECTION_TTL_S = 2 * 3600 + 15 * 60
# DynamoDB quotas: BatchWriteItem takes at most 25 requests; TransactWriteItems 100 actions.
BATCH_WRITE_LIMIT = 25
TRANSACT_WRITE_LIMIT = 100
MAX_BATCH_ATTEMPTS = 8
MAX_REPLACE_ATTEMPTS = 4

CONNECTION_ITEM = "connection"
SUBSCRIPTION_PREFIX = "sub#"
# The subscription item carries the subscribe request's own opt-in, under its name.
BATCHED_ATTRIBUTE = BATCHED


def batch_retry_s(attempt: int, draw: float) -> float:
    """The wait before resending a BatchWriteItem's unprocessed items (throttling)."""
    return full_jitter_s(attempt, draw, base_s=0.05, cap_s=2.0)


class StoreError(RuntimeError):
    """DynamoDB would not take a write after retries."""


class ConnectionNotFound(LookupError):
    """The connection is gone (disconnected, or removed after a 410)."""


@dataclass(frozen=True, slots=True)
class Connection:
    connection_id: str
    domain_name: str
    stage: str
    role: str
    subject: str
    connected_at: int  # epoch ms, as API Gateway gives it


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A connection with its subscriptions of one event type, in the client's order; `batched`:
    it gets one frame per invocation on the Kinesis path (messages.batches)."""

    connection_id: str
    domain_name: str
    stage: str
    subscriptions: tuple[Subscription, ...]
    batched: bool = False


@dataclass(frozen=True, slots=True)
class Lookup:
    subscribers: list[Subscriber]
    pages: int  # Query pages read
    items: int  # index items read (ScannedCount)
    read_units: float = 0.0  # what DynamoDB bills for the pages (processor.capacity)
    item_bytes: int = 0  # the items' size as DynamoDB counts it


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _subscription_item(
    connection: Connection, position: int, sub: Subscription, expires_at: int, batched: bool
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "connection_id": _s(connection.connection_id),
        "item": _s(f"{SUBSCRIPTION_PREFIX}{position:02d}"),
        "event_type": _s(sub.event_type.value),
        "position": _n(position),
        "filter_expr": _s(sub.filter_expr),
        "domain_name": _s(connection.domain_name),
        "stage": _s(connection.stage),
        "expires_at": _n(expires_at),
    }
    if sub.filter_field is not None:
        item["filter_field"] = _s(sub.filter_field)
    if sub.desired_fields is not None:
        item["desired_fields"] = {"L": [_s(path) for path in sub.desired_fields]}
    if batched:
        item[BATCHED_ATTRIBUTE] = {"BOOL": True}
    return item


def _subscription_of(item: dict[str, Any]) -> Subscription:
    desired = item.get("desired_fields")
    return Subscription(
        parse_event_type(item["event_type"]["S"]),
        item["filter_field"]["S"] if "filter_field" in item else None,
        item["filter_expr"]["S"],
        tuple(path["S"] for path in desired["L"]) if desired is not None else None,
    )


def _connection_of(item: dict[str, Any]) -> Connection:
    return Connection(
        item["connection_id"]["S"],
        item["domain_name"]["S"],
        item["stage"]["S"],
        item["role"]["S"],
        item["subject"]["S"],
        int(item["connected_at"]["N"]),
    )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LookupPages:
    """A lookup's Query pages as they come, whichever client reads them: the subscribers
    (each connection's subscriptions in the client's order) and what the pages cost."""

    def __init__(self, now: float) -> None:
        self._now = now
        self._grouped: dict[str, list[dict[str, Any]]] = {}
        self._pages = self._items = self._item_bytes = 0
        self._read_units = 0.0

    def add(self, response: dict[str, Any]) -> bool:
        """Takes one page; True when another follows (`LastEvaluatedKey`)."""
        page = response.get("Items", [])
        self._pages += 1
        self._items += response.get("ScannedCount", len(page))
        self._read_units += query_read_units(page)
        self._item_bytes += sum(item_size(item) for item in page)
        for item in page:
            # TTL deletion lags by up to days; an expired item is as good as gone.
            if int(item["expires_at"]["N"]) > self._now:
                self._grouped.setdefault(item["connection_id"]["S"], []).append(item)
        return "LastEvaluatedKey" in response

    def lookup(self) -> Lookup:
        subscribers = []
        for connection_id, rows in self._grouped.items():
            rows.sort(key=lambda item: int(item["position"]["N"]))
            subscribers.append(
                Subscriber(
                    connection_id,
                    rows[0]["domain_name"]["S"],
                    rows[0]["stage"]["S"],
                    tuple(_subscription_of(row) for row in rows),
                    # Written in one transaction, so every row of a connection says the same.
                    rows[0].get(BATCHED_ATTRIBUTE, {}).get("BOOL", False) is True,
                )
            )
        return Lookup(subscribers, self._pages, self._items, self._read_units, self._item_bytes)


class ConnectionStore:
    """Takes a boto3 DynamoDB client (low level, thread-safe) and the names of table and index."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        index: str = "by_event_type",
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int | None = None,
    ) -> None:
        self._db = dynamodb
        self.table = table
        self.index = index
        self._clock = clock
        self._sleep = sleep
        self._page_size = page_size

    @property
    def client_meta(self) -> Any:
        """The boto3 client's resolved endpoint_url and region_name (the lean lookup's)."""
        return self._db.meta

    # -- connections -------------------------------------------------------------------------

    def put_connection(self, connection: Connection) -> None:
        self._db.put_item(
            TableName=self.table, Item=self._connection_item(connection, self._expires_at())
        )

    @staticmethod
    def _connection_item(connection: Connection, expires_at: int) -> dict[str, Any]:
        return {
            "connection_id": _s(connection.connection_id),
            "item": _s(CONNECTION_ITEM),
            "domain_name": _s(connection.domain_name),
            "stage": _s(connection.stage),
            "role": _s(connection.role),
            "subject": _s(connection.subject),
            "connected_at": _n(connection.connected_at),
            "sub_version": _n(0),
            "expires_at": _n(expires_at),
        }

    def put_many(
        self,
        entries: Iterable[tuple[Connection, Sequence[Subscription]]],
        *,
        batched: bool = False,
    ) -> None:
        """Bulk load (benchmarks, migrations): BatchWriteItem, not one transaction per entry;
        `batched` for every connection loaded."""
        expires_at = self._expires_at()
        items: list[dict[str, Any]] = []
        for connection, subscriptions in entries:
            items.append(self._connection_item(connection, expires_at))
            items.extend(
                _subscription_item(connection, position, sub, expires_at, batched)
                for position, sub in enumerate(subscriptions)
            )
        for chunk in _chunks(items, BATCH_WRITE_LIMIT):
            self._batch_write([{"PutRequest": {"Item": item}} for item in chunk])

    def _connection_record(self, connection_id: str) -> dict[str, Any] | None:
        response = self._db.get_item(
            TableName=self.table,
            Key={"connection_id": _s(connection_id), "item": _s(CONNECTION_ITEM)},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def delete_connection(self, connection_id: str) -> int:
        return self.delete_connections([connection_id])

    def delete_connections(self, connection_ids: Iterable[str]) -> int:
        """Removes the connections and every item they own; returns how many items went.
        processor.removal sends the same requests from the processor's loop."""
        keys = [key for cid in dict.fromkeys(connection_ids) for key in self._item_keys(cid)]
        for chunk in _chunks(keys, BATCH_WRITE_LIMIT):
            self._batch_write(self.delete_requests(chunk))
        return len(keys)

    @staticmethod
    def delete_requests(keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """One BatchWriteItem's DeleteRequests (at most BATCH_WRITE_LIMIT keys)."""
        return [{"DeleteRequest": {"Key": key}} for key in keys]

    def item_keys_request(self, connection_id: str, prefix: str | None = None) -> dict[str, Any]:
        """The consistent Query for the keys of every item a connection owns (or those whose
        `item` begins with `prefix`)."""
        condition = "connection_id = :c"
        values: dict[str, Any] = {":c": _s(connection_id)}
        if prefix is not None:
            condition += " AND begins_with(#i, :p)"
            values[":p"] = _s(prefix)
        return {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ExpressionAttributeNames": {"#i": "item"},
            "ProjectionExpression": "connection_id, #i",
            "ConsistentRead": True,
        }

    def _item_keys(self, connection_id: str, prefix: str | None = None) -> list[dict[str, Any]]:
        keys: list[dict[str, Any]] = []
        request = self.item_keys_request(connection_id, prefix)
        while True:
            response = self._db.query(**request)
            keys.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return keys
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        for attempt in range(MAX_BATCH_ATTEMPTS):
            response = self._db.batch_write_item(RequestItems={self.table: requests})
            requests = response.get("UnprocessedItems", {}).get(self.table, [])
            if not requests:
                return
            # Unprocessed items mean throttling: back off exponentially with full jitter.
            self._sleep(batch_retry_s(attempt, random.random()))
        raise StoreError(f"{len(requests)} writes still unprocessed after retries")

    # -- subscriptions -----------------------------------------------------------------------

    def replace_subscriptions(
        self, connection_id: str, subscriptions: Sequence[Subscription], batched: bool = False
    ) -> None:
        """All of the new list or none of it: one transaction that also bumps the connection's
        subscription version, so two concurrent replacements cannot interleave. Only Put and
        Delete actions, so the function needs no dynamodb:UpdateItem permission. Every item is
        put whole, so replacing with `batched` false clears an earlier true."""
        for _ in range(MAX_REPLACE_ATTEMPTS):
            record = self._connection_record(connection_id)
            if record is None:
                raise ConnectionNotFound(connection_id)
            if self._try_replace(record, subscriptions, batched):
                return
        raise StoreError(f"subscriptions of {connection_id} kept changing under us")

    def _try_replace(
        self, record: dict[str, Any], subscriptions: Sequence[Subscription], batched: bool = False
    ) -> bool:
        connection = _connection_of(record)
        version = int(record.get("sub_version", {"N": "0"})["N"])
        expires_at = self._expires_at()
        puts = [
            _subscription_item(connection, position, sub, expires_at, batched)
            for position, sub in enumerate(subscriptions)
        ]
        new_keys = {item["item"]["S"] for item in puts}
        stale = [
            key
            for key in self._item_keys(connection.connection_id, SUBSCRIPTION_PREFIX)
            if key["item"]["S"] not in new_keys
        ]
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": {**record, "sub_version": _n(version + 1)},
                    "ConditionExpression": "sub_version = :old",
                    "ExpressionAttributeValues": {":old": _n(version)},
                }
            },
            *({"Put": {"TableName": self.table, "Item": item}} for item in puts),
            *({"Delete": {"TableName": self.table, "Key": key}} for key in stale),
        ]
        if len(actions) > TRANSACT_WRITE_LIMIT:
            raise ValueError(f"{len(actions)} actions exceed one transaction")
        try:
            self._db.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False
            raise
        return True

    def subscribers(self, event_type: str) -> Lookup:
        """Every subscriber of one event type: a paginated Query on the sparse index."""
        request = self.lookup_request(event_type)
        pages = self.lookup_pages()
        while True:
            response = self._db.query(**request)
            if not pages.add(response):
                return pages.lookup()
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def lookup_request(self, event_type: str) -> dict[str, Any]:
        """The first page's Query of `subscribers`; processor.lookup sends the same one."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": self.index,
            "KeyConditionExpression": "event_type = :t",
            "ExpressionAttributeValues": {":t": _s(event_type)},
        }
        if self._page_size is not None:
            request["Limit"] = self._page_size
        return request

    def lookup_pages(self) -> LookupPages:
        return LookupPages(self._clock())

    def _expires_at(self) -> int:
        return int(self._clock()) + CONNECTION_TTL_S
