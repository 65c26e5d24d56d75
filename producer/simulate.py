"""Simulated players: seeded, so a run (and a failing test) can be repeated press for press.

Random mashing alone never scores (four random presses match UP, DOWN, A, B once in 4,096
tries), so each player sometimes plays the whole target sequence and races do end."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterator

from messages import COLORS, Event, EventType, MessageField, Source

__all__ = ["TARGET_SEQUENCE", "nes_click", "presses", "run_players"]

TARGET_SEQUENCE: tuple[str, ...] = ("UP", "DOWN", "A", "B")
# SELECT and START are left out: they trigger power-ups and the recording combination, which
# belong to people.
MASH_BUTTONS: tuple[str, ...] = ("A", "B", "UP", "DOWN", "LEFT", "RIGHT")
TARGET_CHANCE = 0.4


def nes_click(
    color: str, button: str, axis: int | None = None, value: float | None = None
) -> Event:
    """One press; `source` is restamped per path by the shipper."""
    message: dict[str, object] = {
        MessageField.COLOR: color,
        MessageField.BUTTON: button,
        MessageField.AXIS: axis,
        MessageField.VALUE: value,
        MessageField.SOURCE: Source.WEBSOCKET.value,
    }
    return Event.create(EventType.NES_CLICK, message)


def presses(rng: random.Random, target_chance: float = TARGET_CHANCE) -> Iterator[str]:
    """An endless stream of button names: runs of the target sequence between bursts of mashing."""
    while True:
        if rng.random() < target_chance:
            yield from TARGET_SEQUENCE
        else:
            for _ in range(rng.randint(1, 4)):
                yield rng.choice(MASH_BUTTONS)


async def run_players(
    count: int,
    rate: float,
    seed: int | None,
    submit: Callable[[Event], Awaitable[None]],
    stop: asyncio.Event,
    limit: int | None = None,
) -> int:
    """`count` players (colours in joining order), each pressing `rate` times a second on an
    absolute schedule (no drift), until `stop` or `limit` presses per player; the total pressed."""
    if not 1 <= count <= len(COLORS):
        raise ValueError(f"between 1 and {len(COLORS)} simulated players, not {count}")
    if rate <= 0:
        raise ValueError(f"rate must be positive, not {rate}")
    master = random.Random(seed)
    streams = [presses(random.Random(master.getrandbits(64))) for _ in range(count)]
    loop = asyncio.get_running_loop()
    interval = 1.0 / rate
    start = loop.time()
    total = 0
    tick = 0
    while not stop.is_set() and (limit is None or tick < limit):
        for color, stream in zip(COLORS, streams, strict=False):
            await submit(nes_click(color, next(stream)))
            total += 1
        tick += 1
        delay = start + tick * interval - loop.time()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
    return total
