"""What `tumble bench` shows while it runs: which benchmark, how far, how long is left.

Time left is estimated from the previous run's durations (`run.json` of the newest results
folder with the same `--quick`), else from fixed estimates measured on the project's 2-core VM.
The pure half (`estimates`) is tested directly; `Board` is the rich display around it."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

__all__ = ["DEFAULT_ESTIMATES_S", "Board", "Tee", "estimates", "previous_durations"]

# Seconds per benchmark of a full run on the project's 2-core VM (quick runs: a fifth).
DEFAULT_ESTIMATES_S: dict[str, float] = {
    "fanout": 120.0,
    "gateway": 240.0,
    "producer": 70.0,
    "race": 60.0,
    "soak": 320.0,
    "stadium": 300.0,
    "stream_trigger": 120.0,
}
FALLBACK_ESTIMATE_S = 60.0
QUICK_FACTOR = 0.2
TICK_S = 0.5


def previous_durations(root: Path, quick: bool) -> dict[str, float]:
    """Durations of the newest earlier run made with the same --quick, by benchmark (the
    committed example's when no run of this clone has them)."""
    if not root.is_dir():
        return {}
    runs = sorted((p for p in root.iterdir() if p.is_dir() and p.name[:1].isdigit()), reverse=True)
    for folder in [*runs, root / "example"]:
        path = folder / "run.json"
        try:
            run = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if run.get("quick") == quick and isinstance(run.get("durations_s"), dict):
            return {str(k): float(v) for k, v in run["durations_s"].items()}
    return {}


def estimates(names: Sequence[str], quick: bool, previous: Mapping[str, float]) -> dict[str, float]:
    """Expected seconds per benchmark: last time's, else the default (scaled for --quick)."""
    factor = QUICK_FACTOR if quick else 1.0
    return {
        name: previous.get(name, DEFAULT_ESTIMATES_S.get(name, FALLBACK_ESTIMATE_S) * factor)
        for name in names
    }


class Tee:
    """A text stream that writes through and keeps every complete line (the printed figures
    go into the results JSON)."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *complete, self._partial = self._partial.split("\n")
        self.lines.extend(complete)
        return self.inner.write(text)

    def flush(self) -> None:
        self.inner.flush()

    def isatty(self) -> bool:
        return self.inner.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class SecondsLeft(ProgressColumn):
    """Time left, read straight off the bars: they count seconds against the estimate."""

    def render(self, task: Task) -> Text:
        left = max(0.0, (task.total or 0.0) - task.completed)
        minutes, seconds = divmod(round(left), 60)
        return Text(f"~{minutes}:{seconds:02d} left", style="cyan")


class Board:
    """One bar for the whole run and one for the benchmark running, both ticking with time
    against their estimates (an overrun stretches the estimate instead of sitting at 100%)."""

    def __init__(self, expected_s: Mapping[str, float], console: Console | None = None) -> None:
        self.expected_s = dict(expected_s)
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            SecondsLeft(),
            console=console or Console(file=sys.stderr),
            transient=False,
        )
        self._total = self.progress.add_task("all benchmarks", total=sum(expected_s.values()))
        self._done_s = 0.0
        self._current: TaskID | None = None
        self._current_name = ""
        self._started = 0.0
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def _tick(self) -> None:
        while not self._stop.wait(TICK_S):
            self._update()

    def _update(self) -> None:
        if self._current is None:
            return
        elapsed = time.monotonic() - self._started
        expected = max(self.expected_s[self._current_name], elapsed * 1.05)
        self.progress.update(self._current, completed=elapsed, total=expected)
        rest = sum(self.expected_s.values()) - self.expected_s[self._current_name]
        self.progress.update(self._total, completed=self._done_s + elapsed, total=rest + expected)

    @contextmanager
    def running(self) -> Iterator[Board]:
        with self.progress:
            self._ticker.start()
            try:
                yield self
            finally:
                self._stop.set()

    def begin(self, index: int, name: str) -> None:
        self._current_name = name
        self._started = time.monotonic()
        label = f"[{index}/{len(self.expected_s)}] {name}"
        self._current = self.progress.add_task(label, total=self.expected_s[name])

    def end(self, seconds: float) -> None:
        if self._current is not None:
            self.progress.update(self._current, completed=seconds, total=seconds)
        self.expected_s[self._current_name] = seconds
        self._done_s += seconds
        self._current = None
