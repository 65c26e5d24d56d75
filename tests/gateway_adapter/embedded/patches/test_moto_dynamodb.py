"""The embedded backend's DynamoDB speed-ups answer exactly as plain moto does: the same
scenario runs twice over HTTP on the session's backend (in this process), once with moto's
own code and once with the speed-ups, and every answer and the table left behind compare
equal."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.dynamo_type import Item

from gateway_adapter.embedded.patches import moto_dynamodb as dynamodb_speedups

TABLE = "speedups"
INDEX = "by_kind"


@pytest.fixture
def dynamodb(aws_client: Callable[[str], Any]) -> Iterator[Any]:
    client = aws_client("dynamodb")
    yield client
    dynamodb_speedups.uninstall()
    assert not dynamodb_speedups.installed()


def _create(client: Any, name: str = TABLE) -> None:
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": attr, "AttributeType": "S"} for attr in ("pk", "sk", "kind")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": INDEX,
                "KeySchema": [
                    {"AttributeName": "kind", "KeyType": "HASH"},
                    {"AttributeName": "pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def _item(pk: str, sk: str, **attrs: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}


def _put(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": item, **extra}}


def _update(key: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": TABLE,
            "Key": key,
            "UpdateExpression": "SET kind = :k",
            "ExpressionAttributeValues": {":k": {"S": kind}},
        }
    }


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        answer = call()
    except ClientError as error:
        return (error.response["Error"], error.response.get("CancellationReasons"))
    answer.pop("ResponseMetadata", None)
    return answer


def _scan(client: Any) -> list[dict[str, Any]]:
    items = client.scan(TableName=TABLE, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def _transactions(client: Any) -> list[Any]:
    """A subscribe-like replacement, then each way a transaction can fail or partly apply."""
    write = lambda actions: _outcome(lambda: client.transact_write_items(TransactItems=actions))  # noqa: E731
    seen = [
        write(
            [
                _put(_item("c1", "conn", version="0")),
                *(_put(_item("c1", f"sub#{n:02d}", kind="click")) for n in range(5)),
            ]
        ),
        # replace: version check, new items, one stale delete
        write(
            [
                _put(
                    _item("c1", "conn", version="1"),
                    ConditionExpression="version = :old",
                    ExpressionAttributeValues={":old": {"S": "0"}},
                ),
                _put(_item("c1", "sub#00", kind="dash")),
                {"Delete": {"TableName": TABLE, "Key": _key("c1", "sub#04")}},
                _update(_key("c1", "sub#01"), kind="photo"),
            ]
        ),
        # a stale version: cancelled, nothing of it applied (puts, deletes, updates, new keys)
        write(
            [
                _put(_item("c2", "conn", version="0")),
                _put(_item("c1", "sub#02", kind="changed")),
                {"Delete": {"TableName": TABLE, "Key": _key("c1", "sub#03")}},
                _update(_key("c1", "sub#01"), kind="lost"),
                _put(
                    _item("c1", "conn", version="9"),
                    ConditionExpression="version = :old",
                    ExpressionAttributeValues={":old": {"S": "0"}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ),
            ]
        ),
        # the same item twice: a validation error, nothing applied
        write([_put(_item("c3", "conn")), _put(_item("c3", "conn", more="x"))]),
        # an unknown table among good actions: refused, nothing applied
        write(
            [
                _put(_item("c4", "conn")),
                {"Put": {"TableName": "no-such-table", "Item": _item("x", "y")}},
            ]
        ),
        # a missing range key: a validation error, nothing applied
        write(
            [
                _put(_item("c5", "conn")),
                {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "c1"}}}},
            ]
        ),
        write([_put(_item(f"m{n}", "conn")) for n in range(101)]),  # over the limit
    ]
    seen.append(_scan(client))
    seen.append(
        _outcome(
            lambda: client.query(
                TableName=TABLE,
                IndexName=INDEX,
                KeyConditionExpression="kind = :k",
                ExpressionAttributeValues={":k": {"S": "click"}},
            )
        )
    )
    return seen


def test_transactions_answer_and_roll_back_exactly_as_moto(dynamodb):
    _create(dynamodb)
    expected = _transactions(dynamodb)
    dynamodb.delete_table(TableName=TABLE)
    _create(dynamodb)
    dynamodb_speedups.install()
    assert dynamodb_speedups.installed()
    got = _transactions(dynamodb)
    assert got == expected
    codes = [answer[0]["Code"] for answer in expected[2:7]]
    assert codes == [
        "TransactionCanceledException",
        "ValidationException",
        "ResourceNotFoundException",
        "ValidationException",
        "ValidationException",
    ]
    assert [row["sk"]["S"] for row in got[7]] == ["conn", "sub#00", "sub#01", "sub#02", "sub#03"]


def test_tables_with_streams_keep_moto_own_transactions(dynamodb):
    """moto's rollback also rewinds a stream's records; such tables take moto's path."""
    _create(dynamodb)
    dynamodb.update_table(
        TableName=TABLE, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}
    )
    dynamodb_speedups.install()
    calls: list[Any] = []
    original = dynamodb_speedups._ORIGINAL
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            dynamodb_speedups, "_ORIGINAL", lambda *args: calls.append(args) or original(*args)
        )
        dynamodb.transact_write_items(TransactItems=[_put(_item("s1", "conn"))])
    assert len(calls) == 1
    assert _scan(dynamodb) == [_item("s1", "conn")]


def _fill(client: Any) -> None:
    """A sparse index: most items carry `kind`, some don't; a few are big, for the 1 MB page."""
    requests = []
    for n in range(90):
        attrs = {"kind": ("click", "dash", "photo")[n % 3]} if n % 10 else {}
        if n % 3 == 0:
            attrs["color"] = ("red", "blue")[n % 2]
        item = _item(f"c{n % 37:02d}", f"sub#{n:02d}", **attrs)
        if n % 4 == 0:  # every wire type the serializer knows, binary included
            item["more"] = {
                "M": {
                    "n": {"N": str(n)},
                    "b": {"B": bytes([n, 0, 255])},
                    "l": {"L": [{"BOOL": True}, {"NULL": True}, {"SS": ["a", "b"]}]},
                    "bs": {"BS": [b"\x00", b"\x01"]},
                    "ns": {"NS": ["1", "2.5"]},
                }
            }
        requests.append(item)
    requests += [_item(f"big{n}", "sub#00", kind="photo", blob="x" * 300_000) for n in range(4)]
    for start in range(0, len(requests), 25):
        chunk = [{"PutRequest": {"Item": item}} for item in requests[start : start + 25]]
        client.batch_write_item(RequestItems={TABLE: chunk})


def _all_pages(client: Any, **request: Any) -> list[Any]:
    pages = []
    while True:
        answer = _outcome(lambda: client.query(TableName=TABLE, **request))
        pages.append(answer)
        if not isinstance(answer, dict) or "LastEvaluatedKey" not in answer:
            return pages
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def _queries(client: Any) -> list[Any]:
    """The store's lookup (one type, paginated), and the shapes around it."""
    kind = {"KeyConditionExpression": "kind = :k", "IndexName": INDEX}
    click = {**kind, "ExpressionAttributeValues": {":k": {"S": "click"}}}
    return [
        _all_pages(client, **click),
        _all_pages(client, **click, Limit=4),
        _all_pages(client, **click, Limit=5, ScanIndexForward=False),
        _all_pages(client, **{**kind, "ExpressionAttributeValues": {":k": {"S": "photo"}}}),
        _all_pages(client, **{**kind, "ExpressionAttributeValues": {":k": {"S": "none"}}}),
        _all_pages(
            client,
            **kind,
            FilterExpression="color = :c",
            ProjectionExpression="pk, sk, color",
            Limit=3,
            ExpressionAttributeValues={":k": {"S": "click"}, ":c": {"S": "red"}},
        ),
        _all_pages(client, **click, Select="COUNT"),
        _all_pages(client, **click, ConsistentRead=True),  # refused on a GSI
        _all_pages(  # a sort key condition: moto's own path
            client,
            IndexName=INDEX,
            KeyConditionExpression="kind = :k AND pk > :p",
            ExpressionAttributeValues={":k": {"S": "dash"}, ":p": {"S": "c10"}},
        ),
        *_table_queries(client),
        [
            _outcome(functools.partial(client.get_item, TableName=TABLE, Key=_key(*k)))
            for k in _GETS
        ],
        _outcome(lambda: client.get_item(TableName=TABLE, Key={"pk": {"S": "c00"}})),
        _outcome(lambda: client.scan(TableName=TABLE, Limit=20)),
        _headers(client.query(TableName=TABLE, **click)),
    ]


def _table_queries(client: Any) -> list[Any]:
    """The store's reads of one connection's items, and the sort key shapes around them."""
    c03 = {":p": {"S": "c03"}}
    return [
        _all_pages(client, KeyConditionExpression="pk = :p", ExpressionAttributeValues=c03),
        _all_pages(
            client,
            KeyConditionExpression="pk = :p AND begins_with(#s, :s)",
            ExpressionAttributeNames={"#s": "sk"},
            ExpressionAttributeValues={**c03, ":s": {"S": "sub#4"}},
            ProjectionExpression="pk, #s",
            ConsistentRead=True,
            Limit=1,
        ),
        _all_pages(
            client,
            KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
            ExpressionAttributeValues={**c03, ":a": {"S": "sub#10"}, ":b": {"S": "sub#70"}},
            ScanIndexForward=False,
            Limit=1,
        ),
        _all_pages(
            client,
            KeyConditionExpression="pk = :p AND sk > :a",
            FilterExpression="attribute_exists(kind)",
            ExpressionAttributeValues={**c03, ":a": {"S": "sub#39"}},
        ),
        _all_pages(
            client, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "x"}}
        ),
    ]


_GETS = (("c00", "sub#00"), ("c04", "sub#41"), ("c00", "none"), ("big1", "sub#00"))


def _headers(answer: dict[str, Any]) -> dict[str, str]:
    """What a client sees of the HTTP answer, less what differs per request."""
    headers = dict(answer["ResponseMetadata"]["HTTPHeaders"])
    for varying in ("date", "x-amzn-requestid", "content-length", "x-amz-crc32"):
        headers.pop(varying, None)
    return headers


def test_index_queries_answer_exactly_as_moto(dynamodb):
    _create(dynamodb)
    _fill(dynamodb)
    expected = _queries(dynamodb)
    dynamodb_speedups.install()
    got = _queries(dynamodb)
    assert got == expected
    # the scenario covers what it claims: several pages, the 1 MB cut, a refusal, a filter
    assert len(expected[1]) > 3 and len(expected[3]) > 1
    assert sum(page["Count"] for page in expected[0]) == 27
    assert expected[7][0][0]["Code"] == "ValidationException"
    assert {item["color"]["S"] for page in expected[5] for item in page["Items"]} == {"red"}
    assert len(expected[10]) == len(expected[11]) == 2 and expected[13][0]["Count"] == 0


def test_items_written_and_read_are_not_kept_for_the_dashboard(dynamodb):
    """moto's BaseModel keeps every instance ever created; with the speed-ups an item lives
    only as long as its table (or a response) holds it."""
    _create(dynamodb)

    def churn() -> int:
        before = len(Item.instances_tracked)  # type: ignore[attr-defined]
        for n in range(20):
            dynamodb.put_item(TableName=TABLE, Item=_item("c1", "sub#00", kind="click", n=str(n)))
            dynamodb.query(
                TableName=TABLE,
                IndexName=INDEX,
                KeyConditionExpression="kind = :k",
                ExpressionAttributeValues={":k": {"S": "click"}},
            )
        return len(Item.instances_tracked) - before  # type: ignore[attr-defined]

    assert churn() >= 40  # plain moto: every put and every copied result, for good
    dynamodb_speedups.install()
    assert churn() == 0
    assert dynamodb.get_item(TableName=TABLE, Key=_key("c1", "sub#00"))["Item"]["n"] == {"S": "19"}
