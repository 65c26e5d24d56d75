"""The embedded backend's CPU per request: `tumble bench embedded_cpu`.

Starts `python -m gateway_adapter.embedded` as a child process (as `tumble local` runs it),
sends the hot calls of the stack (DynamoDB Query, GetItem, PutItem; Kinesis PutRecords, and
GetRecords of 100 records, the stream trigger's poll) with a
real boto3 client, and reads the server's CPU time (user + system, from psutil) around each
loop: CPU per request, and the client's wall time per request. Each loop runs back to back and
again with a pause between calls (the server's caches and the CPU's clock cool down then, as
they do under a game's real traffic). `--without NAME` leaves one of the server's patches off
(gateway_adapter/embedded/patches/): what each one gains is a run with it against one without."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import psutil

from benchmarks import results
from benchmarks.common import ROOT
from gateway_adapter.embedded.backend import free_port, wait_for_http

if TYPE_CHECKING:
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

__all__ = ["main", "measure"]


def _calls(endpoint: str) -> dict[str, Callable[[], Any]]:
    session = boto3.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    kinesis = session.client("kinesis", endpoint_url=endpoint)
    dynamodb.create_table(
        TableName="cpu",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    item = {"pk": {"S": "one"}, "kind": {"S": "button"}, "n": {"N": "1"}}
    dynamodb.put_item(TableName="cpu", Item=item)
    kinesis.create_stream(StreamName="cpu", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="cpu")
    batch: list[PutRecordsRequestEntryTypeDef] = [
        {"Data": b'{"button": "A", "n": %d}' % n, "PartitionKey": f"p{n}"} for n in range(100)
    ]
    kinesis.put_records(StreamName="cpu", Records=batch)
    shard = kinesis.list_shards(StreamName="cpu")["Shards"][0]["ShardId"]
    oldest = kinesis.get_shard_iterator(
        StreamName="cpu", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[PutRecordsRequestEntryTypeDef] = [
        {"Data": b'{"button": "A"}', "PartitionKey": "p1"}
    ]
    return {
        "Query": lambda: dynamodb.query(
            TableName="cpu",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "one"}},
        ),
        "GetItem": lambda: dynamodb.get_item(TableName="cpu", Key={"pk": {"S": "one"}}),
        "PutItem": lambda: dynamodb.put_item(TableName="cpu", Item=item),
        "PutRecords": lambda: kinesis.put_records(StreamName="cpu", Records=records),
        # the first 100 records each time (an iterator names a position; reading moves nothing)
        "GetRecords": lambda: kinesis.get_records(ShardIterator=oldest, Limit=100),
    }


def measure(
    server: psutil.Process, call: Callable[[], Any], count: int, pause_s: float
) -> tuple[float, float]:
    """(server CPU ms, client wall ms) per call, over `count` calls after a short warm-up."""
    for _ in range(20):
        call()
    cpu_before = sum(server.cpu_times()[:2])
    wall = 0.0
    for _ in range(count):
        if pause_s:
            time.sleep(pause_s)
        start = time.perf_counter()
        call()
        wall += time.perf_counter() - start
    cpu = sum(server.cpu_times()[:2]) - cpu_before
    return cpu / count * 1000, wall / count * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tumble bench embedded_cpu", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 and 20 calls per loop")
    parser.add_argument("--count", type=int, default=2000, help="calls per back-to-back loop")
    parser.add_argument("--paused-count", type=int, default=200, help="calls per paused loop")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds between paused calls")
    parser.add_argument("--calls", default="Query,GetItem,PutItem,PutRecords,GetRecords")
    parser.add_argument("--plain-moto", action="store_true")
    parser.add_argument(
        "--without", action="append", default=[], help="a patch to leave off (embedded's names)"
    )
    parser.add_argument(
        "--root",
        default=str(ROOT),
        help="the checkout to serve from (another commit's, to compare)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.paused_count = 200, 20
    port = free_port()
    command = [sys.executable, "-m", "gateway_adapter.embedded", "--port", str(port)]
    process = subprocess.Popen(
        command
        + (["--plain-moto"] if args.plain_moto else [])
        + [flag for name in args.without for flag in ("--without", name)],
        cwd=args.root,
        stdout=subprocess.DEVNULL,
    )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_for_http(f"{endpoint}/moto-api/", 30)
        server = psutil.Process(process.pid)
        calls = _calls(endpoint)
        print(f"{'call':<11} {'loop':<14} {'server CPU ms':>13} {'client ms':>10}")
        figures: dict[str, dict[str, float]] = {}
        for name in args.calls.split(","):
            for label, count, pause in (
                ("back to back", args.count, 0.0),
                (f"{args.pause * 1000:.0f} ms pauses", args.paused_count, args.pause),
            ):
                cpu, wall = measure(server, calls[name], count, pause)
                print(f"{name:<11} {label:<14} {cpu:>13.3f} {wall:>10.3f}", flush=True)
                figures[f"{name}, {label}"] = {"server_cpu_ms": cpu, "client_wall_ms": wall}
    finally:
        process.terminate()
        process.wait(10)
    results.record(
        "embedded_cpu",
        parameters={key: value for key, value in vars(args).items() if key != "root"},
        figures=figures,  # what it prints, `tumble bench` saves (benchmarks.cli)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
