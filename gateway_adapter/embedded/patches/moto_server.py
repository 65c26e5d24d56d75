"""Per-request work moto's server repeats for nothing, for the embedded backend: cached
lookups, and connections kept open between requests.

Profiled on a one-item DynamoDB Query (2.9 ms in-process): a fifth of it was
`moto.backends.list_of_moto_modules`, which lists and stats moto's package directory on every
request to tell a service name from a host, and a tenth `method_names_from_class`, which runs
`inspect.getmembers` over the response class on every request to find the action's method.
Neither answer can change while the server runs (moto's modules are on disk; the response
classes are fixed: the speed-ups replace methods, never add or remove one), so both are
computed once.

Connections: werkzeug's development server answers every request with `Connection: close`, so
every AWS call paid a new TCP connection and a new server thread (in the gateway's profile
under the race's load, a third of a subscriber lookup was `connect`). werkzeug closes because
after each response it drains whatever the socket still holds, which would swallow the next
request of a kept connection. `KeepAliveHandler` keeps HTTP/1.1 connections whose request
body has a Content-Length: for the length of the request it reads through a stream that ends
where the body ends, and after the response it reads the rest of that body (what the app left
unread), never the next request (moto_server_http.py: its header parsing and response writing
are leaner too). Chunked and HTTP/1.0 requests close as before, through werkzeug's own
run_wsgi; an idle connection closes after IDLE_CONNECTION_S.

moto's Flask apps run in debug mode, where Flask builds a class per request around the empty
`files` of the request: `_BackendRequest` skips that (see its docstring).

Measured with `python -m benchmarks.embedded_cpu` (server CPU per call, user + system, against
`python -m gateway_adapter.embedded`; 2 cores, shared; before = the commit before the lean
HTTP layer, both with the keep-alive and caches above):
ms of server CPU per call (mean of 2 runs)   back to back     50 ms between calls
                                            before   after   before   after
DynamoDB Query                               0.98    0.82     2.10    1.95
DynamoDB GetItem                             0.90    0.77     1.92    1.70
DynamoDB PutItem                             0.92    0.76     2.02    1.82
Kinesis PutRecords                           0.98    0.93     2.37    1.98
Run to run noise on that machine is about 0.1 ms. Left for later: moto's own dispatch
(`setup_class`, `amz_crc32`, the serializers), werkzeug's and moto's `make_environ`, Flask's
request context and flask_cors's after-request hook (which adds a header clients see).

Same answers, by construction and checked in
tests/gateway_adapter/embedded/patches/test_moto_server.py.

Private symbols touched: `moto.moto_server.threaded_moto_server.MotoRequestHandler` and
`create_backend_app`, `moto.backends.list_of_moto_modules`,
`moto.core.responses.method_names_from_class` (replaced), `BackendRequest._load_form_data`
(overridden), and what moto_server_http.py names. Checked against moto 5.2.5 and 5.2.6 with
Werkzeug 3.1 and Flask 3.1. Premises: those names and the handler methods the lean layer
overrides exist, and the caches and the header parser answer what moto and http.client answer.
Measured gain of the whole patch, moto 5.2.6, 2 shared and loaded cores, on against off in
one sitting (`python -m benchmarks.embedded_cpu --quick [--without dispatch]`, server CPU per
call back to back): Query 1.8 against 3.6 ms, GetItem 1.1 against 3.15, PutItem 2.05 against
3.0, PutRecords 1.85 against 3.4 (-32% to -65%); the lean HTTP layer's own share is the
table above."""

from __future__ import annotations

import functools
import http.client
import io
import socket
from collections.abc import Iterable
from typing import Any

from flask import Flask
from moto import backends
from moto.core import responses
from moto.kinesis.responses import KinesisResponse
from moto.moto_server import threaded_moto_server
from moto.moto_server.werkzeug_app import BackendRequest, MotoRequestHandler
from werkzeug import _internal as werkzeug_internal
from werkzeug.wrappers import Request as WerkzeugRequest

from .moto_server_http import MAX_HEADERS, MAX_LINE, LeanRequestHandler, parse_headers
from .premises import Patch, require

__all__ = ["IDLE_CONNECTION_S", "PATCH", "KeepAliveHandler", "install", "installed", "uninstall"]

# How long a kept connection may sit idle before the server closes it (and ends its thread).
IDLE_CONNECTION_S = 60.0

_ORIGINAL_MODULES = backends.list_of_moto_modules
_ORIGINAL_METHOD_NAMES = responses.method_names_from_class
_ORIGINAL_HANDLER = threaded_moto_server.MotoRequestHandler
_ORIGINAL_CREATE_APP = threaded_moto_server.create_backend_app


class _Body(io.RawIOBase):
    """The request's body and not a byte more: reads past it give b"" (the end)."""

    def __init__(self, raw: Any, length: int) -> None:
        self._raw = raw
        self._left = length

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._take(self._raw.read, size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._take(self._raw.readline, size)

    def _take(self, reader: Any, size: int | None) -> bytes:
        if self._left <= 0:
            return b""
        wanted = self._left if size is None or size < 0 else min(size, self._left)
        data: bytes = reader(wanted)
        self._left -= len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _body_length(headers: Any) -> int | None:
    """The Content-Length of a request that may keep its connection, else None."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        return None
    length = headers.get("Content-Length")
    if length is None:
        return 0
    try:
        value = int(length)
    except ValueError:
        return None
    return value if value >= 0 else None


class KeepAliveHandler(LeanRequestHandler):
    timeout = IDLE_CONNECTION_S
    _keep = False

    def setup(self) -> None:
        super().setup()
        # werkzeug writes a response's headers and body separately: on a kept connection,
        # Nagle's algorithm would hold the body for the client's delayed ACK (40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def run_wsgi(self) -> None:
        length = _body_length(self.headers)
        self._keep = (
            length is not None
            and self.request_version == "HTTP/1.1"
            and not self.close_connection  # the client did not ask to close
        )
        if not self._keep or length is None:
            super().run_wsgi()
            return
        raw = self.rfile
        self.rfile = body = _Body(raw, length)  # type: ignore[assignment]
        try:
            self.serve_kept(body)
        finally:
            self.rfile = raw

    def send_header(self, keyword: str, value: str) -> None:
        if self._keep and keyword.lower() == "connection" and value.lower() == "close":
            return  # http.server would also set close_connection: the connection stays
        super().send_header(keyword, value)


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_ORIGINAL_MODULES())


def _list_of_moto_modules() -> Iterable[str]:
    return _moto_modules()


@functools.cache
def _method_names(clazz: type) -> frozenset[str]:
    # call_action only asks `action in method_names`: a frozenset answers that the same way.
    return frozenset(_ORIGINAL_METHOD_NAMES(clazz))


def _method_names_from_class(clazz: object) -> frozenset[str]:
    return _method_names(clazz if isinstance(clazz, type) else type(clazz))


class _BackendRequest(BackendRequest):
    """moto's request class, without the class Flask builds per request in debug mode.

    moto's apps run with debug on, so Flask's `_load_form_data` replaces every request's empty
    `files` with an instance of a new class whose missing keys raise a friendlier error (a
    twentieth of the server's CPU per DynamoDB Query). moto only reads `files` when it is not
    empty, so the error can never be raised: werkzeug's form loading alone gives the same."""

    def _load_form_data(self) -> None:
        WerkzeugRequest._load_form_data(self)


def _create_backend_app(service: Any) -> Flask:
    app = _ORIGINAL_CREATE_APP(service)
    app.request_class = _BackendRequest
    return app


def install() -> None:
    threaded_moto_server.MotoRequestHandler = KeepAliveHandler  # type: ignore[misc]
    threaded_moto_server.create_backend_app = _create_backend_app
    backends.list_of_moto_modules = _list_of_moto_modules
    responses.method_names_from_class = _method_names_from_class  # type: ignore[assignment]


def installed() -> bool:
    return (
        threaded_moto_server.MotoRequestHandler is KeepAliveHandler
        and threaded_moto_server.create_backend_app is _create_backend_app
        and backends.list_of_moto_modules is _list_of_moto_modules
        and responses.method_names_from_class is _method_names_from_class  # type: ignore[comparison-overlap]
    )


def uninstall() -> None:
    threaded_moto_server.MotoRequestHandler = _ORIGINAL_HANDLER  # type: ignore[misc]
    threaded_moto_server.create_backend_app = _ORIGINAL_CREATE_APP
    backends.list_of_moto_modules = _ORIGINAL_MODULES
    responses.method_names_from_class = _ORIGINAL_METHOD_NAMES


_HANDLER_METHODS = ("run_wsgi", "make_environ", "connection_dropped", "handle_expect_100")
# An ordinary SDK request's header block, for the parser's comparison with http.client's.
_HEADERS = (
    b"Host: 127.0.0.1:4566\r\nAccept-Encoding: identity\r\nX-Amz-Target: DynamoDB_20120810.Query"
    b"\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n"
)


def check() -> None:
    for name in ("MotoRequestHandler", "create_backend_app"):
        require(hasattr(threaded_moto_server, name), f"threaded_moto_server.{name}")
    require(callable(getattr(backends, "list_of_moto_modules", None)), "list_of_moto_modules")
    require(callable(getattr(responses, "method_names_from_class", None)), "method_names")
    for name in _HANDLER_METHODS:
        require(callable(getattr(MotoRequestHandler, name, None)), f"MotoRequestHandler.{name}")
    require(callable(getattr(BackendRequest, "_load_form_data", None)), "BackendRequest form")
    require(callable(getattr(WerkzeugRequest, "_load_form_data", None)), "werkzeug's form")
    require(hasattr(werkzeug_internal, "_logger"), "werkzeug._internal._logger")
    limits = (getattr(http.client, "_MAXLINE", None), getattr(http.client, "_MAXHEADERS", None))
    require(limits == (MAX_LINE, MAX_HEADERS), f"http.client's header limits are {limits}")


def compare() -> None:
    require(list(_list_of_moto_modules()) == list(_ORIGINAL_MODULES()), "moto's module list")
    names = set(_ORIGINAL_METHOD_NAMES(KinesisResponse))
    require(set(_method_names_from_class(KinesisResponse)) == names, "moto's method names")
    lean = parse_headers(io.BytesIO(_HEADERS), http.client.HTTPMessage)
    plain = http.client.parse_headers(io.BytesIO(_HEADERS))
    require(lean.items() == plain.items(), f"headers parsed as {lean.items()}, not {plain.items()}")


PATCH = Patch(
    name="moto server HTTP",
    package="moto",
    slower="every AWS call opens a new connection and thread, and moto's server repeats its "
    "module and method lookups per request",
    check=check,
    install=install,
    uninstall=uninstall,
    compare=compare,
)
