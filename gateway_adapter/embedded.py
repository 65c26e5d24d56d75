"""The embedded AWS backend: moto's server on loopback, no Docker and no account needed.

`python -m gateway_adapter.embedded --port 4566` runs it as its own process, so the gateway's
event loop never competes with moto for the GIL."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from types import TracebackType

from moto.server import ThreadedMotoServer

__all__ = ["EmbeddedAws", "free_port", "wait_for_http"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_http(url: str, timeout_s: float = 10.0) -> None:
    """Until `url` answers anything at all over HTTP; raises TimeoutError after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=0.5).close()
            return
        except urllib.error.HTTPError:
            return  # it answered, with an error status: it is up
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout_s} s") from None
            time.sleep(0.05)


class EmbeddedAws:
    """moto's ThreadedMotoServer bound to loopback; a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        fast_get_records: bool = False,
        fast_dynamodb: bool = False,
        fast_dispatch: bool = False,
    ) -> None:
        if fast_get_records:
            # moto's generic serializer makes GetRecords the stream trigger's bottleneck; the
            # speed-up answers identically (tests/gateway_adapter/esm/test_moto_speedups.py).
            from .esm import moto_speedups

            moto_speedups.install()
        if fast_dynamodb:
            # moto copies whole tables per transaction action and scans them per index Query;
            # the speed-ups answer identically (tests/gateway_adapter/test_dynamodb_speedups.py).
            from . import dynamodb_speedups

            dynamodb_speedups.install()
        if fast_dispatch:
            # Two lookups moto's server repeats per request, cached (same answers,
            # tests/gateway_adapter/test_moto_server_speedups.py).
            from . import moto_server_speedups

            moto_server_speedups.install()
        self.host = host
        self.port = port or free_port(host)
        self._server = ThreadedMotoServer(ip_address=host, port=self.port, verbose=False)
        # werkzeug logs every request at INFO; the embedded backend should be quiet.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmbeddedAws:
        self._server.start()
        wait_for_http(f"{self.endpoint_url}/moto-api/")
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> EmbeddedAws:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gateway_adapter.embedded", description="moto's AWS server on loopback"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument(
        "--plain-moto",
        action="store_true",
        help="moto as it is: none of the GetRecords, DynamoDB and dispatch speed-ups",
    )
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fast = not args.plain_moto
    with EmbeddedAws(
        args.host, args.port, fast_get_records=fast, fast_dynamodb=fast, fast_dispatch=fast
    ) as aws:
        print(f"embedded AWS ready at {aws.endpoint_url}", flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
