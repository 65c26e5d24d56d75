"""Warm state shared by the handlers: one private event loop in a daemon thread, and the
aiobotocore clients that live on it.

Lambda calls handlers synchronously, and a local runtime may call them from several threads
at once; submitting coroutines to one long-lived loop keeps aiobotocore's connection pools
(bound to their loop) alive across warm invocations."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["ClientPool", "LoopThread"]

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str = "processor-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Runs `coro` on the loop and waits for it from the calling thread; on timeout the
        coroutine is cancelled so it cannot outlive the invocation that started it."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise


class ClientPool:
    """aiobotocore clients of one service by endpoint, opened on first use and kept open.

    Used only from coroutines on the LoopThread, so the dict needs no lock; a lock per
    endpoint keeps two first posts from opening two clients."""

    def __init__(self, session: Any, service: str, config: Any = None) -> None:
        self._session = session
        self._service = service
        self._config = config
        self._clients: dict[str, Any] = {}
        self._opening: dict[str, asyncio.Lock] = {}
        self._stack = contextlib.AsyncExitStack()

    async def get(self, endpoint: str) -> Any:
        client = self._clients.get(endpoint)
        if client is not None:
            return client
        lock = self._opening.setdefault(endpoint, asyncio.Lock())
        async with lock:
            client = self._clients.get(endpoint)
            if client is None:
                context = self._session.create_client(
                    self._service, endpoint_url=endpoint, config=self._config
                )
                client = await self._stack.enter_async_context(context)
                _build_user_agent_once(client)
                self._clients[endpoint] = client
        return client

    async def close(self) -> None:
        self._clients.clear()
        await self._stack.aclose()


def _build_user_agent_once(client: Any) -> None:
    """botocore rebuilds the User-Agent header on every request, about a sixth of a post's CPU
    in the fan-out's profile; this client's features never change, so it is built once.
    Guarded: a botocore without these internals keeps its default behaviour."""
    creator = getattr(client, "_user_agent_creator", None)
    rebuild = getattr(creator, "rebuild_and_replace_user_agent_handler", None)
    if creator is None or rebuild is None or not hasattr(creator, "to_string"):
        return
    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.unregister(f"request-created.{service_id}", rebuild)
    agent = creator.to_string()
    creator.to_string = lambda: agent
