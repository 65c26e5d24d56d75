"""The stadium benchmark's pure parts: what a crowd's spectator counts in a frame, batched or
not, and the report's section and chart for a run with a skipped batched crowd."""

from __future__ import annotations

import dataclasses
import json

from benchmarks._stadium_crowd import Spectator
from benchmarks.report import build_report
from messages import Source, batched_frames, spectator_frame
from producer.simulate import nes_click


def frame(color: str = "red", sent_at: int | None = None) -> str:
    event = nes_click(color, "A")
    if sent_at is not None:
        event = dataclasses.replace(event, sent_at=sent_at)
    return spectator_frame(event, Source.KINESIS, event.message)


def test_a_spectator_counts_events_in_plain_and_batched_frames() -> None:
    spectator = Spectator(sampled=True)
    spectator.received(frame(), 1e15)
    [packed] = batched_frames([frame().encode() for _ in range(3)])
    batch = packed.data.decode()
    spectator.received(batch, 1e15)
    spectator.received(json.dumps({"status": "subscribed"}), 1e15)  # not an event
    assert (spectator.frames, spectator.events, len(spectator.seen)) == (2, 4, 4)  # events'
    spectator.received(frame(), 1e15, since_ms=1e15)  # sent before the crowd's go: not counted
    assert (spectator.frames, spectator.events) == (2, 4)
    assert len(spectator.latencies) == 4 and all(x > 0 for x in spectator.latencies)
    unsampled = Spectator(sampled=False)
    unsampled.received(batch, 1e15)
    assert unsampled.events == 3 and not unsampled.latencies


def test_a_sampled_spectator_counts_events_out_of_their_players_order() -> None:
    spectator = Spectator(sampled=True)
    spectator.received(frame("red", 1_000), 1e15)
    spectator.received(frame("blue", 900), 1e15)  # another player's key: its own order
    [packed] = batched_frames([frame("red", 1_100).encode(), frame("blue", 950).encode()])
    spectator.received(packed.data.decode(), 1e15)
    assert spectator.out_of_order == 0
    spectator.received(frame("red", 1_050), 1e15)  # before red's 1,100, received after it
    assert spectator.out_of_order == 1


def test_the_report_shows_both_crowds_and_says_why_one_was_skipped() -> None:
    row = {
        "spectators": 5000,
        "events_delivered": 10,
        "events_expected": 10,
        "frames_per_spectator_per_s": 40.0,
        "p50_ms": 600.0,
        "p99_ms": 900.0,
        "gateway_cpu_s_per_s": 0.9,
        "gateway_peak_rss_mb": 300.0,
    }
    doc = {
        "parameters": {"spectators": 5000},
        "figures": {"unbatched": row, "batched": {"skipped": "skipped: not here"}},
    }
    markdown, images = build_report({"stadium": doc})
    assert "## The stadium" in markdown and "skipped: not here" in markdown
    assert "| frames per spectator per second | 40.0 |" in markdown
    assert images["stadium.png"].startswith(b"\x89PNG")
