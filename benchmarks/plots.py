"""The report's charts: each takes one benchmark's results document and returns PNG bytes.
matplotlib (the `bench` extra) is imported here only, and drawn off-screen (Agg)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

matplotlib.use("Agg")  # off-screen, before any figure is made

__all__ = [
    "DPI",
    "fanout_chart",
    "gateway_chart",
    "quota_chart",
    "race_chart",
    "stadium_chart",
    "stream_trigger_chart",
]

DPI = 100
SERVER_LABELS = {
    "gateway": "gateway_adapter",
    "baseline": "bare aiohttp",
    "serverless_offline": "serverless-offline",
}
PATH_COLOURS = {"websocket": "tab:blue", "kinesis": "tab:orange"}


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return buffer.getvalue()


def _cdf(values: Sequence[float]) -> tuple[list[float], list[float]]:
    ordered = sorted(values)
    return ordered, [(i + 1) / len(ordered) for i in range(len(ordered))]


def race_chart(race: Mapping[str, Any]) -> bytes:
    """Latency CDFs of both paths at every poll interval, the half-poll wait marked."""
    figure, axes = plt.subplots(figsize=(8, 4.5))
    styles = ["-", "--", ":", "-."]
    laps = sorted(race["figures"].items(), key=lambda item: -item[1]["poll_interval_s"])
    for style, (key, figures) in zip(styles, laps, strict=False):
        poll = figures["poll_interval_s"]
        on = ", LocalStack" if figures.get("backend") == "localstack" else ""
        for path in ("websocket", "kinesis"):
            values = race["samples"].get(key, {}).get(path) or []
            if values:
                x, y = _cdf(values)
                label = f"{path}, poll {poll:g} s{on}"
                axes.plot(x, y, style, color=PATH_COLOURS[path], label=label)
        axes.axvline(
            figures["expected_wait_ms"],
            color="grey",
            linestyle=style,
            linewidth=1,
            label=f"half the {poll:g} s poll: {figures['expected_wait_ms']:.0f} ms",
        )
    axes.set_xscale("log")
    axes.set_xlabel("press to spectator, ms (log scale)")
    axes.set_ylabel("fraction of presses")
    axes.set_title("The race: the same presses over the WebSocket and through Kinesis")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    return _png(figure)


def fanout_chart(fanout: Mapping[str, Any]) -> bytes:
    figures = fanout["figures"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    steps = figures.get("by_subscribers", {}).get("steps", [])
    left.plot([s["subscribers"] for s in steps], [s["frames_per_s"] for s in steps], "o-")
    left.set_xscale("log")
    left.set_xlabel("subscribers of the event's type")
    left.set_ylabel("frames per second")
    left.set_title("Fan-out throughput")
    crowd = figures.get("by_non_matching", {}).get("steps", [])
    right.plot([s["non_matching"] for s in crowd], [s["ms_per_event"] for s in crowd], "o-")
    right.set_xlabel("connections that do not match (10 subscribers)")
    right.set_ylabel("ms per event")
    right.set_ylim(bottom=0)
    right.set_title("Time per event (moto scans its table per index Query)", fontsize=10)
    for axes in (left, right):
        axes.grid(True, alpha=0.3)
    return _png(figure)


def stream_trigger_chart(stream: Mapping[str, Any]) -> bytes:
    figures = stream["figures"]
    steps = figures.get("by_batch_size", [])
    figure, axes = plt.subplots(figsize=(7, 4))
    axes.plot([s["batch_size"] for s in steps], [s["per_s"] for s in steps], "o-", label="trigger")
    bare = figures.get("embedded", {}).get("bare_per_s")
    if bare:
        axes.axhline(bare, color="grey", linestyle="--", label="bare GetRecords loops (baseline)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("batch size")
    axes.set_ylabel("records per second")
    axes.set_title("Stream trigger throughput, no-op handler, embedded backend")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    return _png(figure)


GATEWAY_PANELS = (
    ("deliveries/s (@connections posts)", ("posts_per_s",)),
    ("server CPU per delivery, us", ("server_us_per_post",)),
    ("echo round trip, ms (p50, p99)", ("p50_ms", "p99_ms")),
    ("RSS per 1,000 idle connections, MB", ("rss_per_1000_idle_mb",)),
)


def _bar_panels(
    panels: Sequence[Any],
    layout: Sequence[tuple[str, tuple[str, ...]]],
    figures: Mapping[str, Any],
    columns: Sequence[str],
    labels: Sequence[str],
    rotation: int = 0,
) -> None:
    """One panel per (title, keys): a bar per column and key, labelled with its value."""
    for axes, (title, keys) in zip(panels, layout, strict=True):
        width = 0.8 / len(keys)
        for offset, key in enumerate(keys):
            values = [float(figures[name].get(key) or 0.0) for name in columns]
            positions = [i + offset * width for i in range(len(columns))]
            bars = axes.bar(positions, values, width, label=key.removesuffix("_ms"))
            axes.bar_label(bars, fmt="%.3g", fontsize=7)
        axes.set_xticks([i + width * (len(keys) - 1) / 2 for i in range(len(columns))])
        axes.set_xticklabels(labels, rotation=rotation, fontsize=8)
        axes.set_title(title, fontsize=9)
        if len(keys) > 1:
            axes.legend(fontsize=7)


def gateway_chart(gateway: Mapping[str, Any]) -> bytes:
    figures = gateway["figures"]
    servers = [name for name in SERVER_LABELS if name in figures]
    missing: Mapping[str, str] = figures.get("missing", {})
    figure, panels = plt.subplots(1, len(GATEWAY_PANELS), figsize=(13, 3.8))
    labels = [SERVER_LABELS[name] for name in servers]
    _bar_panels(panels, GATEWAY_PANELS, figures, servers, labels, rotation=20)
    if missing:
        text = "; ".join(f"{SERVER_LABELS.get(k, k)} not measured: {v}" for k, v in missing.items())
        figure.text(0.5, 0.01, text, ha="center", fontsize=8, color="firebrick")
    figure.suptitle("Gateway beside its baselines, same run", fontsize=10)
    return _png(figure)


def quota_chart(points: Sequence[tuple[str, float, Sequence[tuple[int, float]]]]) -> bytes:
    """Cost per hour against press-to-spectator latency: one colour per choice, one marker per
    audience; `points` holds (choice, latency ms, [(spectators, $ per hour), ...])."""
    figure, axes = plt.subplots(figsize=(9, 4.8))
    markers = ["o", "s", "^", "D"]
    audiences = sorted({spectators for _, _, costs in points for spectators, _ in costs})
    for index, (name, latency, costs) in enumerate(points):
        # the same latency for two choices: side by side, not on top of each other
        x = latency * (1 + 0.08 * index)
        for spectators, per_hour in costs:
            marker = markers[audiences.index(spectators) % len(markers)]
            label = f"{name}, {spectators:,} spectators"
            axes.scatter([x], [per_hour], marker=marker, color=f"C{index}", s=50, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(2, 3000)
    axes.set_xlabel("press to spectator, ms (log; the race's p50, AppSync's assumed)")
    axes.set_ylabel("$ per hour on AWS (log)")
    axes.set_title("A stadium's bill against its latency, by choice and audience")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _png(figure)


STADIUM_PANELS = (
    ("frames per spectator per second", ("frames_per_spectator_per_s",)),
    ("press to spectator, ms (p50, p99)", ("p50_ms", "p99_ms")),
    ("gateway CPU, cores", ("gateway_cpu_s_per_s",)),
    ("gateway peak RSS, MB", ("gateway_peak_rss_mb",)),
)


def stadium_chart(stadium: Mapping[str, Any]) -> bytes:
    """One frame per event against batched frames, same crowd size, same run; a crowd that
    was skipped shows why."""
    figures = stadium["figures"]
    crowds = [
        name
        for name in ("unbatched", "batched", "batched_split")
        if name in figures and "skipped" not in figures[name]
    ]
    figure, panels = plt.subplots(1, len(STADIUM_PANELS), figsize=(13, 3.8))
    _bar_panels(panels, STADIUM_PANELS, figures, crowds, crowds)
    skipped = [
        f"{name}: {figures[name]['skipped']}" for name in figures if "skipped" in figures[name]
    ]
    if skipped:
        figure.text(0.5, 0.01, "; ".join(skipped), ha="center", fontsize=8, color="firebrick")
    spectators = stadium.get("parameters", {}).get("spectators", 0)
    figure.suptitle(f"The stadium locally: {spectators:,} spectators, Kinesis path", fontsize=10)
    return _png(figure)
