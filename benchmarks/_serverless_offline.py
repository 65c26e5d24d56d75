"""serverless-offline as the gateway benchmark's peer: the pinned serverless 3 and
serverless-offline 13 of `benchmarks/serverless-offline/` (installed by `make bench`), serving
the same service (routes and handlers, in Node) on free loopback ports, with no credentials and
nothing but PATH from this environment."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from gateway_adapter.embedded.backend import free_port

__all__ = ["FOLDER", "HOLD_CONCURRENCY", "start", "stop", "unavailable_reason"]

FOLDER = Path(__file__).resolve().parent / "serverless-offline"
SERVERLESS_JS = FOLDER / "node_modules" / "serverless" / "bin" / "serverless.js"
READY_LINE = "Offline [websocket] listening on"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
# serverless-offline runs each invocation in a worker thread and starts a new one for each
# concurrent invocation: connections are opened at this concurrency, not the holder's 200.
HOLD_CONCURRENCY = 8


def unavailable_reason(folder: Path = FOLDER) -> str | None:
    """Why the serverless-offline row cannot be measured here, or None when it can."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (folder / "node_modules" / "serverless" / "bin" / "serverless.js").exists():
        return f"not installed: run `make bench` (npm ci in {folder.name}/)"
    if not (folder / "node_modules" / "serverless-offline").is_dir():
        return f"serverless-offline missing in {folder.name}/node_modules"
    return None


def start(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The server and its WebSocket URL, once it listens. Its chatter (a line per invocation)
    goes to `log`, so no pipe fills up under load."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not on PATH")
    websocket_port, http_port, lambda_port = free_port(), free_port(), free_port()
    home = tempfile.mkdtemp(prefix="sls-home-")
    env = {
        "PATH": str(Path(node).parent),
        "HOME": home,
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
        "MANAGEMENT_ENDPOINT": f"http://127.0.0.1:{websocket_port}",
    }
    argv = [
        node,
        str(SERVERLESS_JS),
        "offline",
        "start",
        "--host",
        "127.0.0.1",
        "--websocketPort",
        str(websocket_port),
        "--httpPort",
        str(http_port),
        "--lambdaPort",
        str(lambda_port),
        "--stage",
        "bench",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            argv, cwd=FOLDER, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while READY_LINE not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"serverless-offline did not start:\n{tail}")
        time.sleep(0.2)
    return process, f"ws://127.0.0.1:{websocket_port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT is the signal `serverless offline` shuts down on; SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
