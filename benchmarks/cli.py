"""`tumble bench [NAME ...]`: run the named benchmarks (all by default), one after another."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import benchmarks

__all__ = ["available", "main"]

_NOT_BENCHMARKS = {"cli", "common", "report"}


def available() -> list[str]:
    return sorted(
        module.name
        for module in pkgutil.iter_modules(benchmarks.__path__)
        if module.name not in _NOT_BENCHMARKS and not module.name.startswith("_")
    )


def main(argv: list[str]) -> int:
    names = available()
    parser = argparse.ArgumentParser(prog="tumble bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        choices=[*names, []],
        metavar="NAME",
        help=f"benchmarks to run (default: all of {', '.join(names)})",
    )
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    args = parser.parse_args(argv)
    failed = 0
    for name in args.names or names:
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        code = module.main(["--quick"] if args.quick else [])
        print(
            f"== {name}: {'ok' if code == 0 else f'exit {code}'} in "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        failed += code != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
