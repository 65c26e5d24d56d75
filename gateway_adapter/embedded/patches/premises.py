"""What every patch of a dependency shares: its premises, checked before it stays installed.

A `Patch` names the package whose internals it replaces and what runs slower without it.
`apply` runs its `check` (the attributes, methods and signatures it relies on), installs it,
then runs its `compare` (one request answered by the patched and the plain code, which must
agree); when either fails it uninstalls the patch and returns the one warning line to print.
Any exception counts as a failed premise: a renamed attribute usually shows as an
AttributeError or a TypeError deep inside the comparison, and the patch must stay off then."""

from __future__ import annotations

import importlib.metadata
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Patch", "PatchUnsafe", "PremiseFailed", "apply", "require", "require_parameters"]


class PremiseFailed(Exception):
    """A premise of a patch does not hold for the installed version of its package."""


class PatchUnsafe(RuntimeError):
    """A patch without a safe fallback failed its premise: the process must not start."""


@dataclass(frozen=True, slots=True)
class Patch:
    name: str
    package: str  # the distribution whose internals it replaces (its version is reported)
    slower: str  # what runs slower while it is off
    check: Callable[[], None]
    install: Callable[[], None]
    uninstall: Callable[[], None]
    compare: Callable[[], None]


def require(condition: object, premise: str) -> None:
    if not condition:
        raise PremiseFailed(premise)


def require_parameters(function: Any, names: Iterable[str], what: str) -> None:
    """`function` takes exactly `names`, in that order (a prefix when names ends with ...)."""
    try:
        found = list(inspect.signature(function).parameters)
    except (TypeError, ValueError) as error:
        raise PremiseFailed(f"{what} has no signature ({error})") from None
    wanted = list(names)
    require(found == wanted, f"{what} takes ({', '.join(found)}), not ({', '.join(wanted)})")


def version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def failure_line(patch: Patch, error: BaseException) -> str:
    """The one warning line: package, installed version, failed premise, what is slower."""
    premise = str(error) if isinstance(error, PremiseFailed) else f"{type(error).__name__}: {error}"
    line = (
        f"warning: {patch.package} {version_of(patch.package)}: the {patch.name} patch is off, "
        f"its premise failed ({premise}); {patch.slower}"
    )
    return " ".join(line.split())


def apply(patch: Patch) -> str | None:
    """Installs `patch` if its premises hold; else leaves it off and returns the warning."""
    try:
        patch.check()
    except Exception as error:
        return failure_line(patch, error)
    patch.install()
    try:
        patch.compare()
    except Exception as error:
        patch.uninstall()
        return failure_line(patch, error)
    return None
