from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from messages.tokens import Role, verify
from producer.config import (
    DEFAULT_STREAM,
    ConfigProblem,
    aws_session,
    stream_name,
    token_source,
    upload_bucket,
)
from serverless_model.config import Options
from serverless_model.service import load_service
from tests.conftest import SERVERLESS_YML


def test_stream_name_precedence():
    assert stream_name("mine", {"STREAM_NAME": "env"}) == "mine"
    assert stream_name(None, {"STREAM_NAME": "env"}) == "env"
    assert stream_name(None, {}) == DEFAULT_STREAM


def test_the_default_stream_is_the_one_tumble_local_creates():
    service = load_service(SERVERLESS_YML, Options(stage="local"))
    assert service.triggers[0].stream_name == DEFAULT_STREAM
    assert service.functions["send_iot_message"].environment["STREAM_NAME"] == DEFAULT_STREAM


def test_the_standard_configuration_is_used_as_it_is(aws_endpoint: str):
    session, endpoint = aws_session({"AWS_ENDPOINT_URL": aws_endpoint, "AWS_REGION": "eu-west-1"})
    assert endpoint == aws_endpoint and session.region_name == "eu-west-1"


def test_no_region_is_a_clear_problem(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name in ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(ConfigProblem, match="AWS_REGION"):
        aws_session({})


def test_a_shipper_token_from_the_secret_verifies():
    token = token_source(None, lambda: None, {"TUMBLE_TOKEN_SECRET": "s3cret"})()
    claims = verify(b"s3cret", token)
    assert claims.role is Role.SHIPPER
    assert token_source("given", lambda: None, {})() == "given"


def test_the_secret_comes_from_the_local_ssm_parameter(aws_client: Any):
    ssm = aws_client("ssm")
    ssm.put_parameter(Name="/tumble/local/token-secret", Value="from-ssm", Type="SecureString")
    environ = {"TUMBLE_TOKEN_SECRET_PARAMETER": "/tumble/local/token-secret"}
    token = token_source(None, lambda: ssm, environ)()
    assert verify(b"from-ssm", token).role is Role.SHIPPER


def test_no_secret_anywhere_is_a_clear_problem(aws_client: Any):
    environ = {"TUMBLE_TOKEN_SECRET_PARAMETER": "/tumble/local/token-secret"}
    with pytest.raises(ConfigProblem, match=r"--token.*TUMBLE_TOKEN_SECRET.*tumble local"):
        token_source(None, lambda: aws_client("ssm"), environ)


def test_upload_bucket_precedence():
    assert upload_bucket("opt", {"UPLOAD_BUCKET": "env"}) == "opt"
    assert upload_bucket(None, {"UPLOAD_BUCKET": "env"}) == "env"


@pytest.mark.parametrize("environ", [{}, {"UPLOAD_BUCKET": ""}])
def test_no_upload_bucket_names_both_sources(environ: dict[str, str]):
    with pytest.raises(ConfigProblem, match=r"--bucket.*UPLOAD_BUCKET"):
        upload_bucket(None, environ)
