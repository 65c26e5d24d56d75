"""`tumble package`: build the Lambda artifact named by serverless.yml's `package.artifact`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from serverless_model.config import ConfigError

from .artifact import build_artifact, read_spec
from .requirements import PackagingError, resolve_pins

__all__ = ["main"]

DEFAULT_PINS = Path("deploy/lambda-requirements.txt")
DEFAULT_CACHE = Path(".tumble/cache")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tumble package", description=__doc__)
    parser.add_argument("--config", type=Path, default=Path("serverless.yml"))
    parser.add_argument("--stage", default=None)
    parser.add_argument(
        "--output", type=Path, default=None, help="default: package.artifact of serverless.yml"
    )
    parser.add_argument("--requirements", type=Path, default=DEFAULT_PINS, metavar="PINS")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, metavar="DIR")
    parser.add_argument("--no-cache", action="store_true", help="install the requirements anew")
    parser.add_argument(
        "--update-pins",
        action="store_true",
        help="first re-resolve PINS from the .in file beside it, for the Lambda platform",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        spec = read_spec(args.config, args.stage)
        output = args.output or spec.artifact
        if output is None:
            raise PackagingError(
                f"{args.config}: no package.artifact; name the zip there or pass --output"
            )
        if args.update_pins:
            source = args.requirements.with_suffix(".in")
            lines = resolve_pins(source, args.requirements, spec.platform)
            print(f"{args.requirements}: {len(lines)} pins for {spec.platform.key}")
        started = time.perf_counter()
        cache = None if args.no_cache else args.cache_dir
        report = build_artifact(spec, output, args.requirements, cache)
    except (ConfigError, PackagingError) as error:
        print(f"tumble package: {error}", file=sys.stderr)
        return 1
    took = time.perf_counter() - started
    print(f"{report.summary(Path.cwd())}; {spec.platform.key}; built in {took:.1f} s")
    return 0
