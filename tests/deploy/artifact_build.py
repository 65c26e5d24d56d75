"""The Lambda artifact, built once per test session (the requirements come from the project's
pip cache in .tumble/cache, so only a clean clone downloads them), and a Lambda-like
interpreter to run things from it: Python 3.12 with `-I -S`, whose sys.path is the standard
library and the artifact alone."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from gateway_adapter.lambda_runtime.sandboxes import find_python
from tumble.packaging import build_artifact, read_spec

ROOT = Path(__file__).resolve().parents[2]
SERVERLESS_YML = ROOT / "serverless.yml"
PINS = ROOT / "deploy" / "lambda-requirements.txt"
CACHE = ROOT / ".tumble" / "cache"

_built: dict[str, Path] = {}


def lambda_python() -> str:
    """The Python of serverless.yml's runtime (3.12), or a skip saying it is missing."""
    version = read_spec(SERVERLESS_YML).platform.python_version
    python, exact = find_python(f"python{version}")
    if not exact:
        pytest.skip("no Python 3.12 (PATH or ~/.pyenv/versions/3.12.*): Lambda's runtime")
    return python


def built_artifact(factory: pytest.TempPathFactory) -> Path:
    """dist/tumble-lambda.zip as `make package` builds it, into a temporary directory."""
    if "zip" not in _built:
        output = factory.mktemp("artifact") / "tumble-lambda.zip"
        build_artifact(read_spec(SERVERLESS_YML), output, PINS, CACHE)
        _built["zip"] = output
    return _built["zip"]


def unpacked(artifact: Path, into: Path) -> Path:
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(into)
    return into


def import_in_lambda(python: str, root: Path, modules: list[str]) -> dict[str, str | None]:
    """Import each module in a fresh `-I -S` interpreter whose path is stdlib + `root`: None for
    a module that imports, else the error."""
    script = (
        "import importlib, json, sys\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "result = {}\n"
        f"for name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        result[name] = None\n"
        "    except Exception as error:\n"
        "        result[name] = f'{type(error).__name__}: {error}'\n"
        "print(json.dumps(result))\n"
    )
    done = subprocess.run(
        [python, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    answer: dict[str, str | None] = json.loads(done.stdout.splitlines()[-1])
    return answer
