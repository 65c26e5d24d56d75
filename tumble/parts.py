"""The parts of a local stack: what each child process is and how it is treated when it dies
(tumble.local's docstring has the rule), and the environment they share."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from serverless_model.service import Service

__all__ = ["Child", "Part", "shared_environment", "tail", "warning_lines"]


@dataclass(frozen=True, slots=True)
class Part:
    """A child process of the local stack: `python -m module args`."""

    name: str
    module: str
    args: Sequence[str]
    ready_url: str | None = None
    ready_timeout_s: float = 15.0
    restart: bool = False  # stateless: restarted when it dies (see the module's docstring)
    essential: bool = False  # the stack stops when it dies
    # On the supervisor's death: SIGTERM lets players flush; the others have nothing to save.
    death_signal: int = signal.SIGKILL
    env: Mapping[str, str] | None = None  # None: the stack's environment
    stop_grace_s: float | None = None  # None: tumble.local's STOP_GRACE_S


@dataclass
class Child:
    part: Part
    process: subprocess.Popen[bytes]
    restarts: list[float] = field(default_factory=list)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def warning_lines(path: Path) -> list[str]:
    """The lines of a part's log that start with "warning:" (a dependency patch left off,
    say): they matter to the user, so start-up repeats them on the terminal, not only in the
    log nobody reads while things work."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.lstrip().startswith("warning:")]


def shared_environment(service: Service) -> dict[str, str]:
    """The variables every function of the service sees alike (serverless.yml's
    provider.environment, in effect)."""
    functions = list(service.functions.values())
    if not functions:
        return {}
    first = functions[0].environment
    return {
        name: value
        for name, value in first.items()
        if all(f.environment.get(name) == value for f in functions[1:])
    }
