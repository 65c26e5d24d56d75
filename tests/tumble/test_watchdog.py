"""tumble.watchdog over a command whose child escapes into a session of its own, as
kinesis-mock does under LocalStack."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil

ESCAPER = "setsid sleep 300 & echo $! > {pidfile}; {then}"


def watchdog(tmp_path, then: str) -> tuple[subprocess.Popen[bytes], psutil.Process]:
    pidfile = tmp_path / "grandchild.pid"
    command = ["sh", "-c", ESCAPER.format(pidfile=pidfile, then=then)]
    process = subprocess.Popen(
        [sys.executable, "-m", "tumble.watchdog", "--grace", "1", "--", *command]
    )
    deadline = time.monotonic() + 20
    while not (pidfile.exists() and pidfile.read_text().strip()):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    grandchild = psutil.Process(int(pidfile.read_text()))
    assert grandchild.pid != psutil.Process(process.pid).pid
    return process, grandchild


def test_sigterm_takes_down_the_escaped_grandchild(tmp_path):
    process, grandchild = watchdog(tmp_path, "exec sleep 300")
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 128 + signal.SIGTERM
    assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE


def test_what_the_command_leaves_behind_dies_and_its_code_is_kept(tmp_path):
    process, grandchild = watchdog(tmp_path, "exit 3")
    assert process.wait(timeout=15) == 3
    gone, _ = psutil.wait_procs([grandchild], timeout=10)
    assert gone
