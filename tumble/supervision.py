"""Child processes that cannot outlive `tumble local`, and ports checked before they are taken.

- Every child gets a parent-death signal (Linux `prctl(PR_SET_PDEATHSIG)`, set in the child
  between fork and exec): when `tumble local` dies by any means, SIGKILL included, the kernel
  signals its children, so no orphan keeps a port or a stale backend.
- Before anything starts, each port it is about to bind is tried; one in use is an error that
  names the port, the part and, when the kernel lets us see it, the process holding it. A
  backend or gateway that was not started here is never adopted by accident."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "PortInUse",
    "check_ports_free",
    "dying_with_this_process",
    "port_holder",
    "set_child_subreaper",
    "spawn",
]

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


class PortInUse(OSError):
    """A port `tumble local` needs is taken; the message says by whom when that is known."""


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


_LIBC = _libc()  # loaded in the parent: the child must not load libraries between fork and exec


def _die_with(parent_pid: int, death_signal: int) -> Callable[[], None]:
    """Run in the child before exec: ask for `death_signal` when the parent dies, and check that
    it has not died already (the signal only covers deaths after the prctl)."""

    def arm() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), death_signal)

    return arm


def set_child_subreaper() -> None:
    """Make this process the parent of every orphan of its descendants (Linux only; elsewhere
    orphans go to init as before), so that it can find and end a whole tree."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def dying_with_this_process(death_signal: int = signal.SIGKILL) -> Callable[[], None]:
    """A `preexec_fn` for children started some other way than `spawn` (a pipe to read, say)
    that must not outlive this process either."""
    return _die_with(os.getpid(), death_signal)


def spawn(
    argv: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    death_signal: int = signal.SIGKILL,
    append: bool = False,
) -> subprocess.Popen[bytes]:
    """`argv` in a session of its own (the terminal's Ctrl-C reaches only the supervisor, which
    stops children in order), logging to `log`, and dying with this process."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab" if append else "wb") as out:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            start_new_session=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=dying_with_this_process(death_signal),
        )


def port_holder(port: int) -> str | None:
    """`pid N (command line)` of the process listening on `port`, if the kernel shows it to us
    (other users' processes stay anonymous without privileges)."""
    import psutil

    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, OSError):
        return None
    for connection in connections:
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr
            and connection.laddr.port == port
            and connection.pid
        ):
            try:
                command = " ".join(psutil.Process(connection.pid).cmdline())
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                command = "?"
            return f"pid {connection.pid} ({command})"
    return None


def check_ports_free(host: str, ports: Mapping[str, int]) -> None:
    """`ports` maps each option (`aws` for --aws-port) to its port. Bind each as its server
    would (SO_REUSEADDR, as aiohttp and werkzeug do, so a closed socket in TIME_WAIT does not
    count); PortInUse on the first that is taken."""
    for option, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    raise
                holder = port_holder(port)
                by = f" by {holder}" if holder else " (its process is not visible to this user)"
                raise PortInUse(
                    f"port {port} (--{option}-port) is already in use{by}; stop that "
                    f"process, or move this stack with --{option}-port"
                ) from None
