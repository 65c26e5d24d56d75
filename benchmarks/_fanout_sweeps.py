"""The fan-out's curves for the report, each on a fresh table so earlier steps leave nothing
behind (moto answers an index Query by scanning its whole table):

- frames per second against the subscriber count (1, 10, 100, 1,000), a batch of events of
  one type fanned out as send_iot_message does, with the read units each lookup cost;
- time per event against the connections that do not match (0 to 10,000), 10 subscribers.

The read units per lookup and the bytes per subscriber item are what `tumble cost` prices
DynamoDB's reads with."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator, Sequence
from typing import Any

import boto3

from benchmarks import results
from benchmarks.common import CLICK
from messages import Event, Source, Subscription
from processor.pipeline import Pipeline
from processor.store import Connection, ConnectionStore

__all__ = ["crowd_sweep", "record_sweeps", "subscriber_sweep"]

SUBSCRIBER_COUNTS = (1, 10, 100, 1000)
CROWD_SIZES = (0, 1000, 3000, 10_000)
_tables = itertools.count()


def _fresh_store(pipeline: Pipeline) -> ConnectionStore:
    """A new table shaped like the pipeline's own (keys and sparse index)."""
    db = boto3.client("dynamodb")
    shape = db.describe_table(TableName=pipeline.store.table)["Table"]
    name = f"{shape['TableName']}-sweep-{next(_tables)}"
    indexes: list[Any] = [  # the description's index shape, less what create_table refuses
        {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        for index in shape.get("GlobalSecondaryIndexes", [])
    ]
    db.create_table(
        TableName=name,
        AttributeDefinitions=shape["AttributeDefinitions"],
        KeySchema=shape["KeySchema"],
        GlobalSecondaryIndexes=indexes,
        BillingMode="PAY_PER_REQUEST",
    )
    db.get_waiter("table_exists").wait(TableName=name)
    return ConnectionStore(db, name, pipeline.store.index)


def _connections(prefix: str, count: int, domain: str) -> Iterator[Connection]:
    for index in range(count):
        yield Connection(f"{prefix}{index:06d}=", domain, "bench", "viewer", "bench", 0)


def subscriber_sweep(
    pipeline: Pipeline, domain: str, frames_per_step: int, counts: Sequence[int] = SUBSCRIBER_COUNTS
) -> dict[str, Any]:
    wanted = [Subscription.from_dict({"event_type": "NESClick"})]
    steps: list[dict[str, Any]] = []
    for count in counts:
        store = _fresh_store(pipeline)
        store.put_many((c, wanted) for c in _connections(f"s{count}-", count, domain))
        sweep = Pipeline(store, pipeline.deliverer, pipeline.runner)
        events = max(1, min(500, frames_per_step // count))
        batch = [(i, Event.create("NESClick", CLICK)) for i in range(events)]
        sweep.fan_out(batch[:1], Source.KINESIS)  # warm the endpoint's connections
        started = time.perf_counter()
        report = sweep.fan_out(batch, Source.KINESIS)
        elapsed = time.perf_counter() - started
        lookup = report.lookups["NESClick"]
        steps.append(
            {
                "subscribers": count,
                "events": events,
                "frames": report.delivered,
                "seconds": elapsed,
                "frames_per_s": report.delivered / elapsed,
                "read_units_per_lookup": lookup.read_units,
                "write_units_per_event": report.write_units / events,
                "item_bytes_per_subscriber": lookup.item_bytes / max(lookup.items, 1),
            }
        )
        print(
            f"sweep: {count:>5,} subscribers, {events} events: {report.delivered:,} frames in "
            f"{elapsed:.2f} s = {report.delivered / elapsed:,.0f} frames/s; "
            f"lookup {lookup.read_units:g} read units ({lookup.items} items)"
        )
    return {"steps": steps}


def crowd_sweep(
    pipeline: Pipeline, domain: str, repeat: int, sizes: Sequence[int] = CROWD_SIZES
) -> dict[str, Any]:
    store = _fresh_store(pipeline)
    wanted = [Subscription.from_dict({"event_type": "NESClick"})]
    others = [Subscription.from_dict({"event_type": "DashClick"})]
    store.put_many((c, wanted) for c in _connections("ten", 10, domain))
    sweep = Pipeline(store, pipeline.deliverer, pipeline.runner)
    event = [(0, Event.create("NESClick", CLICK))]
    sweep.fan_out(event, Source.KINESIS)
    steps: list[dict[str, Any]] = []
    crowd = 0
    for size in sorted(sizes):
        # Half subscribe to another type, half to nothing; none to NESClick.
        added = _connections(f"crowd{size}-", size - crowd, domain)
        store.put_many((c, others if i % 2 else []) for i, c in enumerate(added))
        crowd = size
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            report = sweep.fan_out(event, Source.KINESIS)
            samples.append(time.perf_counter() - started)
        lookup = report.lookups["NESClick"]
        steps.append(
            {
                "non_matching": size,
                "ms_per_event": statistics.median(samples) * 1000,
                "index_items": lookup.items,
                "read_units_per_lookup": lookup.read_units,
                "delivered": report.delivered,
            }
        )
        print(
            f"sweep: 10 subscribers among {size:>6,} others: "
            f"{statistics.median(samples) * 1000:.1f} ms per event, index items {lookup.items}"
        )
    return {"steps": steps}


def record_sweeps(pipeline: Pipeline, domain: str, quick: bool) -> None:
    """Both sweeps (smaller with --quick), saved in the run's fanout.json."""
    frames, repeat = (300, 3) if quick else (3000, 7)
    sizes = (0, 300, 1000) if quick else CROWD_SIZES
    subscribers = subscriber_sweep(pipeline, domain, frames)
    crowd = crowd_sweep(pipeline, domain, repeat, sizes)
    results.record(
        "fanout",
        parameters={"frames_per_step": frames, "repeat": repeat},
        figures={"by_subscribers": subscribers, "by_non_matching": crowd},
    )
