"""`tumble bench subscribe`: subscription traffic against the embedded backend.

100 viewers with 20 subscriptions each re-subscribe, round after round (each
round a different list, so every subscribe puts, replaces and deletes items); the backend's
resident memory is sampled after each round and must stay flat, and a subscribe (the store's
GetItem, Query and one TransactWriteItems of up to 21 actions) should take under 50 ms. A
subscriber lookup among those 2,000 items is timed too.

The baseline in the same run is plain moto (`--plain-moto`: no DynamoDB speed-ups) at a tenth
of the viewers, since at full size it grows by gigabytes (moto 5.2.5 deep-copies the table for
every action of a transaction); it stops early if its memory passes PLAIN_RSS_CAP_MB."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import psutil

from benchmarks.common import ROOT, embedded_backend
from messages import COLORS, MAX_SUBSCRIPTIONS, Subscription
from processor.store import Connection, ConnectionStore
from serverless_model.bootstrap import bootstrap_resources
from serverless_model.config import Options
from serverless_model.service import load_service

__all__ = ["main"]

REGION = "us-east-1"
TARGET_MS = 50.0
MAX_GROWTH = 0.10
PLAIN_RSS_CAP_MB = 1500.0
SUBSCRIBERS_IN_FLIGHT = 4


@dataclass
class Run:
    label: str
    viewers: int
    rss_mb: list[float] = field(default_factory=list)  # after set-up, then after each round
    subscribe_ms: list[float] = field(default_factory=list)
    lookup_ms: list[float] = field(default_factory=list)
    stopped: str = ""


def _subscriptions(viewer: int, round_number: int) -> list[Subscription]:
    """Up to 20 distinct subscriptions, a different list each round (other filters, another
    length), so each subscribe replaces items and deletes some; three in four are NESClick,
    the type the lookup reads."""
    count = MAX_SUBSCRIPTIONS - (viewer + round_number) % 3
    color = COLORS[(viewer + round_number) % len(COLORS)]
    return [
        Subscription.from_dict(
            {"event_type": "DashClick", "filter_field": "click_type", "filter_expr": f"*{n}"}
            if n % 4 == 3
            else {
                "event_type": "NESClick",
                "filter_field": "color",
                "filter_expr": f"{color}{n}",
                "desired_fields": ["color", "button"],
            }
        )
        for n in range(count)
    ]


def _rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / 2**20


@contextmanager
def _store(plain_moto: bool) -> Iterator[tuple[ConnectionStore, int]]:
    with embedded_backend(plain_moto=plain_moto) as endpoint:
        backend_pid = psutil.Process().children()[-1].pid
        session: Any = boto3.Session(
            aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
        )

        def client(name: str) -> Any:
            return session.client(name, endpoint_url=endpoint)

        account = client("sts").get_caller_identity()["Account"]
        service = load_service(
            ROOT / "serverless.yml", Options(stage="bench", region=REGION, account_id=account)
        )
        bootstrap_resources(service, client)
        table = next(
            r["Properties"]["TableName"]
            for r in service.resources.values()
            if r.get("Type") == "AWS::DynamoDB::Table"
        )
        yield ConnectionStore(client("dynamodb"), table), backend_pid


def _run(label: str, viewers: int, rounds: int, plain_moto: bool, in_flight: int) -> Run:
    run = Run(label, viewers)
    with _store(plain_moto) as (store, pid):
        ids = [f"viewer-{n:03d}=" for n in range(viewers)]
        for cid in ids:
            store.put_connection(Connection(cid, "127.0.0.1:1", "bench", "viewer", cid, 0))

        def subscribe(job: tuple[str, int, int]) -> float:
            cid, viewer, round_number = job
            started = time.perf_counter()
            store.replace_subscriptions(cid, _subscriptions(viewer, round_number))
            return (time.perf_counter() - started) * 1000

        with ThreadPoolExecutor(in_flight) as pool:
            for round_number in range(rounds):
                jobs = [(cid, n, round_number) for n, cid in enumerate(ids)]
                run.subscribe_ms.extend(pool.map(subscribe, jobs))
                run.rss_mb.append(_rss_mb(pid))
                if run.rss_mb[-1] > PLAIN_RSS_CAP_MB:
                    run.stopped = f"stopped after round {round_number + 1}: over the cap"
                    break
        for _ in range(20):
            started = time.perf_counter()
            store.subscribers("NESClick")
            run.lookup_ms.append((time.perf_counter() - started) * 1000)
    return run


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _report(run: Run) -> bool:
    first, last = run.rss_mb[0], run.rss_mb[-1]
    growth = (last - first) / first
    print(
        f"{run.label}: {run.viewers} viewers x {MAX_SUBSCRIPTIONS} subscriptions, "
        f"{len(run.rss_mb)} rounds{' (' + run.stopped + ')' if run.stopped else ''}\n"
        f"  subscribe p50 {statistics.median(run.subscribe_ms):.1f} ms, "
        f"p99 {_percentile(run.subscribe_ms, 0.99):.1f} ms (target < {TARGET_MS:.0f} ms)\n"
        f"  backend RSS after round 1 {first:.0f} MB, after the last {last:.0f} MB "
        f"({growth:+.1%}; flat: within {MAX_GROWTH:.0%})\n"
        f"  subscriber lookup (NESClick) p50 {statistics.median(run.lookup_ms):.1f} ms",
        flush=True,
    )
    return growth <= MAX_GROWTH and statistics.median(run.subscribe_ms) < TARGET_MS


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tumble bench subscribe", description=__doc__)
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    plain_viewers = max(1, args.viewers // 10)
    _report(_run("baseline: plain moto", plain_viewers, rounds, True, 1))
    ok = _report(_run("embedded backend, one subscribe at a time", args.viewers, rounds, False, 1))
    # Reported, not judged: one backend process serves all four, so they queue for its GIL.
    _report(
        _run(
            f"embedded backend, {SUBSCRIBERS_IN_FLIGHT} subscribes in flight",
            args.viewers,
            rounds,
            False,
            SUBSCRIBERS_IN_FLIGHT,
        )
    )
    return 0 if ok else 1
