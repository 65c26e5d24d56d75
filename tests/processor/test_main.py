"""`python -m processor`: handlers invoked from a shell as Lambda would invoke them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def run(*args: str, stdin: str = "", env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, "-m", "processor", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1", **(env or {})},
    )


def printed(stdout: str) -> dict:
    """The handler's result: the JSON after the processor's one-line logs."""
    return json.loads(stdout[stdout.index("{\n") :])


def test_invoke_prints_what_the_handler_returned():
    event = {"type": "REQUEST", "methodArn": "arn:x", "queryStringParameters": {}}
    done = run(
        "invoke", "authorizer", stdin=json.dumps(event), env={"TUMBLE_TOKEN_SECRET": "s3cret"}
    )
    assert done.returncode == 0, done.stderr
    policy = printed(done.stdout)["policyDocument"]["Statement"][0]
    assert policy["Effect"] == "Deny"


def test_a_handler_error_is_reported_as_lambda_does():
    done = run("invoke", "submit_iot_event", stdin="{}", env={"CONNECTIONS_TABLE": ""})
    assert done.returncode == 1
    assert printed(done.stdout) == {
        "errorType": "RuntimeError",
        "errorMessage": "CONNECTIONS_TABLE is not set (serverless.yml provider.environment)",
    }


def test_bad_input_is_refused_clearly():
    assert run("invoke", "authorizer", stdin="not json").returncode == 2
    assert "not JSON" in run("invoke", "authorizer", stdin="not json").stderr
    assert run("unknown").returncode == 2
    assert run("token", "--secret", "x").returncode == 2  # `tumble token` issues tokens
