"""The HTTP layer of the embedded backend's request handler, leaner per request, same bytes.

`LeanRequestHandler` is moto's request handler with three costs of http.server and werkzeug
taken out, for what ordinary AWS SDK requests look like; anything else takes the standard path.

- Headers: http.server hands ~10 header lines to the email package's FeedParser (a fifth of
  the server's CPU per DynamoDB Query). `parse_headers` reads them with the same limits and
  builds the same `http.client.HTTPMessage` itself when every line is a plain `Name: value`
  (printable ASCII, CRLF) and no Content-Type asks the email parser for MIME structure; any
  other block (obsolete line folding, a bare LF, non-ASCII, a "From " line...) goes to the
  email parser as before. Over-long lines and too many headers fail with the same 431s.
- Logging: werkzeug formats a line per request (path decoding, a timestamp) that its logger
  then drops when INFO is off (the embedded backend sets WARNING); skipped in that case only.
- The response of a kept request (`serve_kept`): werkzeug's `run_wsgi` without its drain (a
  new epoll selector per request and a wait of up to 10 ms for bytes that, on a kept
  connection, are the next request), reading instead exactly the rest of the request's
  body, and with the status line and headers sent in the same write as the body."""

from __future__ import annotations

import http.client
import logging
import re
from collections.abc import Callable, Iterable
from email.parser import Parser
from http import HTTPStatus
from io import BufferedIOBase
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug import _internal as werkzeug_internal
from werkzeug.exceptions import InternalServerError
from werkzeug.serving import connection_dropped_errors

__all__ = ["MAX_HEADERS", "MAX_LINE", "LeanRequestHandler", "parse_headers"]

# http.client's limits on a header block (its _MAXLINE and _MAXHEADERS), which http.server
# enforces with a 431; pinned by
# tests/gateway_adapter/embedded/patches/test_dependency_internals.py.
MAX_LINE = 65536
MAX_HEADERS = 100

# A header line FeedParser reads as exactly `name: value`: a name of its header characters
# (printable ASCII but ":"), a value of printable ASCII and tabs, CRLF and nothing else.
_PLAIN_LINE = re.compile(rb"([!-9;-~]+):([\t -~]*)\r\n")
_END = (b"\r\n", b"\n", b"")


def _read_lines(rfile: BufferedIOBase) -> list[bytes]:
    """The header block's lines as http.client reads them, with its errors."""
    lines = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise http.client.LineTooLong("header line")
        lines.append(line)
        if len(lines) > MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {MAX_HEADERS} headers")
        if line in _END:
            return lines


def parse_headers(
    rfile: BufferedIOBase, message_class: type[http.client.HTTPMessage]
) -> http.client.HTTPMessage:
    """What `http.client.parse_headers(rfile, _class=message_class)` returns."""
    lines = _read_lines(rfile)
    message = message_class()
    if lines[-1] == b"\r\n":
        for line in lines[:-1]:
            plain = _PLAIN_LINE.fullmatch(line)
            if plain is None:
                break
            name, value = plain.group(1).decode("ascii"), plain.group(2).decode("ascii")
            value = value.lstrip(" \t")  # compat32's header_source_parse
            kind = value.lower()
            if name.lower() == "content-type" and ("multipart" in kind or "message" in kind):
                break  # the email parser would read MIME parts out of the (empty) body
            message.set_raw(name, value)
        else:
            message.set_payload("")
            return message
    text = b"".join(lines).decode("iso-8859-1")
    parsed: http.client.HTTPMessage = Parser(_class=message_class).parsestr(text)
    return parsed


class LeanRequestHandler(MotoRequestHandler):
    """moto's handler; parse_request and log_request as http.server's and werkzeug's."""

    _headers_buffer: list[bytes]  # http.server's, where send_header puts the response head

    def parse_request(self) -> bool:
        """http.server's, with `parse_headers` for an ordinary request line; any other line
        (HTTP/0.9, a bad version, a path starting with //...) takes http.server's own."""
        requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.1", "HTTP/1.0") or words[1].startswith("//"):
            return super().parse_request()
        self.command, self.path, self.request_version = words
        self.requestline = requestline
        self.close_connection = not (words[2] == "HTTP/1.1" and self.protocol_version >= "HTTP/1.1")
        try:
            self.headers = parse_headers(self.rfile, self.MessageClass)
        except http.client.LineTooLong as error:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long", str(error))
            return False
        except http.client.HTTPException as error:
            self.send_error(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers", str(error)
            )
            return False
        conntype = self.headers.get("Connection", "").lower()
        if conntype == "close":
            self.close_connection = True
        elif conntype == "keep-alive" and self.protocol_version >= "HTTP/1.1":
            self.close_connection = False
        expect = self.headers.get("Expect", "")
        if (
            expect.lower() == "100-continue"
            and self.protocol_version >= "HTTP/1.1"
            and self.request_version >= "HTTP/1.1"
        ):
            return bool(self.handle_expect_100())
        return True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger = werkzeug_internal._logger
        if logger is not None and not logger.isEnabledFor(logging.INFO):
            return  # werkzeug's logger is set up, and would drop the line
        super().log_request(code, size)

    def serve_kept(self, body: Any) -> None:
        """werkzeug's run_wsgi for a request whose body (`body`, a stream that ends where the
        request's body ends) is followed on the connection by the next request: the same
        status line, headers and body bytes, no drain, one write per chunk of the body."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        status_set: str | None = None
        headers_set: list[tuple[str, str]] | None = None
        status_sent: str | None = None
        headers_sent: list[tuple[str, str]] | None = None
        chunk_response = False

        def write(data: bytes) -> None:
            nonlocal status_sent, headers_sent, chunk_response
            assert status_set is not None, "write() before start_response"
            assert headers_set is not None, "write() before start_response"
            head = b""
            if status_sent is None:
                status_sent = status_set
                headers_sent = headers_set
                try:
                    code_str, msg = status_sent.split(None, 1)
                except ValueError:
                    code_str, msg = status_sent, ""
                code = int(code_str)
                self.send_response(code, msg)
                header_keys = set()
                for key, value in headers_set:
                    self.send_header(key, value)
                    header_keys.add(key.lower())
                if (
                    not (
                        "content-length" in header_keys
                        or environ["REQUEST_METHOD"] == "HEAD"
                        or (100 <= code < 200)
                        or code in {204, 304}
                    )
                    and self.protocol_version >= "HTTP/1.1"
                ):
                    chunk_response = True
                    self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")  # dropped by a kept handler
                head = b"".join([*self._headers_buffer, b"\r\n"])
                self._headers_buffer = []
            assert isinstance(data, bytes), "applications must write bytes"
            if data and chunk_response:
                data = b"%x\r\n%s\r\n" % (len(data), data)
            if head or data:
                self.wfile.write(head + data)
            self.wfile.flush()

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            nonlocal status_set, headers_set
            if exc_info:
                try:
                    if headers_sent:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif headers_set:
                raise AssertionError("Headers already set")
            status_set = status
            headers_set = headers
            return write

        def execute(app: Callable[..., Iterable[bytes]]) -> None:
            application_iter = app(environ, start_response)
            try:
                for data in application_iter:
                    write(data)
                if not headers_sent:
                    write(b"")
                if chunk_response:
                    self.wfile.write(b"0\r\n\r\n")
            finally:
                while body.read(1 << 20):
                    pass  # the rest of this body (unread by the app), never the next request
                close = getattr(application_iter, "close", None)
                if close is not None:
                    close()

        try:
            execute(self.server.app)
        except connection_dropped_errors as error:
            self.connection_dropped(error, environ)
        except Exception as error:
            if self.server.passthrough_errors:
                raise
            if status_sent is not None and chunk_response:
                self.close_connection = True
            try:
                if status_sent is None:
                    status_set = None
                    headers_set = None
                execute(InternalServerError())
            except Exception:  # noqa: S110 (werkzeug's own: the client may be gone)
                pass
            from werkzeug.debug.tbtools import DebugTraceback

            message = DebugTraceback(error).render_traceback_text()
            self.server.log("error", f"Error on request:\n{message}")
