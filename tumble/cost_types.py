"""The cost model's inputs and outputs (tumble.cost): plain values, no I/O."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["PATHS", "Estimate", "LineItem", "Load", "Measured", "Price", "Topology", "plural"]

PATHS = ("websocket", "kinesis")


@dataclass(frozen=True, slots=True)
class Price:
    price: float
    per: int
    unit: str
    source: str

    @property
    def each(self) -> float:
        return self.price / self.per


@dataclass(frozen=True, slots=True)
class Load:
    players: int
    presses_per_s: float  # per player
    spectators: int  # each subscribed to every press
    hours: float = 730.0  # hours of play a month

    @property
    def events_per_s(self) -> float:
        return self.players * self.presses_per_s


@dataclass(frozen=True, slots=True)
class Topology:
    """What serverless.yml says (and the wire contract's sizes, from the messages package)."""

    submit_memory_mb: int
    stream_memory_mb: int
    shard_count: int
    batch_size: int
    submit_bytes: int  # one submitIotEvent frame
    record_bytes: int  # one Kinesis record
    frame_bytes: int  # one spectator frame


@dataclass(frozen=True, slots=True)
class Measured:
    """From the benchmarks' results JSON (`source` says which file)."""

    fixed_ms: float  # a handler invocation apart from its posts
    ms_per_frame: float  # each @connections post, at the fan-out's concurrency
    item_bytes_per_subscriber: float  # a subscription item in the index
    write_units_per_event: float  # removing gone connections: 0 in steady state
    source: str


@dataclass(frozen=True, slots=True)
class LineItem:
    path: str
    service: str
    item: str
    quantity_per_hour: float
    unit: str
    per_hour: float
    per_month: float
    basis: str
    source: str


@dataclass(slots=True)
class Estimate:
    load: Load
    region: str
    lines: list[LineItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def total_per_hour(self, path: str) -> float:
        return sum(line.per_hour for line in self.lines if line.path == path)

    def total_per_month(self, path: str) -> float:
        return sum(line.per_month for line in self.lines if line.path == path)

    def as_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "load": {**asdict(self.load), "events_per_s": self.load.events_per_s},
            "lines": [asdict(line) for line in self.lines],
            "totals": {
                path: {
                    "per_hour": self.total_per_hour(path),
                    "per_month": self.total_per_month(path),
                }
                for path in PATHS
            },
            "notes": self.notes,
        }


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
