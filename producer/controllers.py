"""Real NES-style controllers through pygame, read 100 times a second, headless.

`ControllerMap.to_event` is the whole mapping from a pygame event to a press (or nothing) and
does no I/O, so tests drive it with real pygame events; `run_controllers` is the thin loop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from messages import COLORS, Event, MessageField

from .simulate import nes_click

__all__ = ["BUTTONS", "DEAD_ZONE", "POLL_HZ", "ControllerMap", "run_controllers"]

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# SDL reads the variables above when pygame is imported.
import pygame

POLL_HZ = 100
BUTTONS: dict[int, str] = {0: "A", 1: "B", 6: "SELECT", 7: "START"}
# An NES pad reports -1/0/+1; cheap analog pads drift, so anything under half deflection is
# neutral.
DEAD_ZONE = 0.5
_AXIS_DIRECTIONS = {0: ("LEFT", "RIGHT"), 1: ("UP", "DOWN")}


class ControllerMap:
    """Colours in order of joining (a freed colour goes to the next pad), and the D-pad state
    per pad and axis, so a held direction is one press however many motion events it makes."""

    def __init__(self) -> None:
        self.colors: dict[int, str] = {}
        self._held: dict[tuple[int, str, int], str | None] = {}

    def join(self, instance_id: int) -> str | None:
        if instance_id in self.colors:
            return self.colors[instance_id]
        free = [c for c in COLORS if c not in self.colors.values()]
        if not free:
            return None
        self.colors[instance_id] = free[0]
        return free[0]

    def leave(self, instance_id: int) -> str | None:
        self._held = {k: v for k, v in self._held.items() if k[0] != instance_id}
        return self.colors.pop(instance_id, None)

    def to_event(self, event: Any) -> Event | None:
        """The press a pygame event stands for; None for releases, neutral positions, unknown
        buttons, pads without a colour and every other kind of event. JOYDEVICEADDED must
        carry `instance_id` (the I/O loop adds it after opening the pad)."""
        kind = event.type
        if kind == pygame.JOYDEVICEADDED:
            self.join(event.instance_id)
            return None
        if kind == pygame.JOYDEVICEREMOVED:
            self.leave(event.instance_id)
            return None
        if kind not in (pygame.JOYBUTTONDOWN, pygame.JOYAXISMOTION, pygame.JOYHATMOTION):
            return None
        color = self.colors.get(event.instance_id)
        if color is None:
            return None
        if kind == pygame.JOYBUTTONDOWN:
            button = BUTTONS.get(event.button)
            return nes_click(color, button) if button else None
        if kind == pygame.JOYAXISMOTION:
            return self._axis(color, event.instance_id, event.axis, float(event.value))
        return self._hat(color, event.instance_id, event.hat, tuple(event.value))

    def _axis(self, color: str, pad: int, axis: int, value: float) -> Event | None:
        names = _AXIS_DIRECTIONS.get(axis)
        if names is None:
            return None
        direction = names[0] if value <= -DEAD_ZONE else names[1] if value >= DEAD_ZONE else None
        if not self._changed((pad, "axis", axis), direction) or direction is None:
            return None
        return nes_click(color, direction, axis, max(-1.0, min(1.0, value)))

    def _hat(self, color: str, pad: int, hat: int, value: tuple[int, ...]) -> Event | None:
        x, y = ((*value, 0, 0))[:2]
        direction = (
            "UP" if y > 0 else "DOWN" if y < 0 else "LEFT" if x < 0 else "RIGHT" if x else None
        )
        if not self._changed((pad, "hat", hat), direction) or direction is None:
            return None
        return nes_click(color, direction, hat, float(y if y else x))

    def _changed(self, key: tuple[int, str, int], direction: str | None) -> bool:
        before = self._held.get(key)
        self._held[key] = direction
        return before != direction


async def run_controllers(
    submit: Callable[[Event], Awaitable[None]],
    stop: asyncio.Event,
    on_press: Callable[[str], None] | None = None,
) -> None:
    """Poll pygame at POLL_HZ until `stop`; hot-plugged pads join and leave as they come."""
    pygame.display.init()  # the event queue lives in the video subsystem (dummy when headless)
    pygame.joystick.init()
    mapping = ControllerMap()
    pads: dict[int, Any] = {}
    print("producer: waiting for controllers (plug one in)", file=sys.stderr, flush=True)
    try:
        while not stop.is_set():
            for event in pygame.event.get():
                if event.type == pygame.JOYDEVICEADDED and not hasattr(event, "instance_id"):
                    try:
                        pad = pygame.joystick.Joystick(event.device_index)
                    except pygame.error as error:  # unplugged again before we opened it
                        print(f"producer: controller not opened: {error}", file=sys.stderr)
                        continue
                    pads[pad.get_instance_id()] = pad
                    event = pygame.event.Event(
                        event.type,
                        device_index=event.device_index,
                        instance_id=pad.get_instance_id(),
                    )
                if event.type == pygame.JOYDEVICEADDED:
                    color = mapping.join(event.instance_id)
                    print(f"producer: controller joined as {color}", file=sys.stderr, flush=True)
                    continue
                if event.type == pygame.JOYDEVICEREMOVED:
                    pads.pop(event.instance_id, None)
                press = mapping.to_event(event)
                if press is not None:
                    if on_press is not None:
                        on_press(press.message[MessageField.BUTTON])
                    await submit(press)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0 / POLL_HZ)
    finally:
        pygame.quit()
