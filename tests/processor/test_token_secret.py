from __future__ import annotations

import pytest

from processor.token_secret import SecretMissing, TokenSecret


def test_the_variable_wins_and_ssm_is_not_asked(aws_client):
    secret = TokenSecret(aws_client("ssm"), {"TUMBLE_TOKEN_SECRET": "direct", "X": "y"})
    assert secret.get() == b"direct"


def test_the_ssm_parameter_is_read_once_and_kept(aws_client):
    ssm = aws_client("ssm")
    ssm.put_parameter(Name="/tumble/test/token-secret", Value="one", Type="SecureString")
    secret = TokenSecret(ssm, {"TUMBLE_TOKEN_SECRET_PARAMETER": "/tumble/test/token-secret"})
    assert secret.get() == b"one"
    ssm.put_parameter(
        Name="/tumble/test/token-secret", Value="two", Type="SecureString", Overwrite=True
    )
    assert secret.get() == b"one"  # cached while warm


def test_nothing_configured_is_a_clear_error(aws_client):
    with pytest.raises(SecretMissing, match="TUMBLE_TOKEN_SECRET"):
        TokenSecret(aws_client("ssm"), {}).get()


def test_a_missing_parameter_raises(aws_client):
    ssm = aws_client("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        TokenSecret(ssm, {"TUMBLE_TOKEN_SECRET_PARAMETER": "/nope"}).get()
