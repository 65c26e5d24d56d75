"""REPORT.md and its charts from one results folder: `build_report` is the pure part (results
documents and cost tables in, Markdown and PNG bytes out); `write_report` reads the folder,
prices the race's load and a stadium's with `tumble cost`'s model, and writes the files next to
the JSON. `tumble bench report DIR` runs it on any folder, `make bench` at the end of a run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import plots
from benchmarks.results import load_run

__all__ = ["build_report", "cost_tables", "quota_section", "race_latency_ms", "write_report"]

Document = Mapping[str, Any]
CHARTS: dict[str, tuple[str, Callable[[Document], bytes]]] = {
    "race": ("race.png", plots.race_chart),
    "fanout": ("fanout.png", plots.fanout_chart),
    "stream_trigger": ("stream_trigger.png", plots.stream_trigger_chart),
    "gateway": ("gateway.png", plots.gateway_chart),
    "stadium": ("stadium.png", plots.stadium_chart),
}
ORDER = ("race", "fanout", "stream_trigger", "gateway", "stadium", "producer", "soak")


def _n(value: Any, digits: int = 1) -> str:
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return "-"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


RACE_BACKENDS = {"embedded": "embedded", "localstack": "LocalStack"}
# What differs on LocalStack's lap, and why its numbers differ (README: LocalStack).
LOCALSTACK_NOTE = (
    "On the LocalStack lap (host mode, no Docker) Kinesis is LocalStack's kinesis-mock (a node "
    "process behind LocalStack's Python gateway, `KINESIS_LATENCY=0`), S3, SSM, SQS, SNS and "
    "STS are LocalStack's, and DynamoDB stays on the embedded backend (host mode cannot run "
    "DynamoDB Local). The gateway, the stream trigger and the handlers are the same code on "
    "both. Each Kinesis call crosses two servers there (LocalStack's gateway, then "
    "kinesis-mock), so PutRecords' acknowledgement and every GetRecords take longer than on "
    "the embedded backend; the wait for the next poll is the same half interval on both. "
    "Where PutRecords' acknowledgement runs into seconds, LocalStack's gateway is saturated by "
    "the lap's load (the players' batches beside the race's puts): puts queue, and the "
    "Kinesis path measures that queue, not the path."
)


def _race(doc: Document) -> list[str]:
    rows = []
    laps = sorted(
        doc["figures"].values(),
        key=lambda f: (f.get("backend", "embedded") != "embedded", -f["poll_interval_s"]),
    )
    for figures in laps:
        backend = RACE_BACKENDS.get(figures.get("backend", "embedded"), "?")
        poll = f"{figures['poll_interval_s']:g} s"
        for path, label in (("websocket", "WebSocket (baseline)"), ("kinesis", "Kinesis")):
            stats = figures[path]
            numbers = [_n(stats.get(k)) for k in ("mean", "p50", "p95", "p99")]
            rows.append([backend, poll, label, *numbers, str(stats.get("count", 0))])
        rows.append(
            [
                backend,
                poll,
                "Kinesis: PutRecords acknowledged",
                *[_n(figures.get("put_ack", {}).get(k)) for k in ("mean", "p50", "p95", "p99")],
                "",
            ]
        )
        rows.append(
            [
                backend,
                poll,
                "Kinesis: wait for the poll",
                _n(figures.get("poll_wait_ms")),
                "",
                "",
                "",
                f"expected {_n(figures['expected_wait_ms'], 0)}",
            ]
        )
    header = ["backend", "poll", "path", "mean ms", "p50 ms", "p95 ms", "p99 ms", "n"]
    lines = _table(header, rows)
    skipped = doc.get("parameters", {}).get("localstack_skipped")
    if skipped:
        lines.append(f"\nNo LocalStack lap: {skipped}.")
    elif any(f.get("backend") == "localstack" for f in doc["figures"].values()):
        lines += ["", LOCALSTACK_NOTE]
    return lines


def _fanout(doc: Document) -> list[str]:
    figures = doc["figures"]
    by_subscribers = figures.get("by_subscribers", {}).get("steps", [])
    lines = _table(
        ["subscribers", "events", "frames", "frames/s", "read units per lookup"],
        [
            [
                f"{s['subscribers']:,}",
                str(s["events"]),
                f"{s['frames']:,}",
                _n(s["frames_per_s"], 0),
                f"{s['read_units_per_lookup']:g}",
            ]
            for s in by_subscribers
        ],
    )
    lines.append("")
    lines += _table(
        ["non-matching connections", "ms per event", "index items read"],
        [
            [f"{s['non_matching']:,}", _n(s["ms_per_event"]), str(s["index_items"])]
            for s in figures.get("by_non_matching", {}).get("steps", [])
        ],
    )
    return lines


def _stream_trigger(doc: Document) -> list[str]:
    figures = doc["figures"]
    lines = _table(
        ["latency, PutRecords to handler", "mean ms", "p50 ms", "n"],
        [
            [name, _n(v["mean_ms"]), _n(v["p50_ms"]), str(v["count"])]
            for name, v in figures.get("latency", {}).items()
        ],
    )
    lines.append("")
    lines += _table(
        ["backend", "trigger records/s", "bare GetRecords records/s (baseline)"],
        [
            [name, _n(figures[name]["trigger_per_s"], 0), _n(figures[name]["bare_per_s"], 0)]
            for name in ("embedded", "plain_moto")
            if name in figures
        ],
    )
    lines.append("")
    lines += _table(
        ["batch size", "records", "records/s"],
        [
            [f"{s['batch_size']:,}", f"{s['records']:,}", _n(s["per_s"], 0)]
            for s in figures.get("by_batch_size", [])
        ],
    )
    return lines


GATEWAY_ROWS = (
    ("@connections deliveries/s", "posts_per_s", 0),
    ("server CPU per delivery, us", "server_us_per_post", 0),
    ("echo round trip p50, ms", "p50_ms", 2),
    ("echo round trip p99, ms", "p99_ms", 2),
    ("RSS with the idle connections, MB", "rss_mb", 0),
    ("RSS per 1,000 idle connections, MB", "rss_per_1000_idle_mb", 1),
)


def _gateway(doc: Document) -> list[str]:
    figures = doc["figures"]
    missing = figures.get("missing", {})
    servers = ("gateway", "baseline", "serverless_offline")
    rows = []
    for label, key, digits in GATEWAY_ROWS:
        cells = [
            _n(figures[name][key], digits) if name in figures else "not measured"
            for name in servers
        ]
        rows.append([label, *cells])
    lines = _table(["", "gateway_adapter", "bare aiohttp (baseline)", "serverless-offline"], rows)
    idle = doc.get("parameters", {}).get("idle")
    if idle:
        lines.append(f"\n{idle:,} idle connections held.")
    lines += [f"\nserverless-offline not measured: {reason}" for reason in missing.values()]
    return lines


STADIUM_ROWS = (
    ("spectators connected and subscribed", "spectators", 0),
    ("seconds to connect them all", "connect_s", 1),
    ("presses put on the stream", "events_sent", 0),
    ("events delivered", "events_delivered", 0),
    ("events expected (every press to every spectator)", "events_expected", 0),
    ("spectators that got every press", "spectators_with_every_event", 0),
    ("frames per spectator per second", "frames_per_spectator_per_s", 1),
    ("ESM batches (send_iot_message invocations)", "esm_batches", 0),
    ("frames per spectator per ESM batch, at most", "max_frames_per_spectator_per_batch", 2),
    ("events out of their player's order (sampled spectators)", "events_out_of_order", 0),
    ("talk-style clients beside the crowd: frames", "talk_frames", 0),
    ("talk-style clients beside the crowd: events", "talk_events", 0),
    ("press to spectator p50, ms", "p50_ms", 0),
    ("press to spectator p99, ms", "p99_ms", 0),
    ("batches that split into slices (fan-out over the post budget)", "split_batches", 0),
    ("slices, and fanout_worker invocations", "slices_and_workers", 0),
    ("frames dropped: the client was not reading (429 after retries)", "frames_dropped", 0),
    ("connections closed for never reading", "frames_closed", 0),
    ("frames failed or abandoned by the endpoint", "frames_failed_or_abandoned", 0),
    ("gateway + processor CPU, cores", "gateway_cpu_s_per_s", 2),
    ("gateway + processor peak RSS, MB", "gateway_peak_rss_mb", 0),
    ("embedded backend CPU, cores", "backend_cpu_s_per_s", 2),
    ("embedded backend peak RSS, MB", "backend_peak_rss_mb", 0),
)


STADIUM_CROWDS = ("unbatched", "batched", "batched_split")


def _cell(value: Any, digits: int) -> str:
    return value if isinstance(value, str) else _n(value, digits)


def _stadium_derived(row: dict[str, Any]) -> dict[str, Any]:
    """Rows that join two figures (absent from runs that predate them)."""
    if "slices" not in row:
        return row
    joined = f"{row['slices']:,} / {row['worker_invocations']:,}"
    lost = row.get("frames_failed", 0) + row.get("frames_abandoned", 0)
    return {**row, "slices_and_workers": joined, "frames_failed_or_abandoned": lost}


def _stadium(doc: Document) -> list[str]:
    figures = {name: _stadium_derived(row) for name, row in doc["figures"].items()}
    crowds = [name for name in STADIUM_CROWDS if name in figures]
    rows = [
        [
            label,
            *(
                figures[name].get("skipped", "-")
                if "skipped" in figures.get(name, {})
                else _cell(figures.get(name, {}).get(key), digits)
                for name in crowds
            ),
        ]
        for label, key, digits in STADIUM_ROWS
    ]
    slices = doc.get("parameters", {}).get("split_slices", "several")
    labels = {
        "unbatched": "one frame per event (baseline)",
        "batched": "batched frames",
        "batched_split": f"batched, fan-out split in {slices} slices",
    }
    lines = _table(["", *(labels[name] for name in crowds)], rows)
    lines.append(
        "\nThe processor's handlers run inside the gateway process (as `tumble local` runs "
        "them), so their CPU and RSS are the gateway's figure."
    )
    return lines


def _printed(doc: Document) -> list[str]:
    printed = [line for line in doc.get("printed", []) if line.strip()]
    return ["```", *printed, "```"] if printed else ["(nothing printed)"]


SECTIONS: dict[str, tuple[str, Callable[[Document], list[str]]]] = {
    "race": ("The race: press to spectator", _race),
    "fanout": ("Fan-out", _fanout),
    "stream_trigger": ("Stream trigger", _stream_trigger),
    "gateway": ("Gateway beside its baselines", _gateway),
    "stadium": ("The stadium: thousands of spectators through the local stack", _stadium),
    "producer": ("Producer", _printed),
    "soak": ("Soak", _printed),
}


def _header(run: Mapping[str, Document], title: str) -> list[str]:
    first = next(iter(run.values()))
    machine, versions = first.get("machine", {}), first.get("versions", {})
    return [
        f"# {title}",
        "",
        f"Recorded {first.get('recorded_at', '?')} on {machine.get('cpu_model', '?')}, "
        f"{machine.get('cores', '?')} cores, {machine.get('memory_gb', '?')} GB, "
        f"{machine.get('os', '?')}, Python {machine.get('python', '?')}.",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v) + ".",
        "",
        "The machine is shared and noisy: compare numbers within one run (each baseline is "
        "measured beside its subject), not across runs.",
    ]


def build_report(
    run: Mapping[str, Document],
    costs: Sequence[tuple[str, str]] = (),
    title: str = "Tumble benchmarks",
) -> tuple[str, dict[str, bytes]]:
    """Markdown and charts (file name -> PNG bytes) for the documents of one run; a section
    whose figures are missing or malformed says so instead of failing the whole report."""
    lines = _header(run, title)
    images: dict[str, bytes] = {}
    for name in [*ORDER, *sorted(set(run) - set(ORDER))]:
        if name not in run:
            continue
        heading, render = SECTIONS.get(name, (name, _printed))
        lines += ["", f"## {heading}", ""]
        try:
            if name in CHARTS:
                filename, chart = CHARTS[name]
                images[filename] = chart(run[name])
                lines += [f"![{heading}]({filename})", ""]
            lines += render(run[name])
        except (KeyError, TypeError, ValueError) as error:
            lines.append(f"(no figures: {type(error).__name__} {error})")
    for heading, table in costs:
        lines += ["", f"## {heading}", "", table]
    return "\n".join(lines) + "\n", images


def _shown(path: Path) -> str:
    """A path relative to the project when it is inside it (the report is committed)."""
    root = Path(__file__).resolve().parent.parent
    resolved = path.resolve()
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(path)


def cost_tables(folder: Path, run: Mapping[str, Document]) -> list[tuple[str, str]]:
    """The race's load and a stadium, priced with this run's fan-out figures."""
    from tumble.cost import Load
    from tumble.cost_cli import STADIUM, measured_from, price_load, render

    measured = None
    if "fanout" in run:
        try:
            measured = measured_from(run["fanout"], _shown(folder / "fanout.json"))
        except (KeyError, ValueError):
            measured = None
    race = run.get("race", {}).get("parameters", {})
    players = int(race.get("players", 1))
    rate = float(race.get("rate", 20.0))
    loads = [
        (
            f"Cost on AWS: the race's load ({rate:g} presses/s, 1 spectator)",
            Load(players, rate / players, 1),
        ),
        (f"Cost on AWS: a stadium ({STADIUM.spectators:,} spectators)", STADIUM),
    ]
    tables = []
    for heading, load in loads:
        priced, crossover, document = price_load(load, measured=measured)
        tables.append((heading, render(priced, crossover, document)))
    return tables


def race_latency_ms(run: Mapping[str, Document]) -> dict[str, float] | None:
    """Each path's p50 in the race's slowest-poll lap (the ESM's 1 s, as on AWS) on the embedded
    backend, if any: a LocalStack lap at the same poll measures kinesis-mock, not the design."""
    try:
        laps = [
            figures
            for figures in run["race"]["figures"].values()
            if figures.get("backend", "embedded") == "embedded"
        ]
        lap = max(laps, key=lambda figures: figures["poll_interval_s"])
        return {path: float(lap[path]["p50"]) for path in ("websocket", "kinesis")}
    except (KeyError, TypeError, ValueError):
        return None


QUOTA_CHART = "quotas.png"


def quota_section(run: Mapping[str, Document]) -> tuple[tuple[str, str], bytes]:
    """The stadium at 10,000 and 100,000 spectators against AWS's quotas (tumble.quotas), and
    its chart of cost against latency; the race's load per player, this run's latencies."""
    from tumble.cost_cli import STADIUM, quota_choices
    from tumble.quotas import render_quotas

    by_audience = quota_choices(
        STADIUM.players, STADIUM.presses_per_s, latency_ms=race_latency_ms(run)
    )
    points = [
        (
            choices[0].name,
            choices[0].latency_ms,
            [(c.spectators, c.per_hour) for c in choices],
        )
        for choices in zip(*by_audience, strict=True)
    ]
    heading = (
        f"Quotas: a stadium of 10,000 and 100,000 spectators "
        f"({STADIUM.players} players x {STADIUM.presses_per_s:g} presses/s)"
    )
    table = f"![cost against latency]({QUOTA_CHART})\n\n" + render_quotas(by_audience)
    return (heading, table), plots.quota_chart(points)


def write_report(folder: Path) -> Path:
    run = load_run(folder)
    if not run:
        raise FileNotFoundError(f"no results JSON in {folder}")
    quotas, chart = quota_section(run)
    markdown, images = build_report(run, [*cost_tables(folder, run), quotas])
    images[QUOTA_CHART] = chart
    for filename, data in images.items():
        (folder / filename).write_bytes(data)
    path = folder / "REPORT.md"
    path.write_text(markdown)
    return path
