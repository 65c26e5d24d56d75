"""A stadium against AWS's quotas: the pure model behind `tumble cost --quotas` and the report's
quota table (issue 22). For an audience on the Kinesis path, batched (one frame per spectator
per ESM batch) or not (one per event), it gives the @connections POSTs per second against API
Gateway's account throttle, the Lambda invocations and concurrency the fan-out needs, the
shards, the hourly cost line by line and the first quota that breaks; and the same audience on
AppSync Events, the managed broadcast a team might pick instead. Nothing here reads a file."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gateway_adapter.lambda_runtime.concurrency import DEFAULT_ACCOUNT_CONCURRENCY

from .cost import (
    ESM_POLL_S,
    MESSAGE_BILLING_BYTES,
    MINUTES_PER_HOUR,
    PUT_PAYLOAD_UNIT_BYTES,
    SECONDS_PER_HOUR,
    SHARD_RECORDS_PER_S,
    read_units_per_lookup,
)
from .cost_types import Load, Measured, Price, Topology

__all__ = [
    "ACCOUNT_THROTTLE_RPS",
    "APPSYNC_OUTBOUND_PER_S",
    "Choice",
    "Quota",
    "stadium_choices",
]

# API Gateway quotas: "Throttle quota per account, per Region across HTTP APIs, REST APIs,
# WebSocket APIs, and WebSocket callback APIs: 10,000 requests per second", a token bucket of
# 5,000 for bursts; can be increased (the burst is set by AWS, not by request)
# (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). Every
# @connections POST is a WebSocket callback API request.
ACCOUNT_THROTTLE_RPS = 10_000
ACCOUNT_BURST = 5_000
# "New connections per second per account (across all WebSocket APIs) per Region: 500",
# adjustable (https://docs.aws.amazon.com/apigateway/latest/developerguide/
# apigateway-execution-service-websocket-limits-table.html).
NEW_CONNECTIONS_PER_S = 500
# The same table: frame size 32 KB and message payload 128 KB, neither adjustable; messages are
# billed in 32 KB increments (tumble.cost.MESSAGE_BILLING_BYTES, the pricing page).
FRAME_MAX_BYTES = 32 * 1024
# AppSync Events: default quotas of 1,000,000 messages/s outbound and 10,000/s inbound, no limit
# on connections (re:Invent 2024 FWM302, "Real-time event patterns with WebSockets and AWS
# AppSync"; quota table: https://docs.aws.amazon.com/general/latest/gr/appsync.html, whose
# stored excerpts did not carry the figures: check there before relying on them).
APPSYNC_OUTBOUND_PER_S = 1_000_000
# How fast a stadium's audience arrives when the game starts (an assumption, not a quota): all
# of it within five minutes.
ARRIVAL_S = 300.0


@dataclass(frozen=True, slots=True)
class Quota:
    name: str
    demand: float
    limit: float
    adjustable: bool

    @property
    def ratio(self) -> float:
        return self.demand / self.limit if self.limit else math.inf


@dataclass(slots=True)
class Choice:
    """One way to serve the audience: its rates, its bill per hour, its quotas."""

    name: str
    spectators: int
    posts_per_s: float  # messages out (POSTs for API Gateway, outbound messages for AppSync)
    invocations_per_s: float
    concurrency: float
    shards: int
    latency_ms: float
    lines: dict[str, float] = field(default_factory=dict)  # line item -> $ per hour
    quotas: list[Quota] = field(default_factory=list)

    @property
    def per_hour(self) -> float:
        return sum(self.lines.values())

    def first_broken(self) -> Quota | None:
        """The quota this audience outgrows first (the highest demand over limit), if any:
        every demand grows with the audience, so the highest ratio breaks at the smallest."""
        broken = [quota for quota in self.quotas if quota.ratio >= 1]  # no headroom left
        return max(broken, key=lambda quota: quota.ratio) if broken else None


def _kinesis_choice(
    load: Load,
    batched: bool,
    topology: Topology,
    measured: Measured,
    prices: Mapping[str, Price],
    latency_ms: float,
) -> Choice:
    events = load.events_per_s
    needed = max(1, math.ceil(events / SHARD_RECORDS_PER_S))
    # Batched, every shard is one more batch a second to every spectator: the fewest shards the
    # writes need. Unbatched, shards change nothing of the POSTs: serverless.yml's.
    shards = needed if batched else max(topology.shard_count, needed)
    # about one batch a second per shard at the ESM's idle poll, never more batches than events
    batches = min(events, shards / ESM_POLL_S)
    events_per_batch = events / batches if batches else 0.0
    frames_per_s = load.spectators * (batches if batched else events)
    frame_bytes = topology.frame_bytes * (events_per_batch if batched else 1)
    frames_each = max(1, math.ceil(frame_bytes / FRAME_MAX_BYTES))  # split at 32 KB
    posts = frames_per_s * frames_each
    units = math.ceil(min(frame_bytes, FRAME_MAX_BYTES) / MESSAGE_BILLING_BYTES)
    # Little's law: POSTs/s x seconds each = executions busy at once; a worker tier splits
    # each batch into slices one invocation posts within a second.
    concurrency = posts * measured.ms_per_frame / 1000
    slices_per_batch = max(1, math.ceil(concurrency / batches)) if batches else 0
    invocations = batches * (1 + (slices_per_batch if slices_per_batch > 1 else 0))
    lookups = batches * read_units_per_lookup(load.spectators, measured.item_bytes_per_subscriber)

    def price(name: str, quantity_per_h: float) -> float:
        return quantity_per_h * prices[name].each

    h = SECONDS_PER_HOUR
    choice = Choice(
        f"Kinesis path, {'batched' if batched else 'one frame per event'}",
        load.spectators,
        posts,
        invocations,
        concurrency,
        shards,
        latency_ms,
    )
    choice.lines = {
        "API Gateway messages out": price("apigateway_websocket_message", posts * units * h),
        "API Gateway connection minutes": price(
            "apigateway_websocket_connection_minute", load.spectators * MINUTES_PER_HOUR
        ),
        "Lambda requests": price("lambda_request", invocations * h),
        "Lambda duration": price(
            "lambda_gb_second", concurrency * h * topology.stream_memory_mb / 1024
        ),
        "Kinesis shard hours": price("kinesis_shard_hour", shards),
        "Kinesis PUT payload units": price(
            "kinesis_put_payload_unit",
            events * h * math.ceil(topology.record_bytes / PUT_PAYLOAD_UNIT_BYTES),
        ),
        "DynamoDB reads": price("dynamodb_read_request_unit", lookups * h),
    }
    choice.quotas = [
        Quota("API Gateway account throttle, requests/s", posts, ACCOUNT_THROTTLE_RPS, True),
        Quota(
            "API Gateway new connections/s",
            load.spectators / ARRIVAL_S,
            NEW_CONNECTIONS_PER_S,
            True,
        ),
        Quota("Lambda concurrent executions", concurrency, DEFAULT_ACCOUNT_CONCURRENCY, True),
    ]
    return choice


def _appsync_choice(
    load: Load, batched: bool, prices: Mapping[str, Price], latency_ms: float
) -> Choice:
    """Every press (or, batched, every second of presses) published once and delivered to each
    subscriber, each a billed operation; connections billed by the minute."""
    events = load.events_per_s
    published = min(events, 1.0) if batched else events
    delivered = load.spectators * published
    operations_h = (published + delivered) * SECONDS_PER_HOUR
    choice = Choice(
        f"AppSync Events, {'one event per second of presses' if batched else 'per press'}",
        load.spectators,
        delivered,
        0.0,
        0.0,
        0,
        latency_ms,
    )
    choice.lines = {
        "AppSync Event API operations": operations_h * prices["appsync_event_operation"].each,
        "AppSync connection minutes": load.spectators
        * MINUTES_PER_HOUR
        * prices["appsync_connection_minute"].each,
    }
    choice.quotas = [
        Quota("AppSync outbound messages/s", delivered, APPSYNC_OUTBOUND_PER_S, True),
    ]
    return choice


def stadium_choices(
    load: Load,
    topology: Topology,
    measured: Measured,
    prices: Mapping[str, Price],
    latency_ms: Mapping[str, float],
) -> list[Choice]:
    """The four ways to serve `load`'s audience. `latency_ms` gives press-to-spectator times:
    "kinesis" (the ESM's poll; batching adds none) and "websocket" (a push straight through,
    what AppSync's publish-and-broadcast is assumed to cost, not measured here)."""
    kinesis, push = latency_ms["kinesis"], latency_ms["websocket"]
    return [
        _kinesis_choice(load, False, topology, measured, prices, kinesis),
        _kinesis_choice(load, True, topology, measured, prices, kinesis),
        _appsync_choice(load, False, prices, push),
        _appsync_choice(load, True, prices, kinesis),
    ]


def _money(value: float) -> str:
    return f"${value:,.2f}"


def render_quotas(by_audience: Sequence[list[Choice]]) -> str:
    """Markdown: one row per choice and audience, then the line items and the verdicts."""
    lines = [
        "| spectators | choice | messages out/s | vs 10,000 rps throttle | invocations/s "
        "| concurrency | shards | $/hour | first quota to break |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for choices in by_audience:
        for choice in choices:
            broken = choice.first_broken()
            verdict = (
                f"{broken.name}: {broken.demand:,.0f} against {broken.limit:,.0f} "
                f"({'adjustable' if broken.adjustable else 'fixed'})"
                if broken
                else "none"
            )
            throttle = (
                f"{choice.posts_per_s / ACCOUNT_THROTTLE_RPS:,.1f}x"
                if choice.name.startswith("Kinesis")
                else "not API Gateway"
            )
            lines.append(
                f"| {choice.spectators:,} | {choice.name} | {choice.posts_per_s:,.0f} "
                f"| {throttle} | {choice.invocations_per_s:,.1f} | {choice.concurrency:,.0f} "
                f"| {choice.shards} | {_money(choice.per_hour)} | {verdict} |"
            )
    lines += ["", "Hourly cost per line item:", ""]
    items = list(dict.fromkeys(k for choices in by_audience for c in choices for k in c.lines))
    header = [f"{c.spectators:,}: {c.name}" for choices in by_audience for c in choices]
    lines.append("| line item | " + " | ".join(header) + " |")
    lines.append("| --- |" + " ---: |" * len(header))
    for item in items:
        cells = [
            _money(c.lines[item]) if item in c.lines else "-"
            for choices in by_audience
            for c in choices
        ]
        lines.append(f"| {item} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "What a team would do past the throttle: batched frames divide the POSTs by the events "
        "per batch, but at 100,000 spectators one POST per spectator per batch is still about "
        "10 times the default 10,000 requests/s. Either ask for a higher API Gateway throttle "
        "(adjustable) and a Lambda concurrency increase, with a worker tier that splits each "
        "batch across parallel invocations; or move the broadcast to AppSync Events, whose "
        "default outbound quota is about 1,000,000 messages/s and which keeps no connection "
        "table. New connections (500/s, adjustable) break only when an audience arrives faster "
        f"than {NEW_CONNECTIONS_PER_S * ARRIVAL_S:,.0f} in {ARRIVAL_S / 60:g} minutes.",
    ]
    return "\n".join(lines)
