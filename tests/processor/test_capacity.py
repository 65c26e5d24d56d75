"""DynamoDB's billing rules for the store's requests, counted from the items (pure)."""

from __future__ import annotations

import pytest

from processor.capacity import item_size, query_read_units, write_units


def test_item_size_counts_names_and_values_as_dynamodb_does():
    assert item_size({"id": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 digits: 3 bytes + 1
    assert item_size({"ok": {"BOOL": True}, "no": {"NULL": True}}) == 3 + 3
    assert item_size({"l": {"L": [{"S": "ab"}, {"S": "c"}]}}) == 1 + 3 + (1 + 2) + (1 + 1)
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + 1 + 1 + 1
    assert item_size({"é": {"S": "é"}}) == 4  # UTF-8 bytes, not characters


def test_query_read_units_round_the_total_up_to_4_kb_and_halve_for_eventual():
    small = [{"a": {"S": "x" * 100}} for _ in range(10)]
    assert query_read_units(small) == 0.5
    assert query_read_units(small, consistent=True) == 1.0
    big = [{"a": {"S": "x" * 999}} for _ in range(9)]  # 9,000 bytes: three 4 KB units
    assert query_read_units(big) == 1.5
    assert query_read_units([]) == 0.5  # an empty page is still a read


def test_write_units_are_per_started_kilobyte():
    assert write_units({"a": {"S": "x"}}) == 1
    assert write_units({"a": {"S": "x" * 1100}}) == 2


def test_an_unknown_attribute_type_is_refused():
    with pytest.raises(ValueError, match="unknown DynamoDB attribute type"):
        item_size({"a": {"Q": "?"}})
