from __future__ import annotations

import base64
import json
import time
import urllib.parse

import pytest

from messages.tokens import (
    PARAMETER_ENV,
    SECRET_ENV,
    Claims,
    Role,
    SecretMissing,
    TokenError,
    issue,
    parse_ttl,
    read_parameter,
    resolve_secret,
    resolve_secrets,
    verify,
    with_token,
)

SECRET = b"s3cret"
NOW = 1_700_000_000


def test_round_trip_keeps_role_subject_and_expiry():
    token = issue(SECRET, "shipper", "red-player", NOW + 60)
    assert verify(SECRET, token, NOW) == Claims(Role.SHIPPER, "red-player", NOW + 60)


def _tamper_claims(token: str, **changes: object) -> str:
    body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{raw}.{signature}"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("no-dot-here", "malformed"),
        ("a.b.c", "malformed"),
        (12345, "malformed"),
        ("x" * 2000 + ".y", "malformed"),
        ("abc.def", "bad signature"),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(token, reason):
    with pytest.raises(TokenError, match=reason):
        verify(SECRET, token, NOW)


def test_tampered_role_is_refused():
    token = issue(SECRET, "viewer", "v", NOW + 60)
    with pytest.raises(TokenError, match="bad signature"):
        verify(SECRET, _tamper_claims(token, r="shipper"), NOW)


def test_other_secret_is_refused():
    with pytest.raises(TokenError, match="bad signature"):
        verify(b"other", issue(SECRET, "viewer", "v", NOW + 60), NOW)


def test_expired_token_is_refused_at_its_expiry():
    token = issue(SECRET, "viewer", "v", NOW)
    with pytest.raises(TokenError, match="expired"):
        verify(SECRET, token, NOW)
    assert verify(SECRET, token, NOW - 1).role is Role.VIEWER


def test_signed_but_malformed_claims_are_refused():
    import hashlib
    import hmac

    for claims in ({"r": "admin", "s": "x", "e": NOW + 9}, {"r": "viewer", "s": "x", "e": "1"}):
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        mac = hmac.new(SECRET, body.encode(), hashlib.sha256).digest()
        signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        with pytest.raises(TokenError, match="malformed"):
            verify(SECRET, f"{body}.{signature}", NOW)


def test_no_secret_refuses_everything():
    with pytest.raises(TokenError, match="secret"):
        verify(b"", "a.b", NOW)
    with pytest.raises(ValueError, match="secret"):
        issue(b"", "viewer", "v", NOW)


def test_issue_checks_role_and_subject():
    with pytest.raises(ValueError):
        issue(SECRET, "admin", "x", NOW)
    with pytest.raises(ValueError, match="subject"):
        issue(SECRET, "viewer", "", NOW)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800)]
)
def test_parse_ttl(text, seconds):
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["0", "1w", "-5m", "h", ""])
def test_parse_ttl_refuses_nonsense(text):
    with pytest.raises(ValueError, match="bad ttl"):
        parse_ttl(text)


def _never() -> object:
    raise AssertionError("SSM must not be asked")


def test_the_variable_wins_and_no_parameter_is_read():
    environ = {SECRET_ENV: "direct", PARAMETER_ENV: "/p"}
    assert resolve_secret(environ, _never) == b"direct"


def test_the_named_parameter_is_read_when_the_variable_is_empty(aws_client):
    ssm = aws_client("ssm")
    ssm.put_parameter(Name="/p", Value="from-ssm", Type="SecureString")
    assert resolve_secret({PARAMETER_ENV: "/p"}, lambda: ssm) == b"from-ssm"
    assert resolve_secret({SECRET_ENV: "", PARAMETER_ENV: "/p"}, lambda: ssm) == b"from-ssm"
    assert read_parameter(ssm, "/p") == "from-ssm"


def test_nothing_configured_says_what_to_set():
    with pytest.raises(SecretMissing, match=f"{SECRET_ENV} or {PARAMETER_ENV}"):
        resolve_secret({}, _never)


def test_a_failing_read_names_the_parameter_and_keeps_the_cause(aws_client):
    ssm = aws_client("ssm")
    with pytest.raises(SecretMissing, match=r"SSM parameter /p readable.*ParameterNotFound") as e:
        resolve_secret({PARAMETER_ENV: "/p"}, lambda: ssm)
    assert isinstance(e.value.__cause__, ssm.exceptions.ParameterNotFound)


def test_an_empty_parameter_is_refused(aws_client):
    ssm = aws_client("ssm")
    ssm.put_parameter(Name="/p", Value=" , ", Type="String")
    with pytest.raises(SecretMissing, match="/p is empty"):
        resolve_secret({PARAMETER_ENV: "/p"}, lambda: ssm)


def test_a_rotation_lists_new_then_old_and_both_verify():
    secrets = resolve_secrets({SECRET_ENV: "new, old"}, _never)
    assert secrets == (b"new", b"old")
    old_token = issue(b"old", Role.VIEWER, "v", int(time.time()) + 60)
    new_token = issue(secrets[0], Role.VIEWER, "v", int(time.time()) + 60)
    assert verify(secrets, old_token).subject == "v"
    assert verify(secrets, new_token).subject == "v"
    with pytest.raises(TokenError, match="bad signature"):
        verify((b"new",), old_token)  # the overlap is over once the old one is dropped
    with pytest.raises(TokenError, match="no token secret"):
        verify((), new_token)


def test_the_token_joins_the_query_string_replacing_an_old_one():
    assert with_token("ws://h/local", "a+b") == "ws://h/local?token=a%2Bb"
    assert with_token("ws://h/local?x=1", "t") == "ws://h/local?x=1&token=t"
    url = with_token("ws://127.0.0.1:3001/local?x=1&token=old", "a+b/c")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query == {"x": ["1"], "token": ["a+b/c"]}
