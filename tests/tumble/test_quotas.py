"""The stadium against AWS's quotas (tumble.quotas): pure, with the cost tests' prices."""

from __future__ import annotations

import pytest

from tumble.cost import Load, Price
from tumble.cost_cli import main, quota_choices
from tumble.quotas import ACCOUNT_THROTTLE_RPS, render_quotas, stadium_choices

from .test_cost import MEASURED, PRICES, TOPOLOGY

ALL_PRICES = {
    **PRICES,
    "appsync_event_operation": Price(1.0, 1_000_000, "operations", "https://example.test/a"),
    "appsync_connection_minute": Price(0.08, 1_000_000, "minutes", "https://example.test/b"),
}
LATENCY = {"websocket": 5.0, "kinesis": 500.0}


def choices(spectators: int) -> dict[str, object]:
    load = Load(4, 10.0, spectators)
    return {c.name: c for c in stadium_choices(load, TOPOLOGY, MEASURED, ALL_PRICES, LATENCY)}


def test_batched_posts_are_one_per_spectator_per_batch_and_unbatched_one_per_event() -> None:
    for spectators in (10_000, 100_000):
        found = choices(spectators)
        unbatched = found["Kinesis path, one frame per event"]
        batched = found["Kinesis path, batched"]
        assert unbatched.posts_per_s == spectators * 40  # type: ignore[attr-defined]
        # 40 records/s fit one shard, polled about once a second: one batch a second
        assert batched.posts_per_s == spectators  # type: ignore[attr-defined]
        assert batched.shards == 1  # type: ignore[attr-defined]
        messages = batched.lines["API Gateway messages out"]  # type: ignore[attr-defined]
        assert messages == pytest.approx(spectators * 3600 / 1e6)


def test_the_first_quota_to_break_is_the_account_throttle_even_batched_at_100k() -> None:
    batched = choices(100_000)["Kinesis path, batched"]
    broken = batched.first_broken()  # type: ignore[attr-defined]
    assert broken is not None and broken.name.startswith("API Gateway account throttle")
    assert broken.ratio == pytest.approx(100_000 / ACCOUNT_THROTTLE_RPS) and broken.adjustable
    # 10,000 batched is exactly at the throttle: no headroom, so it counts as broken
    assert choices(10_000)["Kinesis path, batched"].first_broken() is not None  # type: ignore[attr-defined]
    assert choices(1_000)["Kinesis path, batched"].first_broken() is None  # type: ignore[attr-defined]


def test_appsync_prices_operations_and_connection_minutes() -> None:
    appsync = choices(10_000)["AppSync Events, per press"]
    operations = (40 + 10_000 * 40) * 3600 / 1e6
    assert appsync.lines["AppSync Event API operations"] == pytest.approx(operations)  # type: ignore[attr-defined]
    assert appsync.lines["AppSync connection minutes"] == pytest.approx(10_000 * 60 * 0.08 / 1e6)  # type: ignore[attr-defined]
    assert appsync.first_broken() is None  # type: ignore[attr-defined]
    assert choices(100_000)["AppSync Events, per press"].first_broken() is not None  # type: ignore[attr-defined]


def test_the_table_and_the_cli_name_every_choice(capsys: pytest.CaptureFixture[str]) -> None:
    table = render_quotas(quota_choices(4, 10.0))
    assert "| 100,000 | Kinesis path, batched | 100,000 | 10.0x" in table
    assert "AppSync Events" in table and "10 times the default" in table
    assert main(["--spectators", "10", "--quotas"]) == 0
    assert "first quota to break" in capsys.readouterr().out
