"""The Lambda functions' third-party requirements: pinned in deploy/lambda-requirements.txt,
installed for the Lambda platform (not this machine's) with pip's `--platform` options, checked
for consistency the way `pip check` would on Lambda, and cached by pins and platform."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

__all__ = [
    "LambdaPlatform",
    "PackagingError",
    "check_consistent",
    "install_requirements",
    "read_pins",
    "resolve_pins",
]

# pip's platform tag for each Lambda architecture. Lambda's python3.12 runs on Amazon Linux
# 2023 (glibc 2.34), so manylinux2014 (glibc 2.17) wheels load there.
PIP_PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# `platform_machine` as Python reports it on each architecture (for environment markers).
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}


class PackagingError(Exception):
    """Building the artifact failed; the message says what to do."""


@dataclass(frozen=True, slots=True)
class LambdaPlatform:
    """Where the functions run: `python3.12` on `x86_64` or `arm64`."""

    python_version: str
    architecture: str

    @property
    def pip_platform(self) -> str:
        return PIP_PLATFORMS[self.architecture]

    @property
    def key(self) -> str:
        return f"cp{self.python_version.replace('.', '')}-{self.pip_platform}"

    def marker_environment(self) -> dict[str, str]:
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{self.python_version}.0",
            "os_name": "posix",
            "platform_machine": MACHINES[self.architecture],
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{self.python_version}.0",
            "python_version": self.python_version,
            "sys_platform": "linux",
            "extra": "",
        }

    def pip_options(self) -> list[str]:
        return [
            "--platform", self.pip_platform,
            "--implementation", "cp",
            "--python-version", self.python_version,
            "--only-binary=:all:",
        ]  # fmt: skip


def read_pins(path: Path) -> list[Requirement]:
    """Every requirement of a pins file, each `name==version`; anything else is an error."""
    try:
        lines = path.read_text().splitlines()
    except OSError as error:
        raise PackagingError(f"{path}: cannot be read: {error.strerror}") from error
    pins = []
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as error:
            raise PackagingError(f"{path}:{number}: {error}") from error
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            raise PackagingError(f"{path}:{number}: {line!r} is not pinned (name==version)")
        pins.append(requirement)
    return pins


def check_consistent(
    site: Path, platform: LambdaPlatform, wanted: Sequence[Requirement] = ()
) -> None:
    """`pip check` for a --target directory as Lambda would see it: every requirement of every
    installed distribution (and of `wanted`), with markers evaluated for the Lambda platform,
    is installed at a version it accepts."""
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions(path=[str(site)])
    }
    environment = platform.marker_environment()
    problems = []
    checks = [(None, r) for r in wanted] + [
        (dist.metadata["Name"], Requirement(text))
        for dist in metadata.distributions(path=[str(site)])
        for text in dist.requires or ()
    ]
    for owner, requirement in checks:
        extras = requirement.extras if owner is None else {""}
        if requirement.marker is not None and not any(
            requirement.marker.evaluate({**environment, "extra": extra}) for extra in extras or {""}
        ):
            continue
        version = installed.get(canonicalize_name(requirement.name))
        who = owner or "the pins file"
        if version is None:
            problems.append(f"{who} requires {requirement}, which is not pinned")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{who} requires {requirement}, but {version} is pinned")
    if problems:
        raise PackagingError(
            "inconsistent pins: " + "; ".join(sorted(set(problems)))
            + " (run `tumble package --update-pins`)"
        )  # fmt: skip


def _pip(arguments: Sequence[str]) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackagingError(
            f"pip failed ({' '.join(command[3:])}):\n{result.stderr.strip() or result.stdout}"
        )


def install_requirements(pins: Path, platform: LambdaPlatform, cache: Path) -> Path:
    """A directory under `cache` holding the pinned requirements installed for `platform`,
    reused when the same pins were installed for the same platform before."""
    requirements = read_pins(pins)
    digest = hashlib.sha256(pins.read_bytes() + platform.key.encode()).hexdigest()[:16]
    target = cache / "lambda-deps" / f"{platform.key}-{digest}"
    if (target / ".complete").exists():
        check_consistent(target, platform)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    try:
        if requirements:
            # --no-deps: the pins are the whole closure; check_consistent proves it.
            _pip(
                ["install", "--quiet", "--no-compile", "--no-deps", "--ignore-installed",
                 *platform.pip_options(), "--target", str(staging), "-r", str(pins)]
            )  # fmt: skip
        shutil.rmtree(staging / "bin", ignore_errors=True)  # console scripts: not importable
        check_consistent(staging, platform, requirements)
        (staging / ".complete").touch()
        shutil.rmtree(target, ignore_errors=True)  # an interrupted build's leftovers
        try:
            staging.replace(target)
        except OSError:  # another build of the same pins got there first
            if not (target / ".complete").exists():
                raise
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def resolve_pins(source: Path, pins: Path, platform: LambdaPlatform) -> list[str]:
    """Resolve `source` (loose requirements) for `platform` with pip's resolver and write the
    exact versions to `pins`; returns the pinned lines."""
    with tempfile.TemporaryDirectory(prefix="tumble-pins-") as scratch:
        report = Path(scratch) / "report.json"
        _pip(
            ["install", "--quiet", "--dry-run", "--ignore-installed", "--report", str(report),
             *platform.pip_options(), "--target", str(Path(scratch) / "t"), "-r", str(source)]
        )  # fmt: skip
        installs = json.loads(report.read_text())["install"]
    lines = sorted(
        f"{canonicalize_name(item['metadata']['name'])}=={item['metadata']['version']}"
        for item in installs
    )
    header = (
        f"# Generated by `tumble package --update-pins` from {source.name} for {platform.key}.\n"
        "# Every requirement of the Lambda functions, installed with --no-deps by\n"
        "# `make package`: edit the .in file and regenerate rather than edit this one.\n"
    )
    pins.write_text(header + "".join(f"{line}\n" for line in lines))
    return lines
