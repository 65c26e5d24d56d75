"""Benchmark figures as JSON, one folder per run: `results/<UTC timestamp>/<benchmark>.json`.

A run's folder is named once (by `tumble bench`, or by the first benchmark run on its own) and
passed on in `TUMBLE_RESULTS_DIR`, so every benchmark of one `make bench` lands together and the
report is built from that folder alone. Each file holds the machine's facts and the versions of
the key packages next to the benchmark's parameters, figures, raw samples and printed lines:
enough to compare two runs without the terminal they ran in."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS_DIR_VARIABLE",
    "RESULTS_ROOT",
    "load_run",
    "machine_facts",
    "newest_run",
    "package_versions",
    "record",
    "run_dir",
]

RESULTS_ROOT = Path(__file__).resolve().parent.parent / "results"
RESULTS_DIR_VARIABLE = "TUMBLE_RESULTS_DIR"
KEY_PACKAGES = (
    "aiobotocore",
    "botocore",
    "boto3",
    "aiohttp",
    "moto",
    "websocket-client",
    "psutil",
)
SCHEMA_VERSION = 1


def run_dir(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """This run's folder, created on first use and remembered in the environment (children
    and later benchmarks of the same run inherit it)."""
    named = environ.get(RESULTS_DIR_VARIABLE)
    if named:
        folder = Path(named)
    else:
        folder = RESULTS_ROOT / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        environ[RESULTS_DIR_VARIABLE] = str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_facts() -> dict[str, Any]:
    import psutil

    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "load_average": list(os.getloadavg()),
    }


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def record(
    benchmark: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    figures: Mapping[str, Any] | None = None,
    samples: Mapping[str, Any] | None = None,
    printed: list[str] | None = None,
    folder: Path | None = None,
) -> Path:
    """Merges what is given into `<run>/<benchmark>.json` (several parts of one benchmark may
    record separately); returns the file."""
    path = (folder or run_dir()) / f"{benchmark}.json"
    document: dict[str, Any] = (
        json.loads(path.read_text())
        if path.exists()
        else {
            "schema": SCHEMA_VERSION,
            "benchmark": benchmark,
            "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine_facts(),
            "versions": package_versions(),
            "parameters": {},
            "figures": {},
            "samples": {},
            "printed": [],
        }
    )
    _merge(document["parameters"], parameters or {})
    _merge(document["figures"], figures or {})
    _merge(document["samples"], samples or {})
    document["printed"].extend(printed or [])
    path.write_text(json.dumps(document, indent=1, default=float) + "\n")
    return path


def load_run(folder: Path) -> dict[str, dict[str, Any]]:
    """Every benchmark's document in a run's folder, by benchmark name."""
    return {
        path.stem: json.loads(path.read_text())
        for path in sorted(folder.glob("*.json"))
        if path.stem != "run"
    }


def newest_run(root: Path = RESULTS_ROOT, having: str | None = None) -> Path | None:
    """The newest timestamped run folder (optionally one holding `having`.json)."""
    if not root.is_dir():
        return None
    runs = sorted(
        (p for p in root.iterdir() if p.is_dir() and p.name[:1].isdigit()),
        key=lambda p: p.name,
        reverse=True,
    )
    for run in runs:
        if having is None or (run / f"{having}.json").exists():
            return run
    return None
