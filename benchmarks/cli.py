"""`tumble bench [NAME ...]`: run the named benchmarks (all by default), one after another,
with a progress board, each one's figures saved under `results/<UTC timestamp>/`, and the run's
REPORT.md (tables and charts) written at the end. `tumble bench report DIR` rebuilds a report
from a results folder."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import pkgutil
import sys
import time
from pathlib import Path

import benchmarks
from benchmarks import results
from benchmarks.progress import Board, Tee, estimates, previous_durations

__all__ = ["available", "main"]

_NOT_BENCHMARKS = {"cli", "common", "report", "results", "progress", "plots"}


def available() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules(benchmarks.__path__)
        if module.name not in _NOT_BENCHMARKS and not module.name.startswith("_")
    )


def _write_report(folder: Path) -> int:
    try:
        from benchmarks.report import write_report
    except ModuleNotFoundError as error:  # matplotlib is in the `bench` extra
        print(f"no report: {error.name} is missing (pip install -e '.[bench]')", file=sys.stderr)
        return 2
    written = write_report(folder)
    print(f"report: {written}", flush=True)
    return 0


def _report_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tumble bench report", description=_write_report.__doc__)
    parser.add_argument("folder", type=Path, help="a results folder, e.g. results/example")
    args = parser.parse_args(argv)
    if not any(args.folder.glob("*.json")):
        print(f"tumble bench report: no results JSON in {args.folder}", file=sys.stderr)
        return 2
    return _write_report(args.folder)


def main(argv: list[str]) -> int:
    if argv[:1] == ["report"]:
        return _report_main(argv[1:])
    names = available()
    parser = argparse.ArgumentParser(prog="tumble bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        choices=[*names, []],
        metavar="NAME",
        help=f"benchmarks to run (default: all of {', '.join(names)}); `report DIR` rebuilds",
    )
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--no-report", action="store_true", help="save the JSON only")
    args = parser.parse_args(argv)
    chosen = args.names or names
    previous = previous_durations(results.RESULTS_ROOT, args.quick)
    folder = results.run_dir(os.environ)
    board = Board(estimates(chosen, args.quick, previous))
    durations: dict[str, float] = {}
    codes: dict[str, int] = {}
    with board.running():
        for index, name in enumerate(chosen, 1):
            module = importlib.import_module(f"benchmarks.{name}")
            board.begin(index, name)
            print(f"\n== {name} ==", flush=True)
            started = time.perf_counter()
            tee = Tee(sys.stdout)
            with contextlib.redirect_stdout(tee):
                code = module.main(["--quick"] if args.quick else [])
            durations[name] = time.perf_counter() - started
            codes[name] = code
            results.record(name, parameters={"quick": args.quick}, printed=tee.lines)
            board.end(durations[name])
            print(
                f"== {name}: {'ok' if code == 0 else f'exit {code}'} in {durations[name]:.1f} s",
                flush=True,
            )
    run = {"quick": args.quick, "durations_s": durations, "exit_codes": codes}
    (folder / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    print(f"results: {folder}", flush=True)
    failed = sum(code != 0 for code in codes.values())
    if not args.no_report:
        failed += _write_report(folder) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
