"""`tumble <command> [options]`: a thin dispatcher. Each command is a `main(argv) -> int` in the
package that owns the work, imported only when used so `tumble token` stays instant."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

__all__ = ["COMMANDS", "main"]

# command -> (module:function, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "local": ("tumble.local:cli_main", "run the whole pipeline on this machine"),
    "produce": ("producer.cli:produce_main", "ship controller presses (or --simulate N players)"),
    "emit": ("producer.cli:emit_main", "send one event of any type on both paths"),
    "watch": ("spectator.watch:main", "watch live events and latency per path"),
    "token": ("tumble.token:main", "print a signed connection token"),
    "bench": ("benchmarks.cli:main", "run the benchmarks and print their numbers"),
    "cost": ("tumble.cost_cli:main", "what the pipeline costs on AWS for a load"),
    "package": ("tumble.packaging.cli:main", "build the Lambda artifact serverless.yml ships"),
    "deploy": ("tumble.deploy.cli:deploy_main", "check, build and ship a stage to AWS"),
    "remove": ("tumble.deploy.cli:remove_main", "remove a deployed stage (keeps the bucket)"),
}


# Commands that talk to a running stack: with nothing configured they find `tumble local`
# (tumble.settings.apply_client_defaults), as the packages they run read only standard settings.
LOCAL_CLIENT_COMMANDS = frozenset({"produce", "emit", "watch"})


def _usage() -> str:
    lines = ["usage: tumble <command> [options]", "", "commands:"]
    lines += [f"  {name:<9} {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += ["", "`tumble <command> --help` shows a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"tumble: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    target, _ = COMMANDS[command]
    if command in LOCAL_CLIENT_COMMANDS:
        from .settings import apply_client_defaults

        apply_client_defaults()
    module_name, function_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            print(f"tumble {command}: not built yet ({module_name} is missing)", file=sys.stderr)
            return 2
        raise
    entry: Callable[[list[str]], int] = getattr(module, function_name)
    return entry(rest)
