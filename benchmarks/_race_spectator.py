"""The race's spectator in a process of its own, as spectators are (a browser, the watcher):
the driver's own threads (the shipper, the Kinesis puts) never hold its interpreter lock when
a frame arrives. Each frame is timestamped here, on the machine's one wall clock, and reported
to the driver as a line of JSON on stdout: `[event_id, source, received_ms]`.

    python -m benchmarks._race_spectator WS_URL   (the URL carries the viewer's token)"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import websocket

from messages import Subscription, decode_spectator_frame
from messages.envelopes import subscribe_envelope
from tumble.supervision import dying_with_this_process

__all__ = ["SpectatorProcess", "main"]

READY = "subscribed"


def main(url: str) -> int:
    socket = websocket.create_connection(url, timeout=10)
    socket.send(subscribe_envelope([Subscription.from_dict({"event_type": "NESClick"})]))
    answer = decode_spectator_frame(socket.recv())
    if answer.get("status") != READY:
        print(json.dumps(answer), flush=True)
        return 1
    print(READY, flush=True)
    socket.settimeout(None)
    while True:
        try:
            frame = socket.recv()
        except (websocket.WebSocketException, OSError):
            return 0
        if not frame:
            return 0
        received = time.time() * 1000
        decoded = decode_spectator_frame(frame)
        print(json.dumps([decoded["event_id"], decoded["source"], received]), flush=True)


class SpectatorProcess:
    """The driver's side: arrivals by (event id, source), as the spectator reports them."""

    def __init__(self, url: str) -> None:
        self.arrivals: dict[tuple[str, str], float] = {}
        self.changed = threading.Condition()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._race_spectator", url],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=dying_with_this_process(),
        )
        assert self._process.stdout is not None
        first = self._process.stdout.readline().strip()
        if first != READY:
            self.close()
            raise RuntimeError(f"subscription refused: {first or 'the spectator exited'}")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            event_id, source, received = json.loads(line)
            with self.changed:
                self.arrivals[(event_id, source)] = received
                self.changed.notify_all()

    def wait_for(self, wanted: set[tuple[str, str]], timeout_s: float) -> None:
        """Until every frame in `wanted` arrived (the players' frames arrive too)."""
        with self.changed:
            self.changed.wait_for(lambda: wanted <= self.arrivals.keys(), timeout_s)

    def close(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
