"""`python -m tumble.watchdog COMMAND...`: runs COMMAND and takes its whole process tree down
with it, for programs that start children of their own in sessions of their own.

Host-mode LocalStack is one: it starts kinesis-mock (node) in a new session, so neither the
parent-death signal of tumble.supervision (it reaches direct children only) nor a process
group kill reaches it, and a LocalStack killed outright leaves kinesis-mock running, holding
its port. The watchdog is a child subreaper (Linux `PR_SET_CHILD_SUBREAPER`): every orphan of
COMMAND's tree becomes its child, so it can always find and end them. It stops the tree when

- it is asked to (SIGTERM or SIGINT, also what its own parent-death signal delivers when the
  process that started it dies, SIGKILL included): SIGTERM to COMMAND, then after
  `--grace` seconds SIGKILL to whatever is left of the tree;
- COMMAND exits: what COMMAND left behind is killed.

It exits with COMMAND's exit code."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading

import psutil

from .supervision import dying_with_this_process, set_child_subreaper

__all__ = ["end_tree", "main"]

DEFAULT_GRACE_S = 3.0


def end_tree(root: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM to `root` (it may stop its own children cleanly), then SIGKILL to every process
    still in the tree after `grace_s`, orphans handed to this subreaper included."""
    root.terminate()
    try:
        root.wait(grace_s)
    except subprocess.TimeoutExpired:
        root.kill()
        root.wait()
    kill_descendants()


def kill_descendants() -> None:
    """SIGKILL every descendant of this process, and reap them (`root`, reaped by its Popen,
    is no longer among them)."""
    left = psutil.Process().children(recursive=True)
    for process in left:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(left, timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tumble.watchdog")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_S, metavar="S")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("a command to run is required")
    set_child_subreaper()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    # SIGTERM, so that COMMAND gets its chance to stop cleanly should the watchdog be killed.
    child = subprocess.Popen(command, preexec_fn=dying_with_this_process(signal.SIGTERM))
    while not stop.wait(0.2):
        if child.poll() is not None:
            break
    if child.poll() is None:
        end_tree(child, args.grace)
    kill_descendants()
    code = child.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
