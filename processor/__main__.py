"""`python -m processor`: the Lambda functions from a shell, for debugging without a gateway.

    python -m processor invoke send_iot_message event.json   # or the event on stdin

`invoke` calls the handler exactly as Lambda would (an event and a context), with the standard
AWS configuration of this shell, and prints what it returned as JSON. (Tokens for it come
from `tumble token`: issuing them is not the processor's work.)"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["main"]

FUNCTIONS = (
    "authorizer",
    "connection_manager",
    "subscribe",
    "submit_iot_event",
    "send_iot_message",
)
DEFAULT_TIMEOUT_S = 29.0


@dataclass
class ShellContext:
    """The parts of Lambda's context object the handlers read."""

    function_name: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 256
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self.started)) * 1000))


def invoke(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m processor invoke")
    parser.add_argument("function", choices=FUNCTIONS)
    parser.add_argument("event", nargs="?", type=Path, help="event JSON file (default: stdin)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    args = parser.parse_args(argv)
    text = args.event.read_text() if args.event else sys.stdin.read()
    try:
        event = json.loads(text)
    except json.JSONDecodeError as error:
        print(f"python -m processor invoke: the event is not JSON: {error}", file=sys.stderr)
        return 2
    handler = importlib.import_module(f"processor.handlers.{args.function}").handle
    try:
        result = handler(event, ShellContext(args.function, args.timeout))
    except Exception as error:  # reported the way Lambda reports a function error
        failure = {"errorType": type(error).__name__, "errorMessage": str(error)}
        print(json.dumps(failure, indent=2))
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {"invoke": invoke}
    if not args or args[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
