"""What both shipping paths do alike: finish a background task within a time limit, and say a
problem once per outage rather than once per press."""

from __future__ import annotations

import asyncio
import sys

__all__ = ["Warnings", "finish_within"]


async def finish_within(task: asyncio.Task[None] | None, timeout_s: float) -> None:
    """Let `task` end by itself within `timeout_s`, else cancel it and wait for it to stop."""
    if task is None:
        return
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout_s)
    except TimeoutError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class Warnings:
    def __init__(self, path: str) -> None:
        self.path = path
        self.said: set[str] = set()

    def once(self, problem: str) -> None:
        if problem not in self.said:
            self.said.add(problem)
            print(f"producer: {self.path}: {problem}", file=sys.stderr, flush=True)

    def reset(self) -> None:
        """After a recovery, so the next outage is reported again."""
        self.said.clear()
