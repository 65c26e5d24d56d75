"""The dispatch caches answer what moto computes each time, and the server still routes every
service the stack uses (DynamoDB, Kinesis, S3, SSM, STS) with them installed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import backends
from moto.core import responses
from moto.dynamodb.responses import DynamoHandler
from moto.kinesis.responses import KinesisResponse

from gateway_adapter import moto_server_speedups


@pytest.fixture
def speedup() -> Iterator[None]:
    moto_server_speedups.install()
    try:
        yield
    finally:
        moto_server_speedups.uninstall()
    assert not moto_server_speedups.installed()


def test_cached_answers_are_moto_answers():
    modules = list(backends.list_of_moto_modules())
    names = {
        cls: set(responses.method_names_from_class(cls)) for cls in (DynamoHandler, KinesisResponse)
    }
    moto_server_speedups.install()
    try:
        assert moto_server_speedups.installed()
        assert list(backends.list_of_moto_modules()) == modules
        assert "dynamodb" in modules and "kinesis" in modules
        for cls, expected in names.items():
            assert set(responses.method_names_from_class(cls)) == expected
            assert "query" in expected or "get_records" in expected
    finally:
        moto_server_speedups.uninstall()


def test_every_service_of_the_stack_still_answers(aws_client: Callable[[str], Any], speedup):
    assert aws_client("sts").get_caller_identity()["Account"]
    assert aws_client("dynamodb").list_tables()["TableNames"] == []
    assert aws_client("kinesis").list_streams()["StreamNames"] == []
    assert aws_client("s3").list_buckets()["Buckets"] == []
    assert aws_client("ssm").describe_parameters()["Parameters"] == []
    with pytest.raises(aws_client("dynamodb").exceptions.ResourceNotFoundException):
        aws_client("dynamodb").describe_table(TableName="nothing")
