"""The @connections API (POST and DELETE) over processor.transport, signed with processor.sigv4.

botocore's per-call pipeline (endpoint resolution, validation, serialization, signing, the user
agent, parsing) costs about 1.1 ms of CPU per PostToConnection, which caps one fan-out process
below 1,000 posts/s. This path keeps what matters of it: credentials from the injected
session's chain (refreshable ones refreshed before they expire), SigV4 as botocore signs, the
same URLs (processor.endpoints) and the answer's HTTP status and `x-amzn-ErrorType`, which
processor.fanout.classify reads the same way for both clients."""

from __future__ import annotations

import time
from collections import OrderedDict

import aiohttp

from .fanout import Answer
from .sigv4 import SignedTarget, SigV4Signer, amz_date, target
from .transport import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_READ_TIMEOUT_S,
    LazyHttp,
    SessionCredentials,
)

__all__ = ["SignedConnectionsApi"]

_TARGETS_MAX = 4096  # canonical pieces kept per connection (a warm container's subscribers)
_SKIP_HEADERS = ("Content-Type", "Accept-Encoding")  # botocore sends neither on a post


class SignedConnectionsApi:
    """One aiohttp session with a bounded pool of kept-alive connections per endpoint host;
    built on first use, on the loop that uses it."""

    def __init__(
        self,
        credentials: SessionCredentials,
        signer: SigV4Signer,
        pool_size: int,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    ) -> None:
        self._credentials = credentials
        self._signer = signer
        self._http = LazyHttp(pool_size, _SKIP_HEADERS, connect_timeout_s, read_timeout_s)
        self._stamp = (0, "")  # X-Amz-Date of the current second: formatted once per second
        self._targets: OrderedDict[tuple[str, str], SignedTarget] = OrderedDict()

    def _target(self, endpoint: str, connection_id: str) -> SignedTarget:
        key = (endpoint, connection_id)
        found = self._targets.get(key)
        if found is None:
            found = self._targets[key] = target(endpoint, connection_id)
            if len(self._targets) > _TARGETS_MAX:
                self._targets.popitem(last=False)
        return found

    def _amz_date(self) -> str:
        second = int(time.time())
        if second != self._stamp[0]:
            self._stamp = (second, amz_date(second))
        return self._stamp[1]

    async def _send(self, method: str, endpoint: str, connection_id: str, body: bytes) -> Answer:
        where = self._target(endpoint, connection_id)
        credentials = await self._credentials.frozen()
        headers = self._signer.headers(method, where, body, credentials, self._amz_date())
        try:
            request = self._http.session().request(method, where.url, data=body, headers=headers)
            async with request as reply:
                await reply.read()
                return Answer(reply.status, _error_code(reply.headers.get("x-amzn-ErrorType")))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Answer(None, type(exc).__name__)

    async def post(self, endpoint: str, connection_id: str, data: bytes) -> Answer:
        return await self._send("POST", endpoint, connection_id, data)

    async def delete(self, endpoint: str, connection_id: str) -> Answer:
        return await self._send("DELETE", endpoint, connection_id, b"")

    async def close(self) -> None:
        await self._http.close()


def _error_code(header: str | None) -> str | None:
    """`x-amzn-ErrorType` may carry a namespace after a colon (botocore's rest-json parser
    keeps what precedes it)."""
    return header.split(":", 1)[0] or None if header else None
