"""Shard leases as the Kinesis Client Library keeps them: one DynamoDB row per shard holding the
checkpoint, the owner, a counter bumped on every ownership change or renewal, and an expiry.

Every write is conditional on the owner and counter the runner last saw, so two runners never
hold one shard at once: a runner whose lease was taken over (after it expired) fails its next
renew or checkpoint and stops that shard. Worker rows (`worker/<owner>`) are heartbeats, so each
runner knows how many share the stream and takes its fair share of the leases."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

__all__ = [
    "AT_TIMESTAMP",
    "LATEST",
    "SHARD_END",
    "TRIM_HORIZON",
    "Lease",
    "LeaseLost",
    "LeaseTable",
    "fair_share",
    "lease_key",
]

# KCL's sentinel checkpoints (ExtendedSequenceNumber): where a shard starts before its first
# commit, and the mark of a shard read to its end.
TRIM_HORIZON = "TRIM_HORIZON"
LATEST = "LATEST"
AT_TIMESTAMP = "AT_TIMESTAMP"
SHARD_END = "SHARD_END"
WORKER_PREFIX = "worker/"


class LeaseLost(Exception):
    """The lease row no longer names this runner with the counter it holds."""


@dataclass(slots=True)
class Lease:
    """One lease row as last read or written by this runner."""

    key: str
    shard_id: str
    checkpoint: str
    counter: int = 0
    owner: str | None = None
    expiry: float = 0.0
    parents: tuple[str, ...] = ()
    starting_timestamp: float | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False, compare=False)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Lease:
        return cls(
            key=item["leaseKey"]["S"],
            shard_id=item["shardId"]["S"],
            checkpoint=item["checkpoint"]["S"],
            counter=int(item["leaseCounter"]["N"]),
            owner=item["leaseOwner"]["S"] if "leaseOwner" in item else None,
            expiry=float(item.get("leaseExpiry", {"N": "0"})["N"]),
            parents=tuple(p["S"] for p in item.get("parentShardIds", {"L": []})["L"]),
            starting_timestamp=(
                float(item["startingTimestamp"]["N"]) if "startingTimestamp" in item else None
            ),
        )

    def available(self, owner: str, now: float) -> bool:
        return self.owner is None or self.owner == owner or self.expiry < now


def fair_share(leases: int, workers: int) -> int:
    """KCL's target: each live worker holds at most ceil(leases / workers)."""
    return math.ceil(leases / max(1, workers))


def lease_key(function: str, stream_arn: str, shard_id: str) -> str:
    """KCL keys a lease by shard; one table serves every trigger here, so the mapping prefixes."""
    return f"{function}|{stream_arn}|{shard_id}"


class LeaseTable:
    """The lease rows of one runner, in a DynamoDB table reached through an injected client."""

    def __init__(self, dynamodb: Any, table: str, owner: str, duration_s: float) -> None:
        self.dynamodb = dynamodb
        self.table = table
        self.owner = owner
        self.duration_s = duration_s

    async def ensure_table(self) -> None:
        try:
            await self.dynamodb.create_table(
                TableName=self.table,
                AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
        waiter = self.dynamodb.get_waiter("table_exists")
        await waiter.wait(TableName=self.table, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})

    async def create(
        self,
        key: str,
        shard_id: str,
        checkpoint: str,
        parents: tuple[str, ...] = (),
        starting_timestamp: float | None = None,
    ) -> None:
        """Adds the row unless it exists (another runner, or an earlier run, made it first)."""
        item: dict[str, Any] = {
            "leaseKey": {"S": key},
            "shardId": {"S": shard_id},
            "checkpoint": {"S": checkpoint},
            "leaseCounter": {"N": "0"},
            "leaseExpiry": {"N": "0"},
            "parentShardIds": {"L": [{"S": p} for p in parents]},
        }
        if starting_timestamp is not None:
            item["startingTimestamp"] = {"N": repr(starting_timestamp)}
        try:
            await self.dynamodb.put_item(
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(leaseKey)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    async def scan(self) -> tuple[dict[str, Lease], dict[str, float]]:
        """(leases by key, live-worker expiries by owner)."""
        leases: dict[str, Lease] = {}
        workers: dict[str, float] = {}
        kwargs: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = await self.dynamodb.scan(**kwargs)
            for item in page.get("Items", []):
                key = item["leaseKey"]["S"]
                if key.startswith(WORKER_PREFIX):
                    workers[key[len(WORKER_PREFIX) :]] = float(item["leaseExpiry"]["N"])
                else:
                    leases[key] = Lease.from_item(item)
            if "LastEvaluatedKey" not in page:
                return leases, workers
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    async def heartbeat(self) -> None:
        await self.dynamodb.put_item(
            TableName=self.table,
            Item={
                "leaseKey": {"S": WORKER_PREFIX + self.owner},
                "leaseExpiry": {"N": repr(time.time() + self.duration_s)},
            },
        )

    async def retire(self) -> None:
        await self.dynamodb.delete_item(
            TableName=self.table, Key={"leaseKey": {"S": WORKER_PREFIX + self.owner}}
        )

    async def _update(self, lease: Lease, expression: str, condition: str, **values: Any) -> None:
        names = {"#owner": "leaseOwner", "#counter": "leaseCounter"}
        try:
            await self.dynamodb.update_item(
                TableName=self.table,
                Key={"leaseKey": {"S": lease.key}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    name: attr for name, attr in names.items() if name in expression + condition
                },
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise LeaseLost(lease.key) from None
            raise

    async def take(self, lease: Lease) -> None:
        """Takes a free, expired or own lease, conditional on the counter last seen (so of two
        runners racing for it, exactly one wins). Raises LeaseLost for the loser."""
        async with lease.lock:
            expiry = time.time() + self.duration_s
            await self._update(
                lease,
                "SET #owner = :me, #counter = :next, leaseExpiry = :expiry",
                "#counter = :seen AND (attribute_not_exists(#owner) OR #owner = :me "
                "OR leaseExpiry < :now)",
                **{
                    ":me": {"S": self.owner},
                    ":next": {"N": str(lease.counter + 1)},
                    ":expiry": {"N": repr(expiry)},
                    ":seen": {"N": str(lease.counter)},
                    ":now": {"N": repr(time.time())},
                },
            )
            lease.owner, lease.counter, lease.expiry = self.owner, lease.counter + 1, expiry

    async def renew(self, lease: Lease) -> None:
        async with lease.lock:
            expiry = time.time() + self.duration_s
            await self._update(
                lease,
                "SET #counter = :next, leaseExpiry = :expiry",
                "#owner = :me AND #counter = :mine",
                **{
                    ":me": {"S": self.owner},
                    ":mine": {"N": str(lease.counter)},
                    ":next": {"N": str(lease.counter + 1)},
                    ":expiry": {"N": repr(expiry)},
                },
            )
            lease.counter, lease.expiry = lease.counter + 1, expiry

    async def checkpoint(self, lease: Lease, checkpoint: str) -> None:
        async with lease.lock:
            await self._update(
                lease,
                "SET checkpoint = :checkpoint",
                "#owner = :me AND #counter = :mine",
                **{
                    ":me": {"S": self.owner},
                    ":mine": {"N": str(lease.counter)},
                    ":checkpoint": {"S": checkpoint},
                },
            )
            lease.checkpoint = checkpoint

    async def release(self, lease: Lease) -> None:
        """Hands the lease back at once (a clean stop or rebalancing), instead of letting the
        next owner wait for it to expire."""
        async with lease.lock:
            await self._update(
                lease,
                "REMOVE #owner SET #counter = :next, leaseExpiry = :zero",
                "#owner = :me AND #counter = :mine",
                **{
                    ":me": {"S": self.owner},
                    ":mine": {"N": str(lease.counter)},
                    ":next": {"N": str(lease.counter + 1)},
                    ":zero": {"N": "0"},
                },
            )
            lease.owner, lease.counter, lease.expiry = None, lease.counter + 1, 0.0
