from __future__ import annotations

import pytest

from messages.tokens import SecretMissing
from processor.token_secret import TokenSecret


def test_the_variable_wins_and_ssm_is_not_asked(aws_client):
    secret = TokenSecret(aws_client("ssm"), {"TUMBLE_TOKEN_SECRET": "direct", "X": "y"})
    assert secret.get() == (b"direct",)


def test_the_ssm_parameter_is_read_once_and_kept(aws_client):
    ssm = aws_client("ssm")
    ssm.put_parameter(Name="/tumble/test/token-secret", Value="one", Type="SecureString")
    secret = TokenSecret(ssm, {"TUMBLE_TOKEN_SECRET_PARAMETER": "/tumble/test/token-secret"})
    assert secret.get() == (b"one",)
    ssm.put_parameter(
        Name="/tumble/test/token-secret", Value="two", Type="SecureString", Overwrite=True
    )
    assert secret.get() == (b"one",)  # cached while warm


def test_nothing_configured_is_a_clear_error(aws_client):
    with pytest.raises(SecretMissing, match="TUMBLE_TOKEN_SECRET"):
        TokenSecret(aws_client("ssm"), {}).get()


def test_a_missing_parameter_raises(aws_client):
    ssm = aws_client("ssm")
    with pytest.raises(SecretMissing, match="/nope") as raised:
        TokenSecret(ssm, {"TUMBLE_TOKEN_SECRET_PARAMETER": "/nope"}).get()
    assert isinstance(raised.value.__cause__, ssm.exceptions.ParameterNotFound)


def test_a_failure_is_not_kept_so_a_later_call_can_succeed(aws_client):
    ssm = aws_client("ssm")
    secret = TokenSecret(ssm, {"TUMBLE_TOKEN_SECRET_PARAMETER": "/tumble/test/later"})
    with pytest.raises(SecretMissing):
        secret.get()
    ssm.put_parameter(Name="/tumble/test/later", Value="now", Type="SecureString")
    assert secret.get() == (b"now",)


def test_the_lambda_has_no_default_parameter(aws_client):
    ssm = aws_client("ssm")
    ssm.put_parameter(
        Name="/tumble/local/token-secret", Value="local", Type="SecureString", Overwrite=True
    )
    with pytest.raises(SecretMissing, match="TUMBLE_TOKEN_SECRET_PARAMETER"):
        TokenSecret(ssm, {}).get()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_rotated_secret_is_read_within_the_cache_time(aws_client):
    ssm = aws_client("ssm")
    name = "/tumble/test/rotated"
    ssm.put_parameter(Name=name, Value="old", Type="SecureString", Overwrite=True)
    clock = FakeClock()
    secret = TokenSecret(ssm, {"TUMBLE_TOKEN_SECRET_PARAMETER": name}, ttl_s=60, clock=clock)
    assert secret.get() == (b"old",)
    ssm.put_parameter(Name=name, Value="new,old", Type="SecureString", Overwrite=True)
    clock.now += 59
    assert secret.get() == (b"old",)
    clock.now += 1
    assert secret.get() == (b"new", b"old")  # the overlap: both verify, the new one signs
    ssm.put_parameter(Name=name, Value="new", Type="SecureString", Overwrite=True)
    clock.now += 60
    assert secret.get() == (b"new",)


def test_a_failed_refresh_keeps_the_last_good_secrets(aws_client):
    ssm = aws_client("ssm")
    name = "/tumble/test/deleted"
    ssm.put_parameter(Name=name, Value="kept", Type="SecureString", Overwrite=True)
    clock = FakeClock()
    secret = TokenSecret(ssm, {"TUMBLE_TOKEN_SECRET_PARAMETER": name}, ttl_s=60, clock=clock)
    assert secret.get() == (b"kept",)
    ssm.delete_parameter(Name=name)
    clock.now += 61
    assert secret.get() == (b"kept",)
    ssm.put_parameter(Name=name, Value="back", Type="SecureString", Overwrite=True)
    assert secret.get() == (b"back",)  # the failed refresh did not wait out another TTL
