"""TransactWriteItems, Queries and reads for the embedded backend (moto's server) that keep its
memory flat and its answers fast, with moto's answers.

TransactWriteItems:
moto 5.2.5 (`DynamoDBBackend.transact_write_items`) deep-copies the whole table once per action
before running any, to roll back on failure: a 21-action subscribe against a table of 2,000
items copies 42,000 items, and threads doing that at once took the backend to gigabytes. This
is the same algorithm, action by action, with the same checks, errors and cancellation
reasons, but it saves only the items it is about to touch (one small copy each, keys are
unique within a transaction) and puts those back on failure. Tables with a stream keep moto's
own path, since its rollback also rewinds the stream's records.

Transactions also run one at a time here, as DynamoDB isolates them from one another; moto's
threads could otherwise interleave two of them.

Query: the fast path of a Query (moto_dynamodb_query.py), installed here.

Items: moto's BaseModel appends every instance it creates to a class-wide list, for its
dashboard (`/moto-api/data.json`), and never lets go: every DynamoDB item ever written or
copied (each Query copies its results) stayed in memory, so the backend grew with traffic, not
with data. Items are not tracked here (the dashboard no longer lists them; the tables still
hold them).

Responses of GetItem, Query and Scan: moto converts the items to DynamoDB's wire format
(`DynamoResult`), then walks them again through its generic, model-driven serializer, about
1 ms per item; a subscriber lookup and a GetItem each paid it. The result is already in wire
format, so it is written with json.dumps (binary values base64, as the serializer writes them),
with the status and headers the serializer gives.

Private symbols touched: `DynamoDBBackend.transact_write_items`, `Table.query`,
`DynamoHandler.get_item/query/scan` and `Item.__new__` (replaced); `Table.items` (and what
moto_dynamodb_query.py lists), `get_filter_expression`, `DynamoResult`, the backend's `get_table`,
`get_keys_value`, `put_item`/`delete_item`/`update_item` keywords and its exceptions (called).
Checked against moto 5.2.5 and 5.2.6; premises, self-comparison and measured gain in
moto_dynamodb_premises.py; the same answers over HTTP: tests/gateway_adapter/embedded/patches/."""

from __future__ import annotations

import base64
import copy
import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.core.responses import ActionContext, ActionResult
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend, Table
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import (
    get_filter_expression,
)
from moto.dynamodb.responses import DynamoHandler, DynamoResult

from .moto_dynamodb_query import ORIGINAL_QUERY, fast_query

__all__ = ["MAX_TRANSACT_ACTIONS", "install", "installed", "uninstall"]

# DynamoDB quota: TransactWriteItems takes at most 100 actions (moto enforces the same).
MAX_TRANSACT_ACTIONS = 100

_ORIGINAL = DynamoDBBackend.transact_write_items
_READS = ("get_item", "query", "scan")
_ORIGINAL_READS: dict[str, Callable[[DynamoHandler], Any]] = {
    name: getattr(DynamoHandler, name) for name in _READS
}
_ONE_AT_A_TIME = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Saved:
    """One item as it was before the transaction touched it (None: it did not exist)."""

    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None
    hash_existed: bool

    def restore(self) -> None:
        items: Any = self.table.items
        if self.range_key is None:
            if self.item is None:
                items.pop(self.hash_key, None)
            else:
                items[self.hash_key] = self.item
            return
        if self.item is not None:
            items[self.hash_key][self.range_key] = self.item
            return
        group = items.get(self.hash_key)
        if group is not None:
            group.pop(self.range_key, None)
            if not group and not self.hash_existed:
                del items[self.hash_key]


def _save(backend: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> _Saved:
    table = backend.get_table(table_name)
    hash_key, range_key = backend.get_keys_value(table, key)
    hash_existed = hash_key in table.items  # before get_item: moto's defaultdict adds it
    current = table.get_item(hash_key, range_key)
    # Update changes an item in place; Put and Delete replace it. One copy covers all three.
    return _Saved(table, hash_key, range_key, copy.deepcopy(current), hash_existed)


def _streams_involved(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> bool:
    for action in transact_items:
        _, op = next(iter(action.items()))
        table = backend.tables.get(op.get("TableName") or "")
        if table is not None and table.stream_shard is not None:
            return True
    return False


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > MAX_TRANSACT_ACTIONS:
        raise TooManyTransactionsException()
    if _streams_involved(self, transact_items):
        _ORIGINAL(self, transact_items)
        return
    with _ONE_AT_A_TIME:
        saved: list[_Saved] = []
        try:
            errors = _run_actions(self, transact_items, saved)
        except (MultipleTransactionsException, MockValidationException):
            _roll_back(saved)
            raise
        if any(code is not None for code, _, _ in errors):
            _roll_back(saved)
            raise TransactionCanceledException(errors)


def _roll_back(saved: list[_Saved]) -> None:
    for entry in reversed(saved):
        entry.restore()


def _run_actions(
    backend: DynamoDBBackend, transact_items: list[dict[str, Any]], saved: list[_Saved]
) -> list[tuple[Any, Any, Any]]:
    """moto's loop, line for line, with `_save` where moto reads the current item."""
    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[Any, Any, Any]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException
        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            names = op.get("ExpressionAttributeNames")
            values = op.get("ExpressionAttributeValues")
            return_on_failure = op.get("ReturnValuesOnConditionCheckFailure")
            if op_type == "Put":
                attrs = op["Item"]
                table = backend.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            check_unicity(table_name, key)
            before = _save(backend, table_name, key)
            saved.append(before)
            current = before.table.get_item(before.hash_key, before.range_key)
            if condition_expression is not None:
                condition_op = get_filter_expression(condition_expression, names, values)
                if not condition_op.expr(current):
                    if return_on_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)
            expression: dict[str, Any] = {
                "condition_expression": condition_expression,
                "expression_attribute_names": names,
                "expression_attribute_values": values,
            }
            if op_type == "Put":
                backend.put_item(table_name, op["Item"], **expression)
            elif op_type == "Delete":
                backend.delete_item(table_name, key, **expression)
            elif op_type == "Update":
                update = op["UpdateExpression"]
                backend.update_item(table_name, key, update_expression=update, **expression)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # moto reports any other failure per action
            errors.append((type(e).__name__, str(e), original_item))
    return errors


def _wire_value(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"not JSON: {type(value).__name__}")


class _WireResult(ActionResult):
    """A result already in DynamoDB's wire format, written as it is."""

    def execute_result(self, context: ActionContext) -> Any:
        try:
            body = json.dumps(self.result, default=_wire_value)
        except TypeError:  # something the fast path does not know: moto's serializer decides
            return super().execute_result(context)
        status, headers, _ = ActionResult({}).execute_result(context)
        return status, headers, body


def _fast_read(original: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
    @functools.wraps(original)
    def read(self: DynamoHandler) -> Any:
        result = original(self)
        return _WireResult(result.result) if type(result) is DynamoResult else result

    return read


_FAST_READS = {name: _fast_read(original) for name, original in _ORIGINAL_READS.items()}


def _untracked_item(cls: type[Item], *args: Any, **kwargs: Any) -> Item:
    """BaseModel.__new__ without the append to `instances_tracked`."""
    return object.__new__(cls)


def install() -> None:
    Item.__new__ = staticmethod(_untracked_item)  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    Table.query = fast_query  # type: ignore[method-assign]
    for name, read in _FAST_READS.items():
        setattr(DynamoHandler, name, read)


def installed() -> bool:
    return (
        DynamoDBBackend.transact_write_items is _transact_write_items
        and Table.query is fast_query
        and all(getattr(DynamoHandler, name) is read for name, read in _FAST_READS.items())
        and "__new__" in vars(Item)
    )


def uninstall() -> None:
    if "__new__" in vars(Item):
        del Item.__new__
    DynamoDBBackend.transact_write_items = _ORIGINAL  # type: ignore[method-assign]
    Table.query = ORIGINAL_QUERY  # type: ignore[method-assign]
    for name, read in _ORIGINAL_READS.items():
        setattr(DynamoHandler, name, read)
