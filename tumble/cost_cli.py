"""`tumble cost`: the I/O around tumble.cost's model. It reads the prices (tumble/prices.json),
serverless.yml (memory, shards, batch size), the wire sizes (the messages package) and the
fan-out benchmark's measurements (the newest results/ run that has them, else results/example,
else the defaults below, measured by one run on the project's VM), then prints every line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from messages import Source, encode_kinesis_data, spectator_frame, submit_envelope
from producer.simulate import nes_click

from .cost import (
    Estimate,
    LineItem,
    Load,
    Measured,
    Price,
    Topology,
    crossover_presses_per_s,
    estimate,
)
from .cost_types import plural
from .quotas import Choice, render_quotas, stadium_choices

__all__ = [
    "DEFAULT_MEASURED",
    "STADIUM",
    "load_prices",
    "main",
    "measured_from",
    "quota_choices",
    "render",
    "topology_from",
]

ROOT = Path(__file__).resolve().parent.parent
PRICES = Path(__file__).resolve().parent / "prices.json"
SERVERLESS_YML = ROOT / "serverless.yml"
RESULTS = ROOT / "results"
EXAMPLE = RESULTS / "example"
# The fan-out benchmark's figures when no results JSON is there (one make bench run on the
# project's 2-core VM; results/example/fanout.json holds the run).
DEFAULT_MEASURED = Measured(
    fixed_ms=3.2,
    ms_per_frame=1.75,
    item_bytes_per_subscriber=128.0,
    write_units_per_event=0.0,
    source="built-in defaults (tumble/cost_cli.py)",
)
STADIUM = Load(players=4, presses_per_s=10.0, spectators=10_000)
AUDIENCES = (10_000, 100_000)
# Press to spectator, p50, in the example run's race (results/example, poll 1.0 s): the
# quota table's latencies when no race figures are given.
DEFAULT_LATENCY_MS = {"websocket": 4.9, "kinesis": 526.0}


def load_prices(region: str, path: Path = PRICES) -> tuple[dict[str, Price], dict[str, Any]]:
    document = json.loads(path.read_text())
    regions = document["regions"]
    if region not in regions:
        raise KeyError(
            f"no prices for region {region!r} in {path.name} (it has: {', '.join(regions)})"
        )
    prices = {
        name: Price(float(entry["price"]), int(entry["per"]), entry["unit"], entry["source_url"])
        for name, entry in regions[region].items()
    }
    return prices, document


def topology_from(config: Mapping[str, Any]) -> Topology:
    """Memory per function, shard count and batch size as serverless.yml gives them; the
    sizes of a press on the wire, from the messages package."""
    provider = config.get("provider", {})
    functions = config.get("functions", {})
    default_mb = int(provider.get("memorySize", 1024))  # the Framework's default

    def memory(name: str) -> int:
        return int(functions.get(name, {}).get("memorySize", default_mb))

    stream: Mapping[str, Any] = next(
        (
            event["stream"]
            for event in functions.get("send_iot_message", {}).get("events", [])
            if isinstance(event, dict) and "stream" in event
        ),
        {},
    )
    shards = int(config.get("params", {}).get("default", {}).get("shardCount", 1))
    event = nes_click("green", "A")  # what a simulated player sends
    frame = spectator_frame(event, Source.KINESIS, event.message)
    return Topology(
        submit_memory_mb=memory("submit_iot_event"),
        stream_memory_mb=memory("send_iot_message"),
        shard_count=shards,
        batch_size=int(stream.get("batchSize", 100)),
        submit_bytes=len(submit_envelope(event).encode()),
        record_bytes=len(encode_kinesis_data(event)),
        frame_bytes=len(frame.encode()),
    )


def measured_from(fanout: Mapping[str, Any], source: str) -> Measured:
    """Handler time per invocation and per frame, and bytes per subscriber item, from a
    fanout.json: the biggest subscriber step gives the time per frame, the crowd sweep's
    quickest step (10 subscribers) the rest of an invocation."""
    figures = fanout["figures"]
    by_subscribers = figures["by_subscribers"]["steps"]
    widest = max(by_subscribers, key=lambda step: step["subscribers"])
    ms_per_frame = widest["seconds"] * 1000 / max(widest["frames"], 1)
    # the quietest step: on moto, every connection in the table slows the index Query
    alone = min(figures["by_non_matching"]["steps"], key=lambda step: step["ms_per_event"])
    fixed = max(1.0, alone["ms_per_event"] - alone["delivered"] * ms_per_frame)
    return Measured(
        fixed_ms=fixed,
        ms_per_frame=ms_per_frame,
        item_bytes_per_subscriber=widest["item_bytes_per_subscriber"],
        write_units_per_event=float(widest.get("write_units_per_event", 0.0)),
        source=source,
    )


def find_measured(results: Path = RESULTS) -> Measured:
    """The newest run's fan-out figures, else results/example's, else the defaults."""
    runs = sorted((p for p in results.glob("2*") if (p / "fanout.json").exists()), reverse=True)
    for folder in [*runs, EXAMPLE]:
        path = folder / "fanout.json"
        try:
            return measured_from(json.loads(path.read_text()), str(path.relative_to(ROOT)))
        except (OSError, KeyError, ValueError):
            continue
    return DEFAULT_MEASURED


def _money(value: float) -> str:
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def render(priced: Estimate, crossover: float | None, document: Mapping[str, Any]) -> str:
    """Markdown: one row per line item, the two paths side by side, then the totals."""
    load = priced.load
    lines = [
        f"Tumble on AWS, {priced.region}: {plural(load.players, 'player')} x "
        f"{load.presses_per_s:g} presses/s = {load.events_per_s:g} presses/s, "
        f"{plural(load.spectators, 'spectator')}, {load.hours:g} h of play a month "
        f"(prices read {document['read_on']}, USD, no free tier)",
        "",
        "| service | line | WebSocket path, quantity per hour | per month "
        "| Kinesis path, quantity per hour | per month | basis |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    rows: dict[tuple[str, str], dict[str, LineItem]] = {}
    for item in priced.lines:
        rows.setdefault((item.service, item.item), {})[item.path] = item
    for (service, name), by_path in rows.items():
        cells: list[str] = []
        for path in ("websocket", "kinesis"):
            found = by_path.get(path)
            cells += (
                [f"{found.quantity_per_hour:,.1f} {found.unit}", _money(found.per_month)]
                if found
                else ["-", "-"]
            )
        bases = list(dict.fromkeys(item.basis for item in by_path.values()))
        lines.append(f"| {service} | {name} | {' | '.join(cells)} | {'; '.join(bases)} |")
    totals = [
        f"**{_money(total(path))}**"
        for path in ("websocket", "kinesis")
        for total in (priced.total_per_hour, priced.total_per_month)
    ]
    lines.append(f"| | **total, per hour and per month** | {' | '.join(totals)} | |")
    lines.append("")
    if crossover is None:
        lines.append("The Kinesis path is never the cheaper at these players and spectators.")
    else:
        lines.append(
            f"The Kinesis path costs less than the WebSocket path above {crossover:,.3g} presses/s "
            f"per player ({crossover * load.players:,.3g} presses/s in all) at this many "
            "players and spectators."
        )
    lines += [f"- {note}" for note in priced.notes]
    sources = sorted({line.source for line in priced.lines})
    lines.append("- prices: " + ", ".join(sources))
    return "\n".join(lines)


def price_load(
    load: Load, region: str = "us-east-1", measured: Measured | None = None
) -> tuple[Estimate, float | None, dict[str, Any]]:
    """The estimate, the crossover and the prices document for one load (the report passes
    its own run's measurements)."""
    prices, document = load_prices(region)
    topology = topology_from(yaml.safe_load(SERVERLESS_YML.read_text()))
    measured = measured or find_measured()
    hours_per_month = float(document.get("hours_per_month", 730))
    priced = estimate(load, topology, measured, prices, region, hours_per_month)
    crossover = crossover_presses_per_s(load, topology, measured, prices, region)
    return priced, crossover, document


def quota_choices(
    players: int,
    presses_per_s: float,
    region: str = "us-east-1",
    measured: Measured | None = None,
    latency_ms: Mapping[str, float] | None = None,
    audiences: tuple[int, ...] = AUDIENCES,
) -> list[list[Choice]]:
    """Every choice for each audience, priced with serverless.yml and the measured figures."""
    prices, _ = load_prices(region)
    topology = topology_from(yaml.safe_load(SERVERLESS_YML.read_text()))
    measured = measured or find_measured()
    return [
        stadium_choices(
            Load(players, presses_per_s, audience),
            topology,
            measured,
            prices,
            latency_ms or DEFAULT_LATENCY_MS,
        )
        for audience in audiences
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tumble cost", description=__doc__)
    parser.add_argument("--players", type=int, default=4)
    parser.add_argument("--presses-per-s", type=float, default=10.0, help="per player")
    parser.add_argument("--spectators", type=int, default=1)
    parser.add_argument("--hours", type=float, default=730.0, help="hours of play a month")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.add_argument(
        "--quotas",
        action="store_true",
        help="also 10,000 and 100,000 spectators, batched and not and on AppSync Events, "
        "against AWS's quotas",
    )
    args = parser.parse_args(argv)
    for name in ("players", "spectators", "presses_per_s", "hours"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    load = Load(args.players, args.presses_per_s, args.spectators, args.hours)
    try:
        priced, crossover, document = price_load(load, args.region)
    except (KeyError, ValueError) as error:
        print(f"tumble cost: {error.args[0]}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**priced.as_dict(), "kinesis_cheaper_above_presses_per_s": crossover}))
    else:
        print(render(priced, crossover, document))
    if args.quotas:
        choices = quota_choices(args.players, args.presses_per_s, args.region)
        print("\n" + render_quotas(choices))
    return 0
