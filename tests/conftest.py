"""Fixtures shared by every test: the embedded AWS backend (moto's server on a free loopback
port, reached over HTTP like any AWS endpoint) and Tumble's resources bootstrapped on it."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from gateway_adapter.embedded.backend import EmbeddedAws
from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import Options
from serverless_model.service import Service, load_service

ROOT = Path(__file__).resolve().parent.parent
SERVERLESS_YML = ROOT / "serverless.yml"
REGION = "us-east-1"
# serverless.yml's stream on stage `test`, the stage of `tumble_service` and the processor's.
TEST_STREAM = "tumble-test-iot-events"
TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """The embedded backend, and the standard AWS variables pointing at it for everything in
    this process (handlers find their endpoints exactly as they would in Lambda)."""
    with EmbeddedAws("127.0.0.1") as aws, pytest.MonkeyPatch.context() as scoped:
        for name, value in {**TEST_ENV, "AWS_ENDPOINT_URL": aws.endpoint_url}.items():
            scoped.setenv(name, value)
        yield aws.endpoint_url


@pytest.fixture
def fresh_aws(aws_endpoint: str) -> str:
    """The embedded backend with every resource of earlier tests removed."""
    request = urllib.request.Request(f"{aws_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    return aws_endpoint


@pytest.fixture
def aws_client(fresh_aws: str) -> Callable[[str], Any]:
    make: Callable[..., Any] = boto3.Session(region_name=REGION).client  # named at run time
    return lambda name: make(name, endpoint_url=fresh_aws)


@pytest.fixture
def tumble_service(aws_client: Callable[[str], Any]) -> Service:
    """serverless.yml as the local stack reads it (stage `test`), its resources created."""
    account = aws_client("sts").get_caller_identity()["Account"]
    service = load_service(SERVERLESS_YML, Options(stage="test", region=REGION, account_id=account))
    bootstrap_resources(service, aws_client)
    return service
