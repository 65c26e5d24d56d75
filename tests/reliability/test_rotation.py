"""A token secret rotated in SSM: the authorizer picks the new value up within its cache time
(SECRET_CACHE_S) without a restart, and during the overlap (`new,old` in the parameter) tokens
signed with either secret get in; once the parameter holds `new` alone, old tokens are denied."""

from __future__ import annotations

import time

from messages.tokens import SECRET_CACHE_S, Role, issue
from processor.handlers.authorizer import policy
from processor.token_secret import TokenSecret

PARAMETER = "/tumble/rotation/token-secret"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc/local/$connect"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def allowed(secrets: TokenSecret, token: str) -> bool:
    return policy(secrets.get(), token, ARN, time.time())[1] is None


def test_rotation_with_overlap(aws_client):
    ssm = aws_client("ssm")
    ssm.put_parameter(Name=PARAMETER, Value="old-secret", Type="SecureString")
    clock = Clock()
    secrets = TokenSecret(ssm, {"TUMBLE_TOKEN_SECRET_PARAMETER": PARAMETER}, clock=clock)
    expires = int(time.time()) + 3600
    old = issue(b"old-secret", Role.VIEWER, "old", expires)
    new = issue(b"new-secret", Role.VIEWER, "new", expires)
    assert allowed(secrets, old) and not allowed(secrets, new)

    ssm.put_parameter(Name=PARAMETER, Value="new-secret,old-secret", Overwrite=True)
    assert not allowed(secrets, new)  # still the cached value...
    clock.now += SECRET_CACHE_S
    assert allowed(secrets, new) and allowed(secrets, old)  # ...until the cache time is up

    ssm.put_parameter(Name=PARAMETER, Value="new-secret", Overwrite=True)
    clock.now += SECRET_CACHE_S
    assert allowed(secrets, new) and not allowed(secrets, old)
    assert policy(secrets.get(), old, ARN, time.time())[1] == "bad signature"
