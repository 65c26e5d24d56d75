"""`tumble token`: flags, the secret's sources and the exit codes."""

from __future__ import annotations

import boto3
import pytest

from messages.tokens import Role, verify
from tumble.token import main


def test_cli_prints_a_verifiable_token(capsys):
    assert main(["--role", "shipper", "--ttl", "1h", "--subject", "p1", "--secret", "k"]) == 0
    claims = verify(b"k", capsys.readouterr().out.strip())
    assert (claims.role, claims.subject) == (Role.SHIPPER, "p1")


def test_cli_takes_the_secret_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("TUMBLE_TOKEN_SECRET", "from-env")
    assert main(["--role", "viewer"]) == 0
    assert verify(b"from-env", capsys.readouterr().out.strip()).subject == "viewer"


def test_cli_reads_the_local_stack_parameter(capsys, monkeypatch, aws_client):
    aws_client("ssm").put_parameter(
        Name="/tumble/local/token-secret", Value="from-ssm", Type="SecureString"
    )
    monkeypatch.delenv("TUMBLE_TOKEN_SECRET", raising=False)
    monkeypatch.delenv("TUMBLE_TOKEN_SECRET_PARAMETER", raising=False)
    assert main(["--role", "viewer"]) == 0
    assert verify(b"from-ssm", capsys.readouterr().out.strip()).role is Role.VIEWER


def test_cli_reads_the_parameter_a_deployment_names(capsys, monkeypatch, aws_client):
    aws_client("ssm").put_parameter(
        Name="/tumble/dev/token-secret", Value="from-dev", Type="SecureString", Overwrite=True
    )
    monkeypatch.delenv("TUMBLE_TOKEN_SECRET", raising=False)
    monkeypatch.setenv("TUMBLE_TOKEN_SECRET_PARAMETER", "/tumble/dev/token-secret")
    assert main(["--role", "shipper"]) == 0
    assert verify(b"from-dev", capsys.readouterr().out.strip()).role is Role.SHIPPER


def test_cli_without_any_secret_says_so(capsys, monkeypatch, fresh_aws):
    monkeypatch.delenv("TUMBLE_TOKEN_SECRET", raising=False)
    monkeypatch.delenv("TUMBLE_TOKEN_SECRET_PARAMETER", raising=False)
    assert main(["--role", "viewer"]) == 2
    err = capsys.readouterr().err
    assert "no secret" in err
    assert "--secret" in err and "/tumble/local/token-secret" in err


def test_cli_refuses_a_bad_ttl():
    with pytest.raises(SystemExit):
        main(["--ttl", "soon", "--secret", "k"])


def test_cli_reads_a_parameter_named_on_the_command_line(capsys, monkeypatch, fresh_aws):
    """`tumble deploy` prints this form for a deployed stage: the flags win over the variables."""
    ssm = boto3.Session(region_name="eu-west-1").client("ssm", endpoint_url=fresh_aws)
    ssm.put_parameter(Name="/tumble/prod/token-secret", Value="from-prod", Type="SecureString")
    monkeypatch.setenv("TUMBLE_TOKEN_SECRET", "not-this-one")
    monkeypatch.setenv("TUMBLE_TOKEN_SECRET_PARAMETER", "/tumble/local/token-secret")
    args = ["--role", "viewer", "--region", "eu-west-1", "--parameter", "/tumble/prod/token-secret"]
    assert main(args) == 0
    assert verify(b"from-prod", capsys.readouterr().out.strip()).role is Role.VIEWER
