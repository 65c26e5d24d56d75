"""The Lambda artifact: the files serverless.yml's `package.patterns` keep, plus the pinned
requirements installed for the Lambda platform, in one deterministic zip (sorted entries, fixed
timestamps and modes, so the same inputs give the same bytes), checked against Lambda's size
limits before it replaces the previous one."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serverless_model.config import ConfigError, Options, load_document, resolve

from .patterns import matching_files
from .requirements import PIP_PLATFORMS, LambdaPlatform, PackagingError, install_requirements

__all__ = [
    "MAX_UNZIPPED_BYTES",
    "MAX_ZIPPED_BYTES",
    "ArtifactReport",
    "PackageSpec",
    "build_artifact",
    "check_size",
    "read_spec",
]

# Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
# a .zip deployment package is at most 50 MB zipped (direct upload) and 250 MB unzipped.
MAX_ZIPPED_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
# The earliest time a zip entry can carry: every entry gets it, so builds are reproducible.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
_RUNTIME = re.compile(r"^python(\d+\.\d+)$")


@dataclass(frozen=True, slots=True)
class PackageSpec:
    """What serverless.yml says about packaging its functions."""

    config: Path
    service: str
    patterns: tuple[str, ...]
    artifact: Path | None
    platform: LambdaPlatform
    handlers: Mapping[str, str]

    @property
    def root(self) -> Path:
        return self.config.resolve().parent


@dataclass(frozen=True, slots=True)
class ArtifactReport:
    path: Path
    files: int
    zipped_bytes: int
    unzipped_bytes: int

    def summary(self, relative_to: Path | None = None) -> str:
        shown = self.path
        if relative_to is not None and self.path.is_relative_to(relative_to):
            shown = self.path.relative_to(relative_to)
        return (
            f"{shown}: {self.files} files, {_mb(self.zipped_bytes)} zipped "
            f"(limit {_mb(MAX_ZIPPED_BYTES)}), {_mb(self.unzipped_bytes)} unzipped "
            f"(limit {_mb(MAX_UNZIPPED_BYTES)})"
        )


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _setting(spec: Mapping[str, Any], name: str, default: str, where: str, config: Path) -> str:
    value = spec.get(name, default)
    if not isinstance(value, str):
        raise ConfigError(config, f"{where}.{name}", "must be a string")
    return value


def read_spec(config: Path, stage: str | None = None) -> PackageSpec:
    """The packaging settings of serverless.yml, variables resolved as `serverless` would."""
    document = resolve(load_document(config), Options(stage=stage), config)
    provider = document.get("provider") or {}
    package = document.get("package") or {}
    runtime = _setting(provider, "runtime", "", "provider", config)
    architecture = _setting(provider, "architecture", "x86_64", "provider", config)
    functions = document.get("functions") or {}
    for name, function in functions.items():
        where = f"functions.{name}"
        if _setting(function, "runtime", runtime, where, config) != runtime:
            raise ConfigError(config, f"{where}.runtime", "one artifact serves every function")
        if _setting(function, "architecture", architecture, where, config) != architecture:
            raise ConfigError(config, f"{where}.architecture", "one artifact serves every function")
        if function.get("package"):
            raise ConfigError(config, f"{where}.package", "packaging functions individually is "
                              "not supported by `tumble package`")  # fmt: skip
    match = _RUNTIME.match(runtime)
    if match is None:
        raise ConfigError(config, "provider.runtime", f"{runtime!r} is not a pythonX.Y runtime")
    if architecture not in PIP_PLATFORMS:
        raise ConfigError(config, "provider.architecture", "must be x86_64 or arm64")
    patterns = package.get("patterns") or []
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ConfigError(config, "package.patterns", "must be a list of globs")
    artifact = package.get("artifact")
    return PackageSpec(
        config=config,
        service=str(document.get("service")),
        patterns=tuple(patterns),
        artifact=config.resolve().parent / artifact if isinstance(artifact, str) else None,
        platform=LambdaPlatform(match.group(1), architecture),
        handlers={name: str(f.get("handler", "")) for name, f in functions.items()},
    )


def check_size(
    zipped: int,
    unzipped: int,
    max_zipped: int = MAX_ZIPPED_BYTES,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
) -> None:
    """Refuse what Lambda would refuse to create."""
    if zipped > max_zipped:
        raise PackagingError(
            f"the artifact is {_mb(zipped)} zipped, over Lambda's {_mb(max_zipped)} limit "
            "for a .zip deployment package: ship fewer requirements or use a container image"
        )
    if unzipped > max_unzipped:
        raise PackagingError(
            f"the artifact is {_mb(unzipped)} unzipped, over Lambda's {_mb(max_unzipped)} "
            "limit for a .zip deployment package: ship fewer requirements"
        )


def _dependency_files(site: Path) -> dict[str, Path]:
    files = {}
    for directory, subdirectories, names in os.walk(site):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        base = Path(directory)
        for name in names:
            path = base / name
            relative = path.relative_to(site).as_posix()
            if relative != ".complete" and not name.endswith(".pyc"):
                files[relative] = path
    return files


def _check_handlers(spec: PackageSpec, names: set[str]) -> None:
    for function, handler in spec.handlers.items():
        module = handler.rsplit(".", 1)[0].replace(".", "/")
        if f"{module}.py" not in names and f"{module}/__init__.py" not in names:
            raise PackagingError(
                f"functions.{function}: the handler {handler} is not in the artifact "
                f"(no {module}.py): check package.patterns in {spec.config}"
            )


def _write_zip(path: Path, files: Mapping[str, Path]) -> int:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(files):
            source = files[name]
            entry = zipfile.ZipInfo(name, FIXED_DATE_TIME)
            entry.create_system = 3  # Unix, so the modes below count
            executable = source.stat().st_mode & stat.S_IXUSR
            entry.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, source.read_bytes())
        return sum(info.file_size for info in archive.infolist())


def build_artifact(
    spec: PackageSpec,
    output: Path,
    pins: Path | None,
    cache: Path | None,
    limits: tuple[int, int] = (MAX_ZIPPED_BYTES, MAX_UNZIPPED_BYTES),
) -> ArtifactReport:
    """Build the zip at `output`; `pins` None ships the code alone (what the Framework alone
    would ship); `cache` None installs the requirements into a scratch directory. The previous
    artifact is replaced only by one within Lambda's limits."""
    files = {
        name: spec.root / name
        for name in matching_files(spec.root, spec.patterns)
        if spec.root / name != output.resolve()
    }
    _check_handlers(spec, set(files))
    with tempfile.TemporaryDirectory(prefix="tumble-lambda-deps-") as scratch:
        if pins is not None:
            site = install_requirements(pins, spec.platform, cache or Path(scratch))
            for name, path in _dependency_files(site).items():
                if name in files:
                    raise PackagingError(f"{name} is both service code and part of a requirement")
                files[name] = path
        return _replace_artifact(output, files, limits)


def _replace_artifact(
    output: Path, files: Mapping[str, Path], limits: tuple[int, int]
) -> ArtifactReport:
    output.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    os.close(descriptor)
    scratch = Path(name)
    try:
        unzipped = _write_zip(scratch, files)
        zipped = scratch.stat().st_size
        check_size(zipped, unzipped, *limits)
        scratch.chmod(0o644)
        scratch.replace(output)
    finally:
        scratch.unlink(missing_ok=True)
    return ArtifactReport(output, len(files), zipped, unzipped)
