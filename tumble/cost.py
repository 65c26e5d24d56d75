"""What the pipeline costs on AWS for a load: the pure model behind `tumble cost`.

Each path is priced as if it carried every press alone (the race sends each press on both, so
the race's bill is their sum), line by line. Quantities come from the load, from serverless.yml
(memory, shard count, batch size) and from what the benchmarks measured (handler time per
invocation and per frame, read units per subscriber lookup); prices from tumble/prices.json.
Nothing here reads a file: `tumble.cost_cli` gathers the inputs and prints."""

from __future__ import annotations

import math
from collections.abc import Mapping

from processor.capacity import EVENTUALLY_CONSISTENT_FACTOR, READ_UNIT_BYTES

from .cost_types import PATHS, Estimate, LineItem, Load, Measured, Price, Topology, plural

__all__ = [
    "Estimate",
    "LineItem",
    "Load",
    "Measured",
    "Price",
    "Topology",
    "crossover_presses_per_s",
    "estimate",
    "kinesis_invocations",
    "kinesis_lanes",
]

# API Gateway WebSocket: messages are metered in 32 KB increments (pricing page).
MESSAGE_BILLING_BYTES = 32 * 1024
# Kinesis: a PUT payload unit is a 25 KB chunk of a record (pricing page).
PUT_PAYLOAD_UNIT_BYTES = 25 * 1024
# Kinesis shard write quota: 1,000 records or 1 MiB per second.
SHARD_RECORDS_PER_S = 1000
SHARD_BYTES_PER_S = 1024 * 1024
# Lambda's event source mapping polls each shard once a second while idle, and runs up to
# ParallelizationFactor (at most 10) batches of one shard at once.
ESM_POLL_S = 1.0
MAX_PARALLELIZATION_FACTOR = 10
# The busiest a batch lane is planned to be (the rest is headroom for bursts).
LANE_UTILIZATION = 0.8
# Lambda bills duration rounded up to the next millisecond.
LAMBDA_BILLING_MS = 1.0
# API Gateway WebSocket: a connection lasts at most 2 hours, so a client connects again at least
# that often. Each connection costs, by the handlers' own requests: the authorizer, $connect,
# subscribe and $disconnect invocations (shippers skip subscribe); the subscribe message and its
# answer; DynamoDB writes: the connection item (1), the subscribe transaction of the connection
# and one subscription item (2 x 2, transactional writes cost double), and deleting both (2).
CONNECTION_MAX_S = 2 * 3600
SETUP_INVOCATIONS = {"spectator": 4, "shipper": 3}
SETUP_MESSAGES = {"spectator": 2, "shipper": 0}
SETUP_WRITE_UNITS = {"spectator": 7, "shipper": 3}
SECONDS_PER_HOUR = 3600
MINUTES_PER_HOUR = 60


def read_units_per_lookup(subscribers: int, item_bytes: float) -> float:
    """One eventually consistent index Query returning every subscriber's item."""
    pages = max(1, math.ceil(subscribers * item_bytes / READ_UNIT_BYTES))
    return pages * EVENTUALLY_CONSISTENT_FACTOR


def billed_ms(duration_ms: float) -> float:
    return math.ceil(duration_ms / LAMBDA_BILLING_MS) * LAMBDA_BILLING_MS


def kinesis_lanes(load: Load, measured: Measured, shard_count: int) -> tuple[int, int]:
    """(shards, parallelization factor) that keep up with the fan-out: one batch lane handles
    at most a second of posting per second, so a big audience needs more lanes; the factor
    (free) is raised before the shards (billed)."""
    busy_s_per_s = load.events_per_s * load.spectators * measured.ms_per_frame / 1000
    lanes = max(1, math.ceil(busy_s_per_s / LANE_UTILIZATION))
    if lanes <= shard_count * MAX_PARALLELIZATION_FACTOR:
        return shard_count, max(1, math.ceil(lanes / shard_count))
    return math.ceil(lanes / MAX_PARALLELIZATION_FACTOR), MAX_PARALLELIZATION_FACTOR


def kinesis_invocations(
    load: Load, topology: Topology, measured: Measured, lanes: int
) -> tuple[float, float, float]:
    """(invocations/s, records per batch, ms per invocation) of send_iot_message: each batch
    lane (shard x parallelization factor) takes what arrived since its last poll, once a second
    while it keeps up, back to back when an invocation outlasts the poll period. Raises when
    the lanes cannot keep up."""
    events = load.events_per_s
    if events <= 0:
        return 0.0, 0.0, 0.0
    per_shard = events / lanes
    per_record_ms = load.spectators * measured.ms_per_frame
    # A batch holds what arrived during the period T = max(poll, invocation time).
    if per_shard * per_record_ms / 1000 >= 1:
        raise ValueError(
            f"the Kinesis path cannot keep up: {per_shard:.0f} records/s per lane x "
            f"{per_record_ms:.1f} ms each exceeds a second per second"
        )
    period_s = max(ESM_POLL_S, measured.fixed_ms / 1000 / (1 - per_shard * per_record_ms / 1000))
    batch = min(float(topology.batch_size), max(1.0, per_shard * period_s))
    invocations = events / batch
    return invocations, batch, measured.fixed_ms + batch * per_record_ms


def _line(
    estimate: Estimate,
    path: str,
    price: Price,
    service: str,
    item: str,
    per_hour_quantity: float,
    basis: str,
    month_hours: float | None = None,
) -> None:
    per_hour = per_hour_quantity * price.each
    hours = estimate.load.hours if month_hours is None else month_hours
    estimate.lines.append(
        LineItem(
            path,
            service,
            item,
            per_hour_quantity,
            price.unit,
            per_hour,
            per_hour * hours,
            basis,
            price.source,
        )
    )


SETUP_LINES = (
    (
        "Lambda",
        "lambda_request",
        "set-up: authorizer, $connect, subscribe, $disconnect",
        SETUP_INVOCATIONS,
    ),
    (
        "API Gateway",
        "apigateway_websocket_message",
        "set-up: subscribe and its answer",
        SETUP_MESSAGES,
    ),
    (
        "DynamoDB",
        "dynamodb_write_request_unit",
        "set-up: connection and subscription items",
        SETUP_WRITE_UNITS,
    ),
)


def _setup_lines(result: Estimate, path: str, prices: Mapping[str, Price], shippers: int) -> None:
    """Connecting, subscribing and disconnecting, once per connection lifetime at most."""
    spectators = result.load.spectators
    connections_h = SECONDS_PER_HOUR / CONNECTION_MAX_S
    who = plural(spectators, "spectator") + (
        f" + {plural(shippers, 'shipper')}" if shippers else ""
    )
    for service, price, item, counts in SETUP_LINES:
        quantity = connections_h * (spectators * counts["spectator"] + shippers * counts["shipper"])
        basis = f"{who} reconnecting every {CONNECTION_MAX_S // 3600} h"
        _line(result, path, prices[price], service, item, quantity, basis)


def estimate(
    load: Load,
    topology: Topology,
    measured: Measured,
    prices: Mapping[str, Price],
    region: str,
    hours_per_month: float = 730.0,
) -> Estimate:
    """Every line item of both paths for one load."""
    result = Estimate(load, region)
    events_h = load.events_per_s * SECONDS_PER_HOUR
    frames_h = events_h * load.spectators
    message_units = math.ceil(topology.frame_bytes / MESSAGE_BILLING_BYTES)
    lookup_units = read_units_per_lookup(load.spectators, measured.item_bytes_per_subscriber)
    for path in PATHS:
        _line(
            result,
            path,
            prices["apigateway_websocket_message"],
            "API Gateway",
            "messages out: a frame per spectator per press",
            frames_h * message_units,
            f"{plural(load.spectators, 'spectator')} x {load.events_per_s:g} presses/s, "
            f"{topology.frame_bytes} B frames",
        )
    # -- the WebSocket path: every press is a message in and an invocation ----------------
    submit_ms = billed_ms(measured.fixed_ms + load.spectators * measured.ms_per_frame)
    _line(
        result,
        "websocket",
        prices["apigateway_websocket_message"],
        "API Gateway",
        "messages in: submitIotEvent",
        events_h * math.ceil(topology.submit_bytes / MESSAGE_BILLING_BYTES),
        f"{load.events_per_s:g} presses/s, {topology.submit_bytes} B each",
    )
    _line(
        result,
        "websocket",
        prices["apigateway_websocket_connection_minute"],
        "API Gateway",
        "connection minutes",
        (load.players + load.spectators) * MINUTES_PER_HOUR,
        f"{plural(load.players, 'shipper')} + {plural(load.spectators, 'spectator')} connected",
    )
    _line(
        result,
        "websocket",
        prices["lambda_request"],
        "Lambda",
        "requests",
        events_h,
        "submit_iot_event, one per press",
    )
    _line(
        result,
        "websocket",
        prices["lambda_gb_second"],
        "Lambda",
        "duration",
        events_h * submit_ms / 1000 * topology.submit_memory_mb / 1024,
        f"submit_iot_event: {submit_ms:.0f} ms x {topology.submit_memory_mb} MB per press",
    )
    _line(
        result,
        "websocket",
        prices["dynamodb_read_request_unit"],
        "DynamoDB",
        "reads: subscriber lookups",
        events_h * lookup_units,
        f"{lookup_units:g} read units per lookup of {plural(load.spectators, 'subscriber')}",
    )
    # -- the Kinesis path: records into shards, a batch per poll ----------------------------
    needed = max(
        math.ceil(load.events_per_s / SHARD_RECORDS_PER_S),
        math.ceil(load.events_per_s * topology.record_bytes / SHARD_BYTES_PER_S),
    )
    shards, factor = kinesis_lanes(load, measured, max(topology.shard_count, needed))
    if shards > topology.shard_count:
        result.notes.append(
            f"the load needs {shards} shards (serverless.yml has {topology.shard_count})"
        )
    if factor > 1:
        result.notes.append(
            f"the fan-out needs ParallelizationFactor {factor} to keep up (serverless.yml: 1)"
        )
    invocations_s, batch, batch_ms = kinesis_invocations(load, topology, measured, shards * factor)
    invocations_h = invocations_s * SECONDS_PER_HOUR
    _line(
        result,
        "kinesis",
        prices["kinesis_shard_hour"],
        "Kinesis",
        "shard hours (the stream exists all month)",
        shards,
        f"{shards} shards",
        month_hours=hours_per_month,
    )
    _line(
        result,
        "kinesis",
        prices["kinesis_put_payload_unit"],
        "Kinesis",
        "PUT payload units",
        events_h * math.ceil(topology.record_bytes / PUT_PAYLOAD_UNIT_BYTES),
        f"{load.events_per_s:g} records/s, {topology.record_bytes} B each",
    )
    _line(
        result,
        "kinesis",
        prices["apigateway_websocket_connection_minute"],
        "API Gateway",
        "connection minutes",
        load.spectators * MINUTES_PER_HOUR,
        f"{plural(load.spectators, 'spectator')} connected (players put to Kinesis)",
    )
    _line(
        result,
        "kinesis",
        prices["lambda_request"],
        "Lambda",
        "requests",
        invocations_h,
        f"send_iot_message: {invocations_s:.2f} batches/s of {batch:.1f} records, "
        f"{shards} shards x {factor}",
    )
    _line(
        result,
        "kinesis",
        prices["lambda_gb_second"],
        "Lambda",
        "duration",
        invocations_h * billed_ms(batch_ms) / 1000 * topology.stream_memory_mb / 1024,
        f"send_iot_message: {billed_ms(batch_ms):.0f} ms x {topology.stream_memory_mb} MB "
        "per batch",
    )
    _line(
        result,
        "kinesis",
        prices["dynamodb_read_request_unit"],
        "DynamoDB",
        "reads: subscriber lookups",
        invocations_h * lookup_units,
        f"{lookup_units:g} read units per lookup, one per batch",
    )
    for path in PATHS:
        _setup_lines(result, path, prices, load.players if path == "websocket" else 0)
    for path in PATHS:
        _line(
            result,
            path,
            prices["dynamodb_write_request_unit"],
            "DynamoDB",
            "writes: removing gone connections",
            events_h * measured.write_units_per_event,
            f"{measured.write_units_per_event:g} write units per press (measured)",
        )
    result.notes.append(f"handler times and read units from {measured.source}")
    return result


def crossover_presses_per_s(
    load: Load,
    topology: Topology,
    measured: Measured,
    prices: Mapping[str, Price],
    region: str,
    low: float = 1e-3,
    high: float = 1e5,
) -> float | None:
    """Presses per second per player (players and spectators as in `load`) above which the
    Kinesis path costs less per month than the WebSocket path; None if that never happens in
    [low, high] (or the Kinesis path stops keeping up first)."""

    def kinesis_cheaper(rate: float) -> bool | None:
        at = Load(load.players, rate, load.spectators, load.hours)
        try:
            priced = estimate(at, topology, measured, prices, region)
        except ValueError:
            return None
        return priced.total_per_month("kinesis") < priced.total_per_month("websocket")

    if kinesis_cheaper(low):
        return low
    grid = [low * float((high / low) ** (step / 60)) for step in range(61)]
    previous = low
    for rate in grid[1:]:
        verdict = kinesis_cheaper(rate)
        if verdict is None:
            return None
        if verdict:
            lo, hi = previous, rate
            for _ in range(40):
                middle = math.sqrt(lo * hi)
                lo, hi = (lo, middle) if kinesis_cheaper(middle) else (middle, hi)
            return hi
        previous = rate
    return None
