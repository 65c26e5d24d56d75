"""The parts of `tumble package` that need no download: serverless.yml's patterns applied as
the Framework applies them, the pins' consistency check for the Lambda platform, and what the
packager reads from serverless.yml."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from serverless_model.config import ConfigError
from tumble.packaging import LambdaPlatform, PackagingError, build_artifact, check_consistent
from tumble.packaging import read_spec as read_package_spec
from tumble.packaging.patterns import matching_files

TUMBLE_PATTERNS = ["!**", "messages/**", "processor/**", "sigv4_core/**", "!**/__pycache__/**"]
X86 = LambdaPlatform("3.12", "x86_64")


def tree(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    return root


@pytest.fixture
def service_tree(tmp_path: Path) -> Path:
    return tree(
        tmp_path, "messages/__init__.py", "messages/__pycache__/x.cpython-311.pyc",
        "processor/handlers/a.py", "processor/README", "producer/p.py", "serverless.yml",
        "sigv4_core/__init__.py",
        ".git/config", ".serverless/state.json", ".venv/lib/site.py", "node_modules/m/i.js",
    )  # fmt: skip


def test_tumble_patterns_keep_messages_processor_and_the_sigv4_core_only(service_tree: Path):
    assert list(matching_files(service_tree, TUMBLE_PATTERNS)) == [
        "messages/__init__.py",
        "processor/README",
        "processor/handlers/a.py",
        "sigv4_core/__init__.py",
    ]


def test_no_patterns_keep_all_but_the_framework_defaults(service_tree: Path):
    kept = list(matching_files(service_tree, []))
    assert "producer/p.py" in kept
    assert ".venv/lib/site.py" in kept
    assert not [name for name in kept if name.startswith((".git/", ".serverless/"))]


def test_the_last_matching_pattern_decides(service_tree: Path):
    patterns = ["!**", "{messages,producer}/**", "!producer/**", "producer/p.py", "!**/*.pyc"]
    assert list(matching_files(service_tree, patterns)) == [
        "messages/__init__.py",
        "producer/p.py",
    ]
    assert list(matching_files(service_tree, ["!**", "**/a.py", "./serverless.yml"])) == [
        "processor/handlers/a.py",
        "serverless.yml",
    ]


def dist(site: Path, name: str, version: str, *requires: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = [f"Name: {name}", f"Version: {version}", *(f"Requires-Dist: {r}" for r in requires)]
    (info / "METADATA").write_text("Metadata-Version: 2.1\n" + "\n".join(lines) + "\n")


def test_consistent_pins_pass_with_markers_for_lambda(tmp_path: Path):
    dist(tmp_path, "top", "1.0", "dep>=2,<3", 'old; python_version < "3.11"',
         'arm-only; platform_machine == "aarch64"', 'extra-dep; extra == "fast"')  # fmt: skip
    dist(tmp_path, "dep", "2.5")
    check_consistent(tmp_path, X86, [Requirement("top==1.0")])
    with pytest.raises(PackagingError, match="arm-only"):
        check_consistent(tmp_path, LambdaPlatform("3.12", "arm64"))


@pytest.mark.parametrize(
    ("dep_version", "wanted", "problem"),
    [
        (None, [], r"top requires dep<3,>=2, which is not pinned"),
        ("3.1", [], r"top requires dep<3,>=2, but 3\.1 is pinned"),
        ("2.0", ["top==9"], r"the pins file requires top==9, but 1\.0 is pinned"),
    ],
)
def test_inconsistent_pins_are_named(tmp_path: Path, dep_version, wanted, problem):
    dist(tmp_path, "top", "1.0", "dep>=2,<3")
    if dep_version:
        dist(tmp_path, "dep", dep_version)
    with pytest.raises(PackagingError, match=problem):
        check_consistent(tmp_path, X86, [Requirement(w) for w in wanted])


def write_config(tmp_path: Path, provider: str, function: str = "", package: str = "") -> Path:
    config = tmp_path / "serverless.yml"
    config.write_text(
        "service: s\nprovider:\n  name: aws\n" + provider
        + f"package:\n  artifact: out/s.zip\n{package}"
        + f"functions:\n  f:\n    handler: app.handle\n{function}"
    )  # fmt: skip
    return config


def test_the_platform_comes_from_runtime_and_architecture(tmp_path: Path):
    provider = "  runtime: python3.13\n  architecture: arm64\n"
    spec = read_package_spec(write_config(tmp_path, provider))
    assert spec.platform.pip_platform == "manylinux2014_aarch64"
    assert spec.platform.marker_environment()["platform_machine"] == "aarch64"
    assert spec.platform.key == "cp313-manylinux2014_aarch64"
    assert spec.artifact == tmp_path / "out" / "s.zip"


@pytest.mark.parametrize(
    ("provider", "function", "key"),
    [
        ("  runtime: nodejs20.x\n", "", "provider.runtime"),
        ("  runtime: python3.12\n  architecture: sparc\n", "", "provider.architecture"),
        ("  runtime: python3.12\n", "    runtime: python3.11\n", "functions.f.runtime"),
        ("  runtime: python3.12\n", "    package:\n      artifact: f.zip\n", "functions.f.package"),
    ],
)
def test_what_one_artifact_cannot_serve_is_refused(tmp_path: Path, provider, function, key):
    with pytest.raises(ConfigError) as refused:
        read_package_spec(write_config(tmp_path, provider, function))
    assert refused.value.key == key


def test_a_handler_the_patterns_leave_out_is_named(tmp_path: Path):
    config = write_config(tmp_path, "  runtime: python3.12\n", package="  patterns: ['!**']\n")
    (tmp_path / "app.py").write_text("def handle(event, context): pass\n")
    with pytest.raises(PackagingError, match=r"functions\.f: the handler app\.handle is not in"):
        build_artifact(read_package_spec(config), tmp_path / "a.zip", None, None)
