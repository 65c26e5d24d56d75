"""Each patch's premise check, fed a dependency that changed: a renamed attribute and a changed
answer, simulated in this process on moto's and aiohttp's own classes (never on boto3). The
patch stays off, plain moto answers over HTTP, and one warning line names the package, its
version, the premise and what is slower. The frame guard, which refuses to start instead, is
tested beside it (tests/gateway_adapter/apigateway/test_aiohttp_frames.py)."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.dynamodb.models import Table
from moto.dynamodb.responses import DynamoResult
from moto.kinesis.models import Record
from werkzeug import _internal as werkzeug_internal

from gateway_adapter.embedded.backend import install_patches
from gateway_adapter.embedded.patches import moto_dynamodb, moto_kinesis, moto_server

MOTO = importlib.metadata.version("moto")


@pytest.fixture(autouse=True)
def plain_moto_after() -> Iterator[None]:
    yield
    for module in (moto_kinesis, moto_dynamodb, moto_server):
        module.uninstall()


def _one_warning(warnings: list[str], name: str, premise: str, slower: str) -> str:
    assert len(warnings) == 1, warnings
    line = warnings[0]
    assert "\n" not in line
    assert line.startswith(f"warning: moto {MOTO}: the {name} patch is off")
    assert premise in line and slower in line
    return line


def test_every_patch_holds_on_the_installed_moto():
    assert install_patches(["get_records", "dynamodb", "dispatch"]) == []
    assert moto_kinesis.installed() and moto_dynamodb.installed() and moto_server.installed()


# Kinesis GetRecords -----------------------------------------------------------------------


def _rename_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """A moto whose Record keeps its data under another name (as 5.2.6 renamed
    `created_at_datetime`): moto's own code follows the rename."""
    init, to_json = Record.__init__, Record.to_json

    def renamed_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.payload = self.__dict__.pop("data")

    def renamed_to_json(self: Any) -> dict[str, Any]:
        self.data = self.payload
        try:
            return to_json(self)
        finally:
            del self.data

    monkeypatch.setattr(Record, "__init__", renamed_init)
    monkeypatch.setattr(Record, "to_json", renamed_to_json)


def _get_records_over_http(kinesis: Any) -> list[dict[str, Any]]:
    kinesis.create_stream(StreamName="premise", ShardCount=1)
    kinesis.put_record(StreamName="premise", PartitionKey="p", Data=b"still here")
    shard = kinesis.list_shards(StreamName="premise")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="premise", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = kinesis.get_records(ShardIterator=iterator)["Records"]
    return records


def test_get_records_with_a_renamed_record_attribute_stays_off(
    monkeypatch, aws_client: Callable[[str], Any]
):
    _rename_data(monkeypatch)
    line = _one_warning(
        install_patches(["get_records"]),
        "Kinesis GetRecords",
        "AttributeError",
        "GetRecords runs through moto's serializer",
    )
    assert "'data'" in line
    assert not moto_kinesis.installed()
    records = _get_records_over_http(aws_client("kinesis"))  # plain moto: slower, not wrong
    assert [r["Data"] for r in records] == [b"still here"]


def test_get_records_whose_answer_changed_stays_off(monkeypatch, aws_client):
    to_json = Record.to_json
    monkeypatch.setattr(Record, "to_json", lambda self: {**to_json(self), "PartitionKey": "new"})
    _one_warning(
        install_patches(["get_records"]), "Kinesis GetRecords", "where moto answers", "6,000"
    )
    assert not moto_kinesis.installed()
    assert [r["PartitionKey"] for r in _get_records_over_http(aws_client("kinesis"))] == ["new"]


def test_get_records_whose_backend_signature_changed_stays_off(monkeypatch):
    monkeypatch.setattr(
        "moto.kinesis.models.KinesisBackend.get_records",
        lambda self, shard_iterator, limit, stream_arn=None: None,
    )
    _one_warning(install_patches(["get_records"]), "Kinesis GetRecords", "stream_arn", "serializer")


# DynamoDB ---------------------------------------------------------------------------------


def test_dynamodb_with_a_renamed_table_method_stays_off(monkeypatch, aws_client):
    renamed = Table._get_last_evaluated_key
    monkeypatch.setattr(Table, "get_last_evaluated_key", renamed, raising=False)
    monkeypatch.delattr(Table, "_get_last_evaluated_key")
    _one_warning(
        install_patches(["dynamodb"]), "DynamoDB", "Table._get_last_evaluated_key", "serializer"
    )
    assert not moto_dynamodb.installed()
    assert aws_client("dynamodb").list_tables()["TableNames"] == []


def test_dynamodb_whose_answer_changed_stays_off(monkeypatch):
    serialize = DynamoResult.execute_result

    def changed(self: Any, context: Any) -> Any:
        status, headers, body = serialize(self, context)
        return status, headers, json.dumps({**json.loads(body), "Changed": True})

    monkeypatch.setattr(DynamoResult, "execute_result", changed, raising=False)
    line = _one_warning(install_patches(["dynamodb"]), "DynamoDB", "where moto answers", "1 ms")
    assert "Changed" in line
    assert not moto_dynamodb.installed()


# moto's server ----------------------------------------------------------------------------


def test_moto_server_with_a_renamed_werkzeug_logger_stays_off(monkeypatch):
    monkeypatch.delattr(werkzeug_internal, "_logger")
    _one_warning(install_patches(["dispatch"]), "moto server HTTP", "_logger", "new connection")
    assert not moto_server.installed()


def test_moto_server_whose_module_list_changed_stays_off(monkeypatch):
    monkeypatch.setattr(moto_server, "_ORIGINAL_MODULES", lambda: ["a", "moved", "list"])
    _one_warning(install_patches(["dispatch"]), "moto server HTTP", "moto's module list", "lookups")
    assert not moto_server.installed()
