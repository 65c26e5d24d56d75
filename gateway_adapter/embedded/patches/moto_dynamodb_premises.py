"""The premises of the DynamoDB patch (moto_dynamodb): the names and signatures it calls or
replaces, then one small scenario (table and index Queries, GetItem, Scan, a cancelled
transaction) answered by plain moto and by the patched code, compared field for field.

Measured gain, moto 5.2.6, 2 shared and loaded cores, off against on in one process (moto's
own Flask app, as MotoProbe calls it; a 2,000-item table of 100 partitions with an index, the
second of two rounds): a partition Query 55.5 against 2.5 ms (-95%), an index Query 77.7
against 6.1 ms (-92%), a 21-action TransactWriteItems 1,125 against 5.2 ms (-99.5%); GetItem
(serializer only) was within noise there. On a one-item table (`python -m
benchmarks.embedded_cpu --quick [--without dynamodb]`, server CPU per call): Query 1.8
against 2.1 ms, GetItem 1.1 against 1.5 ms. The README's `subscribe` row gives the effect on
the whole subscribe path (backend RSS +0.4% against +298% on plain moto)."""

from __future__ import annotations

import inspect
from typing import Any

from moto.core.common_models import BaseModel
from moto.dynamodb.models import DynamoDBBackend, Table
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.responses import DynamoHandler

from . import moto_dynamodb, moto_dynamodb_query
from .moto_probe import MotoProbe
from .premises import Patch, require, require_parameters

__all__ = ["PATCH"]

_QUERY = [
    "self", "hash_key", "range_comparison", "range_objs", "limit", "exclusive_start_key",
    "scan_index_forward", "projection_expressions", "index_name", "consistent_read",
    "filter_expression", "hash_key_conditions", "range_key_conditions", "filter_kwargs",
]  # fmt: skip
_KEYWORDS = ("condition_expression", "expression_attribute_names", "expression_attribute_values")


def check() -> None:
    require_parameters(moto_dynamodb_query.ORIGINAL_QUERY, _QUERY, "Table.query")
    original = moto_dynamodb._ORIGINAL
    require_parameters(original, ["self", "transact_items"], "transact_write_items")
    for name in ("put_item", "delete_item", "update_item"):
        taken = inspect_parameters(getattr(DynamoDBBackend, name))
        missing = [k for k in _KEYWORDS if k not in taken]
        require(not missing, f"DynamoDBBackend.{name} takes no {', '.join(missing)}")
    require("update_expression" in inspect_parameters(DynamoDBBackend.update_item), "update_item")
    for name in ("get_table", "get_keys_value"):
        require(callable(getattr(DynamoDBBackend, name, None)), f"DynamoDBBackend.{name}")
    for name in ("sorted_items", "_item_comes_before_dct", "_get_last_evaluated_key", "get_index"):
        require(callable(getattr(Table, name, None)), f"Table.{name}")
    for name in moto_dynamodb._READS:
        require(callable(getattr(DynamoHandler, name, None)), f"DynamoHandler.{name}")
    require(hasattr(Item, "instances_tracked"), "moto's models track their instances")
    require("__new__" in vars(BaseModel), "BaseModel.__new__ is where they are tracked")


def inspect_parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def _scenario(probe: MotoProbe, table: str) -> list[tuple[int, Any]]:
    string = {"AttributeType": "S"}
    probe.call(
        "CreateTable",
        {
            "TableName": table,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": n, **string} for n in ("pk", "sk", "kind")],
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by_kind",
                    "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )
    for pk, sk, kind in (("a", "1", "x"), ("a", "2", "y"), ("b", "1", "x")):
        item = {"pk": {"S": pk}, "sk": {"S": sk}, "kind": {"S": kind}, "b": {"B": "AA=="}}
        probe.call("PutItem", {"TableName": table, "Item": item})
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    cancelled = {
        "TransactItems": [
            {"Put": {"TableName": table, "Item": {"pk": {"S": "c"}, "sk": {"S": "1"}}}},
            {
                "ConditionCheck": {
                    "TableName": table,
                    "Key": key,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]
    }
    values = {":pk": {"S": "a"}, ":sk": {"S": "2"}, ":kind": {"S": "x"}}
    return [
        probe.call(
            "Query",
            {
                "TableName": table,
                "KeyConditionExpression": "pk = :pk AND sk >= :sk",
                "ExpressionAttributeValues": {":pk": values[":pk"], ":sk": values[":sk"]},
            },
        ),
        probe.call(
            "Query",
            {
                "TableName": table,
                "IndexName": "by_kind",
                "KeyConditionExpression": "kind = :kind",
                "ExpressionAttributeValues": {":kind": values[":kind"]},
            },
        ),
        probe.call("GetItem", {"TableName": table, "Key": key}),
        probe.call("Scan", {"TableName": table}),
        probe.call("TransactWriteItems", cancelled),
        probe.call("GetItem", {"TableName": table, "Key": {"pk": {"S": "c"}, "sk": {"S": "1"}}}),
    ]


def compare() -> None:
    with MotoProbe("dynamodb") as probe:
        moto_dynamodb.uninstall()
        try:
            plain = _scenario(probe, "plain")
        finally:
            moto_dynamodb.install()
        fast = _scenario(probe, "patched")
    require(plain[4][0] == 400 and len(plain[0][1]["Items"]) == 1, "moto's answers as expected")
    for index, (want, got) in enumerate(zip(plain, fast, strict=True)):
        require(got == want, f"call {index} answered {got} where moto answers {want}")


PATCH = Patch(
    name="DynamoDB",
    package="moto",
    slower="DynamoDB transactions copy whole tables, Queries sort whole tables, reads run "
    "moto's serializer (about 1 ms per item) and every item ever written stays in memory",
    check=check,
    install=moto_dynamodb.install,
    uninstall=moto_dynamodb.uninstall,
    compare=compare,
)
