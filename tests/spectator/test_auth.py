from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from messages.tokens import Role, verify
from spectator.auth import SecretMissing, resolve_secret, viewer_token


def _no_ssm() -> Any:
    raise AssertionError("SSM must not be asked when the variable is set")


def test_the_variable_wins() -> None:
    assert resolve_secret({"TUMBLE_TOKEN_SECRET": "s3cret"}, _no_ssm) == b"s3cret"


LOCAL = {"TUMBLE_TOKEN_SECRET_PARAMETER": "/tumble/local/token-secret"}


def test_the_named_parameter_is_the_fallback(aws_client: Callable[[str], Any]) -> None:
    ssm = aws_client("ssm")
    ssm.put_parameter(Name=LOCAL["TUMBLE_TOKEN_SECRET_PARAMETER"], Value="new,old", Type="String")
    assert resolve_secret(LOCAL, lambda: ssm) == b"new"  # the newest of a rotation signs


def test_no_secret_anywhere_says_what_to_do(aws_client: Callable[[str], Any]) -> None:
    with pytest.raises(SecretMissing, match=r"TUMBLE_TOKEN_SECRET.*tumble local"):
        resolve_secret(LOCAL, lambda: aws_client("ssm"))


def test_viewer_token_verifies_as_a_viewer() -> None:
    claims = verify(b"k", viewer_token(b"k", subject="race-page", ttl_s=60))
    assert claims.role is Role.VIEWER
    assert claims.subject == "race-page"
