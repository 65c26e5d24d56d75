"""Command-line entry points of gateway_adapter that are not the gateway itself."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["local_main"]


def local_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="tumble local",
        description="Backend, resources, gateway with stream trigger, simulated players and the "
        "race page, until Ctrl-C.",
    )
    parser.add_argument("--config", type=Path, default=Path("serverless.yml"))
    parser.add_argument("--simulate", type=int, default=4, help="simulated players (0: none)")
    parser.add_argument("--rate", type=float, default=10.0, help="presses per player per second")
    args = parser.parse_args(argv)
    from .local import main

    return main(args.config, simulate=args.simulate, rate=args.rate)
