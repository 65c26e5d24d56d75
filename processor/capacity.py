"""What DynamoDB bills for the store's requests, counted from the items themselves, so the
processor can log its read and write units per invocation on any backend (moto and DynamoDB
Local do not report consumed capacity the way DynamoDB does) and `tumble cost` can price them.

The rules, from the DynamoDB Developer Guide ("Item sizes and formats", "Read consistency",
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
an item's size is the UTF-8 length of its attribute names plus their values; a Query reads
the total size of the items it returns, rounded up to 4 KB, one unit per 4 KB strongly
consistent and half that eventually consistent (index Queries always are); a write costs one
unit per 1 KB of the item, rounded up."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "EVENTUALLY_CONSISTENT_FACTOR",
    "READ_UNIT_BYTES",
    "WRITE_UNIT_BYTES",
    "item_size",
    "query_read_units",
    "write_units",
]

# DynamoDB: one read request unit reads up to 4 KB strongly consistent (two eventually
# consistent); one write request unit writes up to 1 KB.
READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
EVENTUALLY_CONSISTENT_FACTOR = 0.5
# A list or map costs 3 bytes plus 1 byte per element on top of its elements (Developer Guide).
CONTAINER_OVERHEAD_BYTES = 3


def _value_size(value: Mapping[str, Any]) -> int:
    kind, content = next(iter(value.items()))
    if kind == "S":
        return len(str(content).encode())
    if kind == "N":
        digits = str(content).lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return CONTAINER_OVERHEAD_BYTES + sum(1 + _value_size(v) for v in content)
    if kind == "M":
        return CONTAINER_OVERHEAD_BYTES + sum(
            1 + len(k.encode()) + _value_size(v) for k, v in content.items()
        )
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in content)
    raise ValueError(f"unknown DynamoDB attribute type {kind!r}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes DynamoDB counts for one item in the low-level (typed) format."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def query_read_units(items: Iterable[Mapping[str, Any]], consistent: bool = False) -> float:
    """Read units of one Query page returning `items` (an empty page still costs a unit)."""
    total = sum(item_size(item) for item in items)
    units = max(1, math.ceil(total / READ_UNIT_BYTES))
    return units * (1.0 if consistent else EVENTUALLY_CONSISTENT_FACTOR)


def write_units(item: Mapping[str, Any]) -> int:
    """Write units of putting or deleting one item."""
    return max(1, math.ceil(item_size(item) / WRITE_UNIT_BYTES))
