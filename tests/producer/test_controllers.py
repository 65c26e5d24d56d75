"""Real pygame events (posted to pygame's own queue under the dummy video driver) through the
controller mapping and the polling loop."""

from __future__ import annotations

import asyncio
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import pygame
import pytest

from messages import Event
from producer.controllers import ControllerMap, run_controllers


@pytest.fixture
def queue():
    """pygame's event queue, emptied; yields a function that posts and reads events back."""
    pygame.display.init()
    pygame.event.clear()

    def roundtrip(*events: pygame.event.Event) -> list[pygame.event.Event]:
        for event in events:
            pygame.event.post(event)
        return pygame.event.get()

    yield roundtrip
    pygame.display.quit()


def added(pad: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.JOYDEVICEADDED, device_index=pad, instance_id=pad)


def removed(pad: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.JOYDEVICEREMOVED, instance_id=pad)


def button(pad: int, number: int, kind: int = pygame.JOYBUTTONDOWN) -> pygame.event.Event:
    return pygame.event.Event(kind, instance_id=pad, joy=pad, button=number)


def axis(pad: int, number: int, value: float) -> pygame.event.Event:
    return pygame.event.Event(
        pygame.JOYAXISMOTION, instance_id=pad, joy=pad, axis=number, value=value
    )


def hat(pad: int, value: tuple[int, int]) -> pygame.event.Event:
    return pygame.event.Event(pygame.JOYHATMOTION, instance_id=pad, joy=pad, hat=0, value=value)


def presses(mapping: ControllerMap, events: list[pygame.event.Event]) -> list[tuple[str, str]]:
    found = [mapping.to_event(e) for e in events]
    return [(e.message["color"], e.message["button"]) for e in found if e is not None]


def test_colors_go_in_order_of_joining_and_come_back_when_freed(queue):
    mapping = ControllerMap()
    events = queue(added(10), added(11), added(12), added(13), added(14))
    events += queue(*(button(pad, 0) for pad in (10, 11, 12, 13, 14)))
    assert presses(mapping, events) == [
        ("red", "A"),
        ("blue", "A"),
        ("green", "A"),
        ("yellow", "A"),
    ]
    events = queue(removed(11), button(11, 0), added(15), button(15, 1))
    assert presses(mapping, events) == [("blue", "B")]
    assert mapping.colors == {10: "red", 12: "green", 13: "yellow", 15: "blue"}


def test_the_button_map_and_releases(queue):
    mapping = ControllerMap()
    events = queue(
        added(1),
        *(button(1, n) for n in range(10)),
        button(1, 0, pygame.JOYBUTTONUP),
        button(2, 0),  # a pad that never joined
    )
    assert presses(mapping, events) == [
        ("red", "A"),
        ("red", "B"),
        ("red", "SELECT"),
        ("red", "START"),
    ]
    press = mapping.to_event(queue(button(1, 7))[0])
    assert isinstance(press, Event) and press.message["axis"] is None


def test_axis_motion_has_a_dead_zone_and_a_held_direction_is_one_press(queue):
    mapping = ControllerMap()
    events = queue(
        added(3),
        axis(3, 1, -1.0),  # UP
        axis(3, 1, -0.9),  # still held
        axis(3, 1, 0.0),  # neutral: no event
        axis(3, 1, 0.3),  # inside the dead zone
        axis(3, 1, 1.0),  # DOWN
        axis(3, 0, -0.7),  # LEFT
        axis(3, 0, 0.0),
        axis(3, 0, 0.99),  # RIGHT
        axis(3, 4, 1.0),  # an axis an NES pad doesn't have
    )
    assert presses(mapping, events) == [
        ("red", "UP"),
        ("red", "DOWN"),
        ("red", "LEFT"),
        ("red", "RIGHT"),
    ]
    neutral, down = (mapping.to_event(e) for e in queue(axis(3, 1, 0.0), axis(3, 1, 1.0)))
    assert (
        neutral is None
        and down is not None
        and (down.message["axis"], down.message["value"]) == (1, 1.0)
    )


def test_hat_motion_maps_to_directions(queue):
    mapping = ControllerMap()
    events = queue(added(4), hat(4, (0, 1)), hat(4, (0, 0)), hat(4, (0, -1)), hat(4, (-1, 0)))
    events += queue(hat(4, (0, 0)), hat(4, (1, 0)), hat(4, (1, 0)))
    assert [b for _, b in presses(mapping, events)] == ["UP", "DOWN", "LEFT", "RIGHT"]


def test_other_events_are_not_presses(queue):
    mapping = ControllerMap()
    events = queue(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_a), added(5))
    assert presses(mapping, events) == []


def test_the_polling_loop_submits_posted_presses():
    collected: list[Event] = []
    seen: list[str] = []

    async def scenario() -> None:
        stop = asyncio.Event()

        async def submit(event: Event) -> None:
            collected.append(event)
            if len(collected) == 3:
                stop.set()

        loop_task = asyncio.create_task(run_controllers(submit, stop, seen.append))
        await asyncio.sleep(0.05)  # the loop has initialised pygame's queue
        for event in (added(7), button(7, 6), hat(7, (0, 1)), button(7, 1)):
            pygame.event.post(event)
        await asyncio.wait_for(loop_task, 5)

    asyncio.run(scenario())
    assert [e.message["button"] for e in collected] == ["SELECT", "UP", "B"]
    assert seen == ["SELECT", "UP", "B"]
