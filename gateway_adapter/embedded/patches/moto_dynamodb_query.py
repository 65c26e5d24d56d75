"""The fast path of a DynamoDB Query for the embedded backend (moto's server), installed with
the rest of moto_dynamodb (its install, premises and self-comparison).

Query: moto sorts every item of the table by its primary key (`Table.all_items`, DynamoType
comparisons), then tests each against the key condition, on every call: about 1 ms per 100
items, so a subscriber lookup, and a subscribe's read of its own items, cost what the whole
table holds. The fast path takes the partition's items straight from the table's dict (a
table Query) or tests the index's partition key on the stored items (an index Query), and
sorts only the matches with moto's own sort keys (an index's end with the table's unique
primary key, so the order of moto's full sort was never visible). From there on (sort key
condition, pagination, the 1 MB page limit, ScannedCount, copies, projection, filters) it is
moto's loop. Only the shapes it knows take it (one partition key equality; on a table at most
one sort key condition; on a global secondary index none, and an eventually consistent read;
no legacy QueryFilter); any other Query is moto's.

Private symbols touched: `Table.query` (replaced by moto_dynamodb.install); `Table.items`,
`sorted_items`, `_item_comes_before_dct`, `_get_last_evaluated_key`, `get_index`,
`RESULT_SIZE_LIMIT` (called)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.models import Table
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, GlobalSecondaryIndex

__all__ = ["ORIGINAL_QUERY", "fast_query"]

ORIGINAL_QUERY = Table.query


def _index_candidates(
    table: Table, index: GlobalSecondaryIndex, attr: str, wanted: DynamoType
) -> list[Item]:
    """The items whose `attr` equals `wanted` and that the index holds (all its keys present),
    as moto's filter decides, without its sort of the whole table first."""
    range_attrs = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
    plain = wanted.type in ("S", "B")  # equal exactly when the stored text is
    groups: Any = table.items.values() if table.range_key_attr else [table.items]
    found: list[Item] = []
    for group in groups:
        for item in group.values():
            if not isinstance(item, Item):
                continue
            value = item.attrs.get(attr)
            if value is None or value.type != wanted.type:
                continue
            if (value.value != wanted.value) if plain else (value != wanted):
                continue
            if all(item.attrs.get(name) for name in range_attrs):
                found.append(item)
    return found


def fast_query(
    self: Table,
    hash_key: DynamoType | None,
    range_comparison: str | None,
    range_objs: list[DynamoType],
    limit: int,
    exclusive_start_key: dict[str, Any],
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None = None,
    range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None = None,
    **filter_kwargs: Any,
) -> tuple[list[Item], int, dict[str, Any] | None]:
    page = _Page(limit, exclusive_start_key, scan_index_forward, projection_expressions)
    page.filter_expression = filter_expression
    found = None
    if not filter_kwargs:
        if index_name is None:
            found = _table_matches(
                self, hash_key, range_comparison, range_objs, range_key_conditions
            )
        elif not (consistent_read or range_comparison or range_key_conditions):
            found = _index_matches(self, index_name, hash_key_conditions or [])
    if found is None:
        return ORIGINAL_QUERY(
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            consistent_read,
            filter_expression,
            hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions,
            **filter_kwargs,
        )
    matches, page.sort_attrs, page.keep = found
    if scan_index_forward is False:
        matches.reverse()
    return page.of(self, matches, index_name)


_Found = tuple[list[Item], tuple[list[str], list[str | None]], Callable[[Item], bool] | None]


def _table_matches(
    table: Table,
    hash_key: DynamoType | None,
    range_comparison: str | None,
    range_objs: list[DynamoType],
    range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None,
) -> _Found | None:
    """A Query of the table itself: the partition's items straight from the table's dict,
    where moto sorts the whole table and compares every item's partition key."""
    if hash_key is None or len(range_key_conditions or []) > 1:
        return None
    if range_comparison and not range_key_conditions:
        return None
    group = table.items.get(hash_key)  # .get: moto's defaultdict would add the key
    if group is None:
        matches: list[Item] = []
    elif table.range_key_attr:
        matches = [item for item in group.values() if isinstance(item, Item)]
        matches.sort(key=lambda item: item.range_key)  # type: ignore[arg-type,return-value]
    else:
        matches = [group] if isinstance(group, Item) else []
    keep = None
    if range_comparison and range_key_conditions:
        name, comparison = range_key_conditions[-1][0], range_comparison

        def keep(item: Item) -> bool:
            value = item.attrs.get(name)
            return bool(value and value.compare(comparison, range_objs))

    return matches, ([table.hash_key_attr], [table.range_key_attr]), keep


def _index_matches(
    table: Table, index_name: str, hash_key_conditions: list[tuple[str, DynamoType]]
) -> _Found | None:
    """A Query of a global secondary index on its partition key alone."""
    index = next((i for i in table.global_indexes or [] if i.name == index_name), None)
    if index is None or len(hash_key_conditions) != 1:
        return None
    hash_schema = [k for k in index.schema if k["KeyType"] == "HASH"]
    range_schema = [k for k in index.schema if k["KeyType"] == "RANGE"]
    attr, wanted = hash_key_conditions[0]
    if len(hash_schema) != 1 or len(range_schema) > 1 or attr != hash_schema[0]["AttributeName"]:
        return None
    # moto's sort attributes for a GSI query (Table.query), in its order.
    if range_schema:
        range_attrs: list[str | None] = [range_schema[0]["AttributeName"], table.range_key_attr]
    else:
        fallback = table.range_key_attr or table.hash_key_attr
        range_attrs = [fallback, table.range_key_attr]
    hash_attrs = [attr, table.hash_key_attr]
    candidates = _index_candidates(table, index, attr, wanted)
    return table.sorted_items(hash_attrs, range_attrs, candidates), (hash_attrs, range_attrs), None


@dataclass(slots=True)
class _Page:
    """moto's Table.query from its FILTER step on, for the shapes the fast path takes."""

    limit: int | None
    exclusive_start_key: dict[str, Any] | None
    scan_index_forward: bool
    projection_expressions: list[list[str]] | None
    filter_expression: Any = None
    sort_attrs: tuple[list[str], list[str | None]] = ([], [])
    keep: Callable[[Item], bool] | None = None

    def of(
        self, table: Table, matches: list[Item], index_name: str | None
    ) -> tuple[list[Item], int, dict[str, Any] | None]:
        hash_attrs, range_attrs = self.sort_attrs
        results: list[Item] = []
        result_size = scanned_count = 0
        last_evaluated_key = None
        start_key = self.exclusive_start_key
        previous_page = start_key is not None
        for result in matches:
            if start_key is not None and previous_page:
                if table._item_comes_before_dct(
                    result,
                    start_key,
                    hash_attrs,
                    range_attrs,
                    self.scan_index_forward,
                ):
                    continue
                previous_page = False
            # moto checks the page's size with this candidate before testing the sort key
            if len(results) == self.limit or result_size + result.size() > RESULT_SIZE_LIMIT:
                last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
                break
            if self.keep is None or self.keep(result):
                results.append(result)
                result_size += result.size()
                scanned_count += 1  # moto counts only the items the key condition kept
        results = copy.deepcopy(results)
        if index_name:
            index = table.get_index(index_name)
            results = [index.project(r) for r in results]
        if self.filter_expression is not None:
            results = [item for item in results if self.filter_expression.expr(item)]
        if self.projection_expressions:
            results = [r.project(self.projection_expressions) for r in results]
        return results, scanned_count, last_evaluated_key
