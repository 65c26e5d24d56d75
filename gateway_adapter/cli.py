"""Command-line entry points of gateway_adapter other than the gateway itself."""

from __future__ import annotations

import argparse
from pathlib import Path

from .local import Ports

__all__ = ["local_main"]


def local_main(argv: list[str]) -> int:
    defaults = Ports()
    parser = argparse.ArgumentParser(
        prog="tumble local",
        description="Backend, resources, gateway with stream trigger, simulated players and the "
        "race page, until Ctrl-C.",
    )
    parser.add_argument("--config", type=Path, default=Path("serverless.yml"))
    parser.add_argument("--simulate", type=int, default=4, help="simulated players (0: none)")
    parser.add_argument("--rate", type=float, default=10.0, help="presses per player per second")
    parser.add_argument(
        "--aws-port", type=int, default=defaults.aws, help="port of the embedded AWS endpoint"
    )
    parser.add_argument(
        "--gateway-port",
        type=int,
        default=defaults.gateway,
        help="port of the WebSocket API and its @connections API",
    )
    parser.add_argument(
        "--page-port", type=int, default=defaults.page, help="port of the race page"
    )
    args = parser.parse_args(argv)
    from .local import main

    ports = Ports(aws=args.aws_port, gateway=args.gateway_port, page=args.page_port)
    return main(args.config, ports=ports, simulate=args.simulate, rate=args.rate)
