"""`tumble bench` runs every module of benchmarks/ that is not a helper: each must keep the
contract the runner relies on (a `main(argv) -> int` exit code, and `--quick`)."""

from __future__ import annotations

import importlib
import inspect

import pytest

from benchmarks.cli import available


@pytest.mark.parametrize("name", available())
def test_every_benchmark_answers_with_an_exit_code_and_knows_quick(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    signature = inspect.signature(module.main)
    assert signature.return_annotation in ("int", int), f"{name}.main must return an exit code"
    assert "--quick" in inspect.getsource(module), f"{name} has no --quick"
