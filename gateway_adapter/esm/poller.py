"""The I/O shell of the event source mapping: it keeps this runner's share of the shard leases of
every enabled stream trigger and runs one ShardWorker per leased shard.

Every lease-scan interval it renews its leases and its worker heartbeat, lists each stream's
shards (so shards born from resharding are found), and takes free or expired leases up to its
fair share, a child shard only once its parents are read to SHARD_END. A runner holding more
than its share lets one shard finish its in-flight batch and hands that lease back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from contextlib import AsyncExitStack
from typing import Any

import aiobotocore.session

from serverless_model.service import Service, StreamTrigger

from .decisions import ITERATOR_LIFETIME_S
from .destinations import Destinations
from .events import raw_kinesis_parsing, role_arn
from .leases import (
    AT_TIMESTAMP,
    LATEST,
    SHARD_END,
    TRIM_HORIZON,
    Lease,
    LeaseLost,
    LeaseTable,
    fair_share,
    lease_key,
)
from .shard import Invoke, Mapping, ShardWorker

__all__ = ["DEFAULT_LEASE_DURATION_S", "EventSourceMappings", "Invoke"]

log = logging.getLogger(__name__)

# KCL's default failover time: a lease not renewed for 10 s may be taken by another worker.
DEFAULT_LEASE_DURATION_S = 10.0
# stop() waits for in-flight batches this much longer than the longest function timeout (the
# runtime ends an invocation at its timeout), then cancels them.
STOP_GRACE_S = 1.0


class EventSourceMappings:
    """Every enabled stream trigger of a service, polled as Lambda polls Kinesis."""

    def __init__(
        self,
        service: Service,
        invoke: Invoke,
        *,
        poll_interval: float = 1.0,
        session: aiobotocore.session.AioSession | None = None,
        owner_id: str | None = None,
        lease_table: str | None = None,
        lease_duration_s: float = DEFAULT_LEASE_DURATION_S,
        stop_timeout_s: float | None = None,
        iterator_lifetime_s: float = ITERATOR_LIFETIME_S,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError("poll_interval must be positive")
        if lease_duration_s <= 0:
            raise ValueError("lease_duration_s must be positive")
        self.service = service
        self.invoke = invoke
        self.poll_interval = poll_interval
        self.session = session or aiobotocore.session.get_session()
        # Kinesis gets a session of its own whose parser leaves data base64 (see
        # raw_kinesis_parsing); an injected session is used as it is.
        self._kinesis_session = session or aiobotocore.session.get_session()
        if session is None:
            raw_kinesis_parsing(self._kinesis_session)
        self.owner_id = owner_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_table = lease_table or f"{service.name}-{service.stage}-esm-leases"
        self.lease_duration_s = lease_duration_s
        timeouts = [f.timeout_s for f in service.functions.values()] or [0.0]
        self.stop_timeout_s = (
            stop_timeout_s if stop_timeout_s is not None else max(timeouts) + STOP_GRACE_S
        )
        self.iterator_lifetime_s = iterator_lifetime_s
        identity = role_arn(service.account_id, service.name, service.stage, service.region)
        self.mappings = [
            Mapping(
                trigger=trigger,
                function_arn=(
                    f"arn:aws:lambda:{service.region}:{service.account_id}:function:"
                    f"{service.name}-{service.stage}-{trigger.function}"
                ),
                region=service.region,
                identity_arn=identity,
            )
            for trigger in service.triggers
            if trigger.enabled
        ]
        self.workers: dict[str, ShardWorker] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._mapping_of: dict[str, Mapping] = {}
        self._endings: dict[str, str] = {}
        self._stack = AsyncExitStack()
        self._leases: LeaseTable | None = None
        self._kinesis: Any = None
        self._destinations: Destinations | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._handing_back: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Creates the lease table if missing and starts a loop per shard this runner leases."""
        if not self.mappings:
            return
        region = self.service.region
        clients = {
            name: await self._stack.enter_async_context(
                (self._kinesis_session if name == "kinesis" else self.session).create_client(
                    name,
                    region_name=region,
                )
            )
            for name in ("kinesis", "dynamodb", "sqs", "sns")
        }
        self._kinesis = clients["kinesis"]
        self._destinations = Destinations(clients["sqs"], clients["sns"])
        self._leases = LeaseTable(
            clients["dynamodb"], self.lease_table, self.owner_id, self.lease_duration_s
        )
        await self._leases.ensure_table()
        await self._round()
        self._loop_task = asyncio.create_task(self._coordinate(), name="esm-coordinator")

    async def stop(self) -> None:
        """Lets each in-flight batch finish (bounded by stop_timeout_s) and releases leases."""
        self._stopping = True
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        for worker in self.workers.values():
            worker.stop()
        tasks = [*self._tasks.values(), *self._background]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self.stop_timeout_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._leases is not None:
            for worker in list(self.workers.values()):
                if not worker.lost and worker.lease.owner == self.owner_id:
                    with contextlib.suppress(LeaseLost):
                        await self._leases.release(worker.lease)
            with contextlib.suppress(Exception):
                await self._leases.retire()
        self.workers.clear()
        self._tasks.clear()
        await self._stack.aclose()

    # -- coordination -----------------------------------------------------------------------

    async def _coordinate(self) -> None:
        interval = self.lease_duration_s / 3
        while not self._stopping:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event source mapping coordination failed; retrying")

    async def _round(self) -> None:
        assert self._leases is not None
        await self._leases.heartbeat()
        await self._renew()
        for mapping in self.mappings:
            await self._sync_shards(mapping)
        await self._balance()

    async def _renew(self) -> None:
        assert self._leases is not None
        for key, worker in list(self.workers.items()):
            if self._tasks[key].done():
                continue
            try:
                await self._leases.renew(worker.lease)
            except LeaseLost:
                worker.lost = True
                worker.stop()
                log.warning("lease %s lost to another runner", key)

    async def _list_shards(self, trigger: StreamTrigger) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": trigger.stream_name}
        while True:
            page = await self._kinesis.list_shards(**kwargs)
            shards.extend(page.get("Shards", []))
            if not page.get("NextToken"):
                return shards
            kwargs = {"NextToken": page["NextToken"]}

    async def _sync_shards(self, mapping: Mapping) -> None:
        """Creates a lease row for every shard not yet known. A child of a tracked parent starts
        at its TRIM_HORIZON (it holds what followed the parent); other shards start at the
        trigger's starting position, and a shard already closed when a LATEST mapping first
        sees it has nothing to deliver."""
        assert self._leases is not None
        trigger = mapping.trigger
        known, _ = await self._leases.scan()
        tracked = set(known)
        for shard in await self._list_shards(trigger):
            shard_id = shard["ShardId"]
            key = lease_key(trigger.function, trigger.stream_arn, shard_id)
            self._mapping_of[key] = mapping
            ending = shard.get("SequenceNumberRange", {}).get("EndingSequenceNumber")
            if ending is not None:
                self._endings[key] = ending
                if key in self.workers:
                    self.workers[key].ending_sequence = ending
            if key in known:
                continue
            parents = tuple(
                p for p in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")) if p
            )
            parent_keys = [lease_key(trigger.function, trigger.stream_arn, p) for p in parents]
            timestamp: float | None = None
            if any(p in tracked for p in parent_keys):
                checkpoint = TRIM_HORIZON
            elif trigger.starting_position == "LATEST":
                checkpoint, timestamp = (
                    (SHARD_END, None) if ending is not None else (LATEST, time.time())
                )
            elif trigger.starting_position == "AT_TIMESTAMP":
                checkpoint, timestamp = AT_TIMESTAMP, trigger.starting_position_timestamp
            else:
                checkpoint = TRIM_HORIZON
            await self._leases.create(key, shard_id, checkpoint, parents, timestamp)
            if checkpoint != SHARD_END:
                tracked.add(key)

    async def _balance(self) -> None:
        """Takes this runner's fair share of the unfinished leases; hands one back if it holds
        more than its share while other runners are alive."""
        assert self._leases is not None
        leases, workers = await self._leases.scan()
        now = time.time()
        live = {owner for owner, expiry in workers.items() if expiry >= now} | {self.owner_id}
        for key in [k for k, task in self._tasks.items() if task.done()]:
            self._tasks.pop(key)
            self.workers.pop(key, None)
        ours = {k: lease for k, lease in leases.items() if k in self._mapping_of}
        unfinished = {k: lease for k, lease in ours.items() if lease.checkpoint != SHARD_END}
        target = fair_share(len(unfinished), len(live))
        for key, lease in sorted(unfinished.items(), key=lambda kv: kv[1].shard_id):
            if len(self.workers) >= target or self._stopping:
                break
            if key in self.workers or not lease.available(self.owner_id, now):
                continue
            if not self._parents_done(key, lease, ours):
                continue
            try:
                await self._leases.take(lease)
            except LeaseLost:
                continue
            self._start_worker(key, lease)
        if len(self.workers) > target and len(live) > 1 and not self._handing_back:
            key = max(self.workers, key=lambda k: self.workers[k].lease.shard_id)
            self._handing_back.add(key)
            self._background.add(asyncio.create_task(self._hand_back(key)))

    def _parents_done(self, key: str, lease: Lease, ours: dict[str, Lease]) -> bool:
        trigger = self._mapping_of[key].trigger
        for parent in lease.parents:
            parent_lease = ours.get(lease_key(trigger.function, trigger.stream_arn, parent))
            if parent_lease is not None and parent_lease.checkpoint != SHARD_END:
                return False
        return True

    def _start_worker(self, key: str, lease: Lease) -> None:
        assert self._leases is not None and self._destinations is not None
        worker = ShardWorker(
            self._mapping_of[key],
            lease,
            kinesis=self._kinesis,
            leases=self._leases,
            destinations=self._destinations,
            invoke=self.invoke,
            poll_interval=self.poll_interval,
            iterator_lifetime_s=self.iterator_lifetime_s,
        )
        worker.ending_sequence = self._endings.get(key)
        self.workers[key] = worker
        self._tasks[key] = asyncio.create_task(self._run_worker(key, worker), name=key)

    async def _run_worker(self, key: str, worker: ShardWorker) -> None:
        assert self._leases is not None
        try:
            await worker.run()
        except Exception:
            log.exception("shard worker %s failed", key)
        if worker.finished and not self._stopping:
            with contextlib.suppress(LeaseLost):
                await self._leases.release(worker.lease)
            self._wake.set()  # its children may start now

    async def _hand_back(self, key: str) -> None:
        assert self._leases is not None
        worker = self.workers.get(key)
        task = self._tasks.get(key)
        if worker is None or task is None:
            return
        worker.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({task}, timeout=self.stop_timeout_s)
        if not worker.lost and not self._stopping:
            with contextlib.suppress(LeaseLost):
                await self._leases.release(worker.lease)
        self.workers.pop(key, None)
        self._tasks.pop(key, None)
        self._handing_back.discard(key)
        self._background.discard(asyncio.current_task())
