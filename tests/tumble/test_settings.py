"""The one rule for what a `tumble` command or a local stack's child assumes when nothing is
configured (tumble.settings.local_environment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tumble.settings import (
    LOCAL_AWS_ENDPOINT,
    LOCAL_SECRET_PARAMETER,
    apply_client_defaults,
    local_environment,
)


@pytest.fixture(autouse=True)
def no_profiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_nothing_configured_means_the_local_stack():
    env = local_environment({})
    assert env["AWS_ENDPOINT_URL"] == LOCAL_AWS_ENDPOINT
    assert (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) == ("test", "test")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["TUMBLE_TOKEN_SECRET_PARAMETER"] == LOCAL_SECRET_PARAMETER


def test_what_is_configured_is_kept():
    given = {
        "AWS_ACCESS_KEY_ID": "AKIA",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_REGION": "eu-west-1",
        "TUMBLE_TOKEN_SECRET_PARAMETER": "/tumble/prod/token-secret",
    }
    env = local_environment(given)
    assert "AWS_ENDPOINT_URL" not in env  # real credentials and no endpoint: AWS itself
    assert {k: env[k] for k in given} == given
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_a_configured_endpoint_without_credentials_gets_the_test_pair():
    env = local_environment({"AWS_ENDPOINT_URL_KINESIS": "http://127.0.0.1:9"})
    assert "AWS_ENDPOINT_URL" not in env and env["AWS_ACCESS_KEY_ID"] == "test"


def test_the_stack_endpoint_wins_and_this_process_credentials_do_not_count(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "mine")
    env = local_environment({"AWS_ENDPOINT_URL": "http://elsewhere"}, "http://127.0.0.1:1")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:1"
    assert env["AWS_ACCESS_KEY_ID"] == "test"  # the children get `env`, not os.environ


def test_client_defaults_fill_the_environment_in_place():
    environ: dict[str, str] = {"AWS_REGION": "eu-west-1"}
    apply_client_defaults(environ)
    assert environ["AWS_ENDPOINT_URL"] == LOCAL_AWS_ENDPOINT
    assert environ["AWS_REGION"] == "eu-west-1"
