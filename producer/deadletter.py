"""The local dead-letter file: records Kinesis would not take, one JSON object a line.

Nothing is lost silently: what runs out of tries (or is still pending when a flush times out)
lands here with its reason, and `tumble produce --replay FILE` sends it again with the same
EventId and SentAt, so consumers that dedupe by EventId see no difference."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from messages import Event, decode_event, event_body

__all__ = ["DeadLetter", "DeadLetterError", "Spilled", "read_dead_letters"]

_EVENT = "event"
_PARTITION_KEY = "partition_key"
_ERROR = "error"
_ATTEMPTS = "attempts"
_SPILLED_AT = "spilled_at"


class DeadLetterError(ValueError):
    """A line of a dead-letter file that cannot be replayed; names the line."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = path
        self.line = line


@dataclass(frozen=True, slots=True)
class Spilled:
    event: Event
    partition_key: str
    error: str
    attempts: int


class DeadLetter:
    """Appends spilled records; each write is flushed and fsynced, since it is the last copy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0

    def write(self, event: Event, partition_key: str, error: str, attempts: int) -> None:
        line = json.dumps(
            {
                _EVENT: event_body(event),
                _PARTITION_KEY: partition_key,
                _ERROR: error,
                _ATTEMPTS: attempts,
                _SPILLED_AT: time.time(),
            },
            separators=(",", ":"),
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())
        self.count += 1


def read_dead_letters(path: Path) -> Iterator[Spilled]:
    """Every record of a dead-letter file, checked; blank lines are skipped."""
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as error:
                raise DeadLetterError(path, number, f"not JSON ({error.msg})") from None
            if not isinstance(row, dict):
                raise DeadLetterError(path, number, "not a JSON object")
            try:
                event = decode_event(row.get(_EVENT))
            except ValueError as error:
                raise DeadLetterError(path, number, str(error)) from None
            key = row.get(_PARTITION_KEY)
            if not isinstance(key, str) or not key:
                raise DeadLetterError(path, number, "partition_key must be a non-empty string")
            attempts = row.get(_ATTEMPTS, 0)
            if isinstance(attempts, bool) or not isinstance(attempts, int):
                raise DeadLetterError(path, number, "attempts must be an integer")
            yield Spilled(event, key, str(row.get(_ERROR, "")), attempts)
