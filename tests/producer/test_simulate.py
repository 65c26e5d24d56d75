from __future__ import annotations

import asyncio
import itertools
import random
import time

import pytest

from messages import COLORS, Event
from producer.simulate import TARGET_SEQUENCE, presses, run_players


def collect(count: int, rate: float, seed: int | None, limit: int) -> list[Event]:
    events: list[Event] = []

    async def submit(event: Event) -> None:
        events.append(event)

    asyncio.run(run_players(count, rate, seed, submit, asyncio.Event(), limit=limit))
    return events


def test_a_seed_repeats_a_run_press_for_press():
    first = [(e.message["color"], e.message["button"]) for e in collect(4, 1e6, 7, 100)]
    again = [(e.message["color"], e.message["button"]) for e in collect(4, 1e6, 7, 100)]
    other = [(e.message["color"], e.message["button"]) for e in collect(4, 1e6, 8, 100)]
    assert first == again != other
    assert [c for c, _ in first[:4]] == list(COLORS)


def test_players_play_the_target_sequence_so_races_end():
    buttons = list(itertools.islice(presses(random.Random(1)), 2000))
    runs = sum(tuple(buttons[i : i + 4]) == TARGET_SEQUENCE for i in range(len(buttons) - 3))
    assert runs > 50
    assert {"SELECT", "START"}.isdisjoint(buttons)


def test_the_rate_is_kept():
    started = time.monotonic()
    events = collect(2, 50.0, 1, 10)
    took = time.monotonic() - started
    assert len(events) == 20
    assert 0.15 < took < 1.5  # 10 ticks at 50 Hz = 0.18 s (generous: a shared machine)


def test_stop_ends_the_players():
    async def scenario() -> int:
        stop = asyncio.Event()

        async def submit(_: Event) -> None:
            return None

        asyncio.get_running_loop().call_later(0.1, stop.set)
        return await run_players(1, 10.0, None, submit, stop)

    assert 1 <= asyncio.run(scenario()) <= 3


@pytest.mark.parametrize(("count", "rate"), [(0, 1.0), (5, 1.0), (1, 0.0), (1, -2.0)])
def test_bad_arguments(count: int, rate: float):
    async def submit(_: Event) -> None:
        return None

    with pytest.raises(ValueError):
        asyncio.run(run_players(count, rate, 1, submit, asyncio.Event(), limit=1))
