"""The I/O shell of the event source mapping: one poll loop per shard per enabled trigger."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiobotocore.session

from ..service import Service

__all__ = ["EventSourceMappings", "Invoke"]

Invoke = Callable[[str, dict[str, Any]], Awaitable[Any]]


class EventSourceMappings:
    """Every enabled stream trigger of a service, polled as Lambda would (skeleton)."""

    def __init__(
        self,
        service: Service,
        invoke: Invoke,
        *,
        poll_interval: float = 1.0,
        session: aiobotocore.session.AioSession | None = None,
        owner_id: str | None = None,
        lease_table: str | None = None,
    ) -> None:
        self.service = service
        self.invoke = invoke
        self.poll_interval = poll_interval
        self.session = session or aiobotocore.session.get_session()
        self.owner_id = owner_id
        self.lease_table = lease_table

    async def start(self) -> None:
        """Creates the lease table if missing and starts a loop per shard (not yet built)."""

    async def stop(self) -> None:
        """Lets the in-flight batch finish (bounded) and releases the leases."""
