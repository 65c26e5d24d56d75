"""`tumble deploy`'s prerequisites, each failing with its fix: against the embedded backend's
STS and SSM, and a PATH without node or a deploy/ without the Framework."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import boto3
import pytest

from tests.conftest import SERVERLESS_YML
from tumble.deploy import Framework, FrameworkError, PrerequisiteError
from tumble.deploy.checks import check_credentials, check_secret, put_secret_command
from tumble.deploy.cli import Deployer, deploy_main
from tumble.deploy.framework import _node_major

PARAMETER = "/tumble/prod/token-secret"


def test_credentials_name_the_account(aws_client):
    identity = check_credentials(aws_client("sts"))
    assert identity.account == "123456789012" and identity.arn.startswith("arn:aws:")


def test_no_credentials_say_how_to_give_some(fresh_aws, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    sts = boto3.Session(region_name="us-east-1").client("sts", endpoint_url=fresh_aws)
    with pytest.raises(PrerequisiteError, match=r"no AWS credentials found: run `aws configure`"):
        check_credentials(sts)


def test_a_missing_secret_prints_the_command_that_creates_it(aws_client):
    with pytest.raises(PrerequisiteError) as caught:
        check_secret(aws_client("ssm"), PARAMETER, "us-east-1")
    message = str(caught.value)
    assert f"the token secret {PARAMETER} does not exist in us-east-1" in message
    command = message.splitlines()[-1].strip()
    assert command == put_secret_command(PARAMETER, "us-east-1")
    words = shlex.split(command)
    assert words[:3] == ["aws", "ssm", "put-parameter"]
    assert words[words.index("--type") + 1] == "SecureString"
    assert words[words.index("--name") + 1] == PARAMETER


def test_the_printed_command_makes_a_parameter_the_check_accepts(aws_client):
    """What `aws ssm put-parameter` as printed would do, done through the same API."""
    words = shlex.split(put_secret_command(PARAMETER, "us-east-1"))
    ssm = aws_client("ssm")
    ssm.put_parameter(
        Name=words[words.index("--name") + 1], Type=words[words.index("--type") + 1], Value="s"
    )
    assert check_secret(ssm, PARAMETER, "us-east-1") == f"{PARAMETER} (SecureString, version 1)"


def test_a_plain_string_secret_is_refused_with_the_replacement(aws_client):
    ssm = aws_client("ssm")
    ssm.put_parameter(Name=PARAMETER, Type="String", Value="visible")
    with pytest.raises(PrerequisiteError, match="is a String, not a SecureString") as caught:
        check_secret(ssm, PARAMETER, "us-east-1")
    assert f"aws ssm delete-parameter --region us-east-1 --name {PARAMETER}" in str(caught.value)


def test_node_missing_from_path_is_named(tmp_path):
    with pytest.raises(FrameworkError, match="node is not on PATH"):
        Framework(tmp_path).check({"PATH": str(tmp_path)})


def test_a_framework_not_installed_says_how_to_install_it(tmp_path):
    with pytest.raises(FrameworkError, match=r"not installed .* run `make deploy`"):
        Framework(tmp_path, install=tmp_path / "deploy").check(os.environ)


def test_a_config_of_another_name_is_passed_to_the_framework(tmp_path):
    assert Framework(tmp_path).command("package")[2:] == ["package"]
    named = Framework(tmp_path, config="other.yml").command("deploy", "--stage", "s")
    assert named[2:] == ["deploy", "--stage", "s", "--config", "other.yml"]


@pytest.mark.parametrize(("output", "major"), [("v20.20.2\n", 20), ("v16.1.0", 16), ("", None)])
def test_node_versions_are_read(output, major):
    assert _node_major(output) == major


def test_the_checks_stop_at_the_first_missing_prerequisite(aws_client):
    """Credentials pass, the secret is missing: nothing is built and nothing shipped."""

    class Refusing:
        def check(self, environ):
            raise AssertionError("the tooling is checked only after the secret")

        def run(self, arguments, environ):
            raise AssertionError("nothing ships when a prerequisite is missing")

    said: list[str] = []
    deployer = Deployer(SERVERLESS_YML, aws_client, Refusing(), environ={}, say=said.append)
    deployer.build = lambda config, stage: pytest.fail("nothing is built either")
    with pytest.raises(PrerequisiteError, match="put-parameter"):
        deployer.deploy("prod", "us-east-1")
    assert len(said) == 1 and said[0].startswith("  ok  credentials")


def test_deploy_refuses_a_local_endpoint(aws_endpoint, capsys):
    assert os.environ["AWS_ENDPOINT_URL"] == aws_endpoint  # the session's backend
    assert deploy_main(["--stage", "prod"]) == 2
    assert "AWS_ENDPOINT_URL is set" in capsys.readouterr().err


def test_remove_says_what_it_keeps(aws_client, tmp_path):
    class Recording:
        calls: list[list[str]] = []

        def check(self, environ):
            return "recorded"

        def run(self, arguments, environ):
            self.calls.append(arguments)

    said: list[str] = []
    shipper = Recording()
    Deployer(Path(SERVERLESS_YML), aws_client, shipper, environ={}, say=said.append).remove(
        "prod", "eu-west-1"
    )
    assert shipper.calls == [["remove", "--stage", "prod", "--region", "eu-west-1"]]
    bucket = "tumble-prod-uploads-123456789012"
    assert f"aws s3 rb s3://{bucket} --force --region eu-west-1" in said[-2]
    assert PARAMETER in said[-1]
