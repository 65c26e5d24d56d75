"""The embedded AWS backend: moto's server on loopback, no Docker and no account needed.

`python -m gateway_adapter.embedded --port 4566` (__main__) runs it as its own process, so the
gateway's event loop never competes with moto for the GIL. Its speed-ups are patches of moto's
internals (gateway_adapter/embedded/patches/), each installed only where its premises hold: one
that fails stays off, plain moto answers instead, and one warning line on stderr says which and
why."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from types import TracebackType

from moto.server import ThreadedMotoServer

from .patches.premises import Patch, PatchUnsafe, apply, version_of

__all__ = ["PATCHES", "EmbeddedAws", "free_port", "install_patches", "wait_for_http"]

log = logging.getLogger("gateway_adapter.embedded")

# The speed-ups, by the name --without takes: the module of each one's Patch (imported only
# when it is wanted, since importing moto's internals is a premise too).
PATCHES = {
    "get_records": "moto_kinesis",
    "dynamodb": "moto_dynamodb_premises",
    "dispatch": "moto_server",
}
# Patches that make moto right, not faster: always installed, and a failed premise stops
# start-up (PatchUnsafe) since plain moto would be wrong.
REQUIRED_PATCHES = {"sqs_lock": "moto_sqs"}


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


def install_patches(names: list[str]) -> list[str]:
    """Installs the named speed-ups whose premises hold; the warning line of each that does not."""
    warnings = []
    for name in names:
        try:
            module = importlib.import_module(f"{__package__}.patches.{PATCHES[name]}")
        except ImportError as error:  # a renamed module or symbol of moto
            line = f"warning: moto {version_of('moto')}: the {name} patch is off ({error}); "
            warnings.append(line + "plain moto answers instead, slower")
            continue
        patch: Patch = module.PATCH
        warning = apply(patch)
        if warning is not None:
            warnings.append(warning)
    return warnings


def install_required_patches() -> None:
    """The correctness patches (REQUIRED_PATCHES), or PatchUnsafe naming what failed."""
    for module_name in REQUIRED_PATCHES.values():
        try:
            module = importlib.import_module(f"{__package__}.patches.{module_name}")
        except ImportError as error:
            raise PatchUnsafe(
                f"moto {version_of('moto')}: {module_name} cannot be installed ({error})"
            ) from error
        patch: Patch = module.PATCH
        if module.installed():
            continue
        warning = apply(patch)
        if warning is not None:
            raise PatchUnsafe(warning.replace("warning: ", "", 1) + "; the embedded backend stops")


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
        wanted = [
            name
            for name, on in (
                ("get_records", fast_get_records),
                ("dynamodb", fast_dynamodb),
                ("dispatch", fast_dispatch),
            )
            if on
        ]
        install_required_patches()
        self.warnings = install_patches(wanted)
        for line in self.warnings:
            log.warning(line)
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
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=sorted(PATCHES),
        help="leave this speed-up off (repeatable): to measure what each one gains",
    )
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    fast = not args.plain_moto
    on = {name: fast and name not in args.without for name in PATCHES}
    with EmbeddedAws(
        args.host,
        args.port,
        fast_get_records=on["get_records"],
        fast_dynamodb=on["dynamodb"],
        fast_dispatch=on["dispatch"],
    ) as aws:
        print(f"embedded AWS ready at {aws.endpoint_url}", flush=True)
        stop.wait()
