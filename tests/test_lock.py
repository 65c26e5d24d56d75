"""The lock (requirements.lock, what `make` installs) against what it must agree with: the
Lambda artifact's pins, for every package both hold, and pyproject.toml, whose every
requirement it must cover (a requirement added without `make lock` fails here)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
LAMBDA_PINS = ROOT / "deploy" / "lambda-requirements.txt"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(path: Path) -> dict[str, set[str]]:
    """name -> the versions pinned (a universal lock may pin one per Python version)."""
    found: dict[str, set[str]] = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            found.setdefault(canonicalize_name(match[1]), set()).add(match[2])
    return found


def test_the_lock_and_the_lambda_pins_agree_on_every_package_both_hold():
    lock, shipped = pins(LOCK), pins(LAMBDA_PINS)
    both = lock.keys() & shipped.keys()
    assert {"aiobotocore", "aiohttp", "boto3", "botocore"} <= both
    disagree = {name: (shipped[name], lock[name]) for name in both if lock[name] != shipped[name]}
    assert disagree == {}, "run `make lock` after `tumble package --update-pins`"


def test_the_lock_covers_every_requirement_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("test", "bench"):  # the extras make installs (LOCK_EXTRAS)
        wanted += project["optional-dependencies"][extra]
    lock = pins(LOCK)
    missing = []
    for text in wanted:
        requirement = Requirement(text)
        versions = lock.get(canonicalize_name(requirement.name), set())
        if not versions or not all(requirement.specifier.contains(v) for v in versions):
            missing.append(text)
    assert missing == [], "pyproject.toml changed since the lock: run `make lock`"
