"""The Lambda artifact `make package` builds: what it holds, that every handler serverless.yml
names imports from it in a Lambda-like interpreter (and that the code-only package Serverless
would build without it does not), and Lambda's size limits."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from serverless_model.config import Options
from serverless_model.service import load_service
from tumble.packaging import (
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    PackagingError,
    build_artifact,
    check_size,
    read_spec,
)
from tumble.packaging.cli import main as package_main

from .artifact_build import (
    CACHE,
    PINS,
    SERVERLESS_YML,
    built_artifact,
    import_in_lambda,
    lambda_python,
    unpacked,
)

pytestmark = pytest.mark.slow

HANDLER_MODULES = sorted(
    {f.module for f in load_service(SERVERLESS_YML, Options(stage="test")).functions.values()}
)
NOT_SHIPPED = [
    "moto",
    "pygame",
    "gateway_adapter",
    "serverless_model",
    "producer",
    "spectator",
    "tumble",
    "yaml",
]


@pytest.fixture(scope="session")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_artifact(tmp_path_factory)


@pytest.fixture(scope="session")
def task_root(artifact: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpacked(artifact, tmp_path_factory.mktemp("task"))


def test_serverless_ships_the_artifact_it_names():
    spec = read_spec(SERVERLESS_YML)
    assert spec.artifact == SERVERLESS_YML.parent / "dist" / "tumble-lambda.zip"
    assert (spec.platform.python_version, spec.platform.architecture) == ("3.12", "x86_64")
    assert spec.platform.pip_platform == "manylinux2014_x86_64"


def test_the_artifact_holds_the_code_and_the_requirements_for_lambda(artifact: Path):
    names = zipfile.ZipFile(artifact).namelist()
    top = {name.split("/")[0] for name in names}
    assert {
        "messages",
        "processor",
        "sigv4_core",
        "aiobotocore",
        "aiohttp",
        "boto3",
        "botocore",
    } <= top
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert names == sorted(names)
    # Compiled for CPython 3.12 on Linux x86_64, not for this machine's interpreter.
    extensions = [n for n in names if n.endswith(".so")]
    assert extensions
    assert all("cpython-312-x86_64-linux-gnu" in n for n in extensions)
    pinned = {line.split("==")[0] for line in PINS.read_text().splitlines() if "==" in line}
    shipped = {n.split("-")[0].lower().replace("_", "-") for n in top if n.endswith(".dist-info")}
    assert shipped == pinned


def test_every_handler_imports_in_a_lambda_like_interpreter(task_root: Path):
    errors = import_in_lambda(lambda_python(), task_root, HANDLER_MODULES)
    assert errors == dict.fromkeys(HANDLER_MODULES)


def test_what_is_not_needed_is_not_shipped(artifact: Path, task_root: Path):
    top = {name.split("/")[0].removesuffix(".py") for name in zipfile.ZipFile(artifact).namelist()}
    assert not top & set(NOT_SHIPPED)
    found = import_in_lambda(lambda_python(), task_root, NOT_SHIPPED)
    assert all(error and error.startswith("ModuleNotFoundError") for error in found.values())


def test_the_package_without_requirements_fails_the_import_test(tmp_path: Path):
    """What `serverless package` alone built (messages/ and processor/): every handler fails on
    Lambda with ModuleNotFoundError, and this test would have said so."""
    code_only = build_artifact(read_spec(SERVERLESS_YML), tmp_path / "code.zip", None, None)
    assert code_only.files < 100
    errors = import_in_lambda(lambda_python(), unpacked(code_only.path, tmp_path / "t"),
                              HANDLER_MODULES)  # fmt: skip
    assert all("No module named" in str(error) for error in errors.values()), errors


def test_builds_are_reproducible(artifact: Path, tmp_path: Path):
    again = build_artifact(read_spec(SERVERLESS_YML), tmp_path / "again.zip", PINS, CACHE)
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (artifact, again.path)]
    assert digest[0] == digest[1]


def test_lambda_size_limits_are_enforced(artifact: Path, tmp_path: Path):
    assert (MAX_ZIPPED_BYTES, MAX_UNZIPPED_BYTES) == (50 * 2**20, 250 * 2**20)
    check_size(MAX_ZIPPED_BYTES, MAX_UNZIPPED_BYTES)
    with pytest.raises(PackagingError, match=r"zipped, over Lambda.s 50\.0 MB limit"):
        check_size(MAX_ZIPPED_BYTES + 1, 0)
    with pytest.raises(PackagingError, match=r"unzipped, over Lambda.s 250\.0 MB limit"):
        check_size(0, MAX_UNZIPPED_BYTES + 1)
    # A build over the limits leaves the previous artifact in place, and no partial file.
    output = tmp_path / "dist" / "tumble-lambda.zip"
    output.parent.mkdir()
    output.write_bytes(b"previous")
    with pytest.raises(PackagingError, match="over Lambda's"):
        build_artifact(read_spec(SERVERLESS_YML), output, None, None, limits=(1000, 10**9))
    assert output.read_bytes() == b"previous"
    assert [p.name for p in output.parent.iterdir()] == ["tumble-lambda.zip"]


def test_the_command_builds_and_reports_sizes(tmp_path: Path, capsys: pytest.CaptureFixture):
    output = tmp_path / "out.zip"
    no_pins = tmp_path / "none.txt"
    no_pins.write_text("# nothing: the code alone, to keep this test quick\n")
    args = ["--config", str(SERVERLESS_YML), "--output", str(output), "--requirements",
            str(no_pins), "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert package_main(args) == 0
    printed = capsys.readouterr().out
    assert "MB zipped (limit 50.0 MB)" in printed
    assert "MB unzipped (limit 250.0 MB)" in printed
    assert output.exists()


def test_the_command_names_bad_pins(tmp_path: Path, capsys: pytest.CaptureFixture):
    loose = tmp_path / "pins.txt"
    loose.write_text("aiohttp>=3\n")
    args = ["--config", str(SERVERLESS_YML), "--output", str(tmp_path / "x.zip"),
            "--requirements", str(loose)]  # fmt: skip
    assert package_main(args) == 1
    assert "'aiohttp>=3' is not pinned" in capsys.readouterr().err
