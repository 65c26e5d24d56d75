"""The local dead-letter file: records Kinesis would not take, one JSON object a line.

Nothing is lost silently: what runs out of tries (or is still pending when a flush times out)
lands here with its reason, and `tumble produce --replay FILE` sends it again with the same
EventId and SentAt, so consumers that dedupe by EventId see no difference.

Replaying the file that is also the dead-letter output (the default) never loses a line: the
file is only read while the replay runs; what fails again goes to `<file>.replaying`; only once
every replayed record is acknowledged or spilled there does that file (plus any line another
producer appended meanwhile) replace the original, atomically. A crash at any point leaves the
original whole, so replaying again resends at worst a few records twice (same EventId)."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from messages import Event, decode_event, event_body

__all__ = [
    "DeadLetter",
    "DeadLetterError",
    "Replay",
    "Spilled",
    "read_dead_letters",
]

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
        while True:
            with self.path.open("a", encoding="utf-8") as out:
                # The lock orders this append with a replay's final rename; if the file was
                # replaced while we waited, append to the new one instead.
                fcntl.flock(out.fileno(), fcntl.LOCK_EX)
                if not _same_file(out.fileno(), self.path):
                    continue
                out.write(line + "\n")
                out.flush()
                os.fsync(out.fileno())
                break


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), path.stat()
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


class Replay:
    """A replay of `source` whose new failures go to `dead_letter`, made safe when they are the
    same file (see the module's docstring). `records` holds what `source` held when read."""

    def __init__(self, source: Path, dead_letter: Path) -> None:
        self.source = source
        data = source.read_bytes()
        self.offset = len(data)
        self.records = list(_parse(source, data.decode("utf-8", errors="replace").splitlines()))
        self.in_place = dead_letter.resolve() == source.resolve()
        self.spill_to = (
            source.with_name(source.name + ".replaying") if self.in_place else dead_letter
        )
        if self.in_place:
            # Left over from a crashed replay: everything in it is still in `source` too.
            self.spill_to.write_bytes(b"")

    def finish(self) -> int:
        """Every record was acknowledged or spilled: the spilled ones (and lines appended to
        the source since it was read) replace the source. Returns how many lines remain."""
        if not self.in_place:
            return 0
        with self.source.open("rb+") as original:
            fcntl.flock(original.fileno(), fcntl.LOCK_EX)
            original.seek(self.offset)
            appended = original.read()
            with self.spill_to.open("ab") as out:
                out.write(appended)
                out.flush()
                os.fsync(out.fileno())
            self.spill_to.replace(self.source)
        directory = os.open(self.source.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return sum(1 for line in self.source.read_text(encoding="utf-8").splitlines() if line)


def read_dead_letters(path: Path) -> Iterator[Spilled]:
    """Every record of a dead-letter file, checked; blank lines are skipped."""
    with path.open(encoding="utf-8") as lines:
        yield from _parse(path, lines)


def _parse(path: Path, lines: Iterable[str]) -> Iterator[Spilled]:
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
