"""Untrusted JSON in: a ValidationError naming the field, whatever the malformation."""

from __future__ import annotations

import pytest

from messages import ValidationError
from messages.decoding import MAX_INPUT_BYTES, MAX_JSON_DEPTH, check_value, loads
from messages.errors import shown
from messages.tokens import TokenError, verify


def refused(data: str | bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        loads(data, "body")
    return caught.value


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ("[" * 5_000 + "]" * 5_000, "body", "is nested deeper than 8 levels"),
        ("[" * 100_000, "body", "is nested deeper than 8 levels"),  # past json's own limit
        ('{"a":' * 9 + "1" + "}" * 9, "a.a.a.a.a.a.a.a", "is nested deeper than 8 levels"),
        ('{"n":' + "9" * 5_000 + "}", "body", "is not usable JSON"),
        ('{"n":' + "9" * 20 + "}", "n", "is outside"),
        ('{"x":[1e999]}', "x[0]", "must be a finite number"),
        ('{"x":NaN}', "x", "must be a finite number"),
        ('{"x":-Infinity}', "x", "must be a finite number"),
        ('{"x":"\\ud800"}', "x", "contains a lone surrogate"),
        ('{"\\udfff":1}', "body", "has a key that contains a lone surrogate"),
        (b"\xff\xfe\x00", "body", "is not"),
        ("", "body", "is not JSON"),
        ("x" * (MAX_INPUT_BYTES + 1), "body", f"more than {MAX_INPUT_BYTES}"),
    ],
)
def test_malformed_input_names_the_field(data, field, reason):
    error = refused(data)
    assert error.field == field
    assert reason in error.reason


def test_the_deepest_allowed_value_and_ordinary_json_pass():
    deep = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert loads(deep, "body") is not None
    assert loads(b'{"a":[1,2.5,"\\u00e9",true,null]}', "body") == {
        "a": [1, 2.5, "\u00e9", True, None]
    }


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"a": {1: 2}}, "a"),
        ({"a": [object()]}, "a[0]"),
        ({"a": 10**5000}, "a"),
        ({"a": float("inf")}, "a"),
    ],
)
def test_decoded_values_are_checked_the_same_way(value, field):
    with pytest.raises(ValidationError) as caught:
        check_value(value)
    assert caught.value.field == field


def test_an_error_never_echoes_a_whole_value():
    assert shown("x" * 10_000) == repr("x" * 48) + "..."
    assert shown("\ud800") == repr("\\ud800")
    assert shown(10**5000) == "a int"
    assert shown([[1]]) == "a list"


@pytest.mark.parametrize("token", ["abc.\u00e9", "a\ud800.b", "\u00e9" * 10 + ".x"])
def test_a_token_that_is_not_ascii_is_malformed_not_a_crash(token):
    with pytest.raises(TokenError, match="malformed token"):
        verify(b"secret", token, 0)
