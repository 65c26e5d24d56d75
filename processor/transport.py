"""The processor's one AWS transport: the credentials of the injected session, the SigV4
signers, and the aiohttp sessions every lean client sends through (the @connections posts and
deletes, DynamoDB's lookup, removals and progress rows, SQS's slices), all on the processor's
loop. One per process (processor.wiring builds it), so the credential chain is resolved once
and one close ends every connection pool.

botocore's per-call pipeline costs about 1.1 ms of CPU per call; what matters of it is kept:
credentials from the session's chain (refreshable ones refreshed before they expire), SigV4
as botocore signs (processor.sigv4, on sigv4_core), and bytes never decompressed (what is
signed or checksummed is the bytes)."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from .sigv4 import SIGNING_SERVICE, Credentials, SigV4Signer

if TYPE_CHECKING:
    from .connections_api import SignedConnectionsApi
    from .json_api import JsonProtocol, SignedJsonApi

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "DEFAULT_READ_TIMEOUT_S",
    "AwsTransport",
    "LazyHttp",
    "SessionCredentials",
]

DEFAULT_CONNECT_TIMEOUT_S = 3.0
DEFAULT_READ_TIMEOUT_S = 10.0


class SessionCredentials:
    """Credentials of an injected botocore or aiobotocore session, resolved once by the
    session's chain; each call gives a frozen copy, refreshed by botocore's own rules when
    they are refreshable (STS, container and instance roles)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._credentials: Any = None
        self._lock = asyncio.Lock()

    async def _resolve(self) -> Any:
        async with self._lock:
            if self._credentials is None:
                found = self._session.get_credentials()
                self._credentials = await found if inspect.isawaitable(found) else found
                if self._credentials is None:
                    raise RuntimeError("no AWS credentials found to sign @connections requests")
        return self._credentials

    async def frozen(self) -> Credentials:
        credentials = self._credentials or await self._resolve()
        frozen = credentials.get_frozen_credentials()
        if inspect.isawaitable(frozen):
            frozen = await frozen
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


class LazyHttp:
    """An aiohttp session of kept-alive connections, at most `pool_size`, built on first use on
    the loop that uses it (and again if it was closed): the lean clients' transport. It never
    decompresses (what is signed or checksummed is the bytes) and sends none of `skip_headers`."""

    def __init__(
        self,
        pool_size: int,
        skip_headers: tuple[str, ...],
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    ) -> None:
        self._pool_size = pool_size
        self._skip_headers = skip_headers
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=connect_timeout_s, sock_read=read_timeout_s
        )
        self._http: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0),
                timeout=self._timeout,
                skip_auto_headers=self._skip_headers,
                auto_decompress=False,
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


class _Closable(Protocol):
    async def close(self) -> None: ...


class AwsTransport:
    """What the lean clients share: one SessionCredentials, one signer per region and service,
    and every client built here, closed together (processor.connections_api and
    processor.json_api, imported when first built: they build on this module)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.credentials = SessionCredentials(session)
        self._signers: dict[tuple[str, str], SigV4Signer] = {}
        self._clients: list[_Closable] = []

    def signer(self, region: str, service: str = SIGNING_SERVICE) -> SigV4Signer:
        found = self._signers.get((region, service))
        if found is None:
            found = self._signers[(region, service)] = SigV4Signer(region, service)
        return found

    def connections(self, pool_size: int) -> SignedConnectionsApi:
        """The @connections client, signed in the session's region."""
        from .connections_api import SignedConnectionsApi

        region = str(self.session.get_config_variable("region") or "")
        client = SignedConnectionsApi(self.credentials, self.signer(region), pool_size)
        self._clients.append(client)
        return client

    def json_api(self, meta: Any, protocol: JsonProtocol) -> SignedJsonApi:
        """A JSON-protocol client for the endpoint and region a boto3 client resolved (its
        `meta`: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the region chain)."""
        from .json_api import SignedJsonApi

        signer = self.signer(meta.region_name or "", protocol.signing_service)
        client = SignedJsonApi(meta.endpoint_url, self.credentials, signer, protocol=protocol)
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            await client.close()
