"""The cost model (pure) and `tumble cost` around it."""

from __future__ import annotations

import json

import pytest
import yaml

from tumble.cost import (
    Load,
    Measured,
    Price,
    Topology,
    crossover_presses_per_s,
    estimate,
    kinesis_lanes,
    read_units_per_lookup,
)
from tumble.cost_cli import SERVERLESS_YML, load_prices, main, measured_from, topology_from

PRICES = {
    name: Price(price, per, unit, f"https://example.test/{name}")
    for name, price, per, unit in [
        ("apigateway_websocket_message", 1.0, 1_000_000, "messages"),
        ("apigateway_websocket_connection_minute", 0.25, 1_000_000, "connection minutes"),
        ("lambda_request", 0.2, 1_000_000, "requests"),
        ("lambda_gb_second", 0.0000166667, 1, "GB-seconds"),
        ("kinesis_shard_hour", 0.015, 1, "shard hours"),
        ("kinesis_put_payload_unit", 0.014, 1_000_000, "PUT payload units"),
        ("dynamodb_read_request_unit", 0.125, 1_000_000, "read request units"),
        ("dynamodb_write_request_unit", 0.625, 1_000_000, "write request units"),
    ]
}
TOPOLOGY = Topology(256, 1024, 2, 1000, submit_bytes=200, record_bytes=180, frame_bytes=220)
MEASURED = Measured(10.0, 1.0, 128.0, 0.0, "test")


def line(priced, path, item_start):
    (found,) = [x for x in priced.lines if x.path == path and x.item.startswith(item_start)]
    return found


def test_every_line_follows_the_load():
    priced = estimate(Load(2, 5.0, 3, hours=100), TOPOLOGY, MEASURED, PRICES, "us-east-1")
    events_h = 10 * 3600
    out = line(priced, "websocket", "messages out")
    assert out.quantity_per_hour == events_h * 3  # one frame per spectator per press
    assert out.per_hour == pytest.approx(events_h * 3 / 1e6)
    assert out.per_month == pytest.approx(out.per_hour * 100)  # hours of play
    assert line(priced, "websocket", "messages in").quantity_per_hour == events_h
    assert line(priced, "websocket", "connection minutes").quantity_per_hour == (2 + 3) * 60
    assert line(priced, "kinesis", "connection minutes").quantity_per_hour == 3 * 60
    assert line(priced, "websocket", "requests").quantity_per_hour == events_h
    seconds = line(priced, "websocket", "duration").quantity_per_hour
    assert seconds == pytest.approx(events_h * 0.013 * 0.25)  # 10 + 3 x 1 ms at 256 MB
    shard_hours = line(priced, "kinesis", "shard hours")
    assert shard_hours.quantity_per_hour == 2
    assert shard_hours.per_month == pytest.approx(2 * 0.015 * 730)  # the stream stays all month
    assert line(priced, "kinesis", "PUT payload").quantity_per_hour == events_h
    # 5 records/s per shard, polled once a second: 2 batches a second of 5 records
    assert line(priced, "kinesis", "requests").quantity_per_hour == 2 * 3600
    assert priced.total_per_hour("websocket") == pytest.approx(
        sum(x.per_hour for x in priced.lines if x.path == "websocket")
    )
    assert all(x.source.startswith("https://") for x in priced.lines)


def test_connections_are_set_up_again_every_two_hours():
    priced = estimate(Load(2, 1.0, 10), TOPOLOGY, MEASURED, PRICES, "us-east-1")
    # every 2 h: 4 invocations per spectator and 3 per shipper (no subscribe)
    assert line(priced, "websocket", "set-up: authorizer").quantity_per_hour == (10 * 4 + 2 * 3) / 2
    assert line(priced, "kinesis", "set-up: authorizer").quantity_per_hour == 10 * 4 / 2
    assert line(priced, "kinesis", "set-up: subscribe").quantity_per_hour == 10 * 2 / 2
    assert line(priced, "kinesis", "set-up: connection").quantity_per_hour == 10 * 7 / 2


def test_big_frames_and_records_are_billed_in_their_increments():
    big = Topology(256, 1024, 2, 1000, submit_bytes=40_000, record_bytes=30_000, frame_bytes=70_000)
    priced = estimate(Load(1, 1.0, 1), big, MEASURED, PRICES, "us-east-1")
    assert line(priced, "websocket", "messages in").quantity_per_hour == 3600 * 2  # 32 KB
    assert line(priced, "kinesis", "messages out").quantity_per_hour == 3600 * 3
    assert line(priced, "kinesis", "PUT payload").quantity_per_hour == 3600 * 2  # 25 KB


def test_read_units_follow_the_subscribers_items():
    assert read_units_per_lookup(0, 128) == 0.5
    assert read_units_per_lookup(32, 128) == 0.5  # exactly 4 KB
    assert read_units_per_lookup(1000, 128) == 0.5 * 32


def test_a_big_audience_raises_the_parallelization_factor_before_the_shards():
    assert kinesis_lanes(Load(4, 10, 1), MEASURED, 2) == (2, 1)
    assert kinesis_lanes(Load(4, 10, 100), MEASURED, 2) == (2, 3)  # 4 s of posts a second
    assert kinesis_lanes(Load(4, 10, 10_000), MEASURED, 2) == (50, 10)
    priced = estimate(Load(4, 10, 10_000), TOPOLOGY, MEASURED, PRICES, "us-east-1")
    assert any("50 shards" in note for note in priced.notes)


def test_the_crossover_is_where_kinesis_becomes_cheaper():
    load = Load(4, 1.0, 1)
    rate = crossover_presses_per_s(load, TOPOLOGY, MEASURED, PRICES, "us-east-1")
    assert rate is not None

    def difference(at):
        priced = estimate(Load(4, at, 1), TOPOLOGY, MEASURED, PRICES, "us-east-1")
        return priced.total_per_month("kinesis") - priced.total_per_month("websocket")

    assert difference(rate * 0.9) > 0 > difference(rate * 1.1)


def test_serverless_yml_gives_memory_shards_and_batch_size():
    topology = topology_from(yaml.safe_load(SERVERLESS_YML.read_text()))
    assert (topology.submit_memory_mb, topology.stream_memory_mb) == (256, 1024)
    assert (topology.shard_count, topology.batch_size) == (2, 1000)
    assert 100 < topology.record_bytes < topology.submit_bytes < 1000


def test_measured_figures_come_from_the_fanout_results():
    fanout = {
        "figures": {
            "by_subscribers": {
                "steps": [
                    {
                        "subscribers": 10,
                        "frames": 100,
                        "seconds": 1.0,
                        "item_bytes_per_subscriber": 1,
                    },
                    {
                        "subscribers": 1000,
                        "frames": 2000,
                        "seconds": 4.0,
                        "item_bytes_per_subscriber": 130,
                    },
                ]
            },
            "by_non_matching": {
                "steps": [{"non_matching": 0, "ms_per_event": 30.0, "delivered": 10}]
            },
        }
    }
    measured = measured_from(fanout, "fixture")
    assert measured.ms_per_frame == 2.0
    assert measured.fixed_ms == 10.0
    assert measured.item_bytes_per_subscriber == 130
    with pytest.raises(KeyError):
        measured_from({"figures": {}}, "broken")


def test_the_prices_file_names_its_source_and_date():
    prices, document = load_prices("us-east-1")
    appsync = {"appsync_event_operation", "appsync_connection_minute"}  # tumble.quotas'
    assert document["read_on"] and set(prices) == set(PRICES) | appsync
    assert all(price.source.startswith("https://aws.amazon.com/") for price in prices.values())


def test_the_command_prints_a_table_and_json(capsys):
    assert main(["--players", "4", "--presses-per-s", "5", "--spectators", "1"]) == 0
    table = capsys.readouterr().out
    assert "| Lambda | requests | 72,000.0 requests |" in table
    assert main(["--spectators", "10000", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["load"]["spectators"] == 10_000
    assert {"websocket", "kinesis"} == set(document["totals"])


def test_an_unknown_region_is_named_with_the_ones_there_are(capsys):
    assert main(["--region", "mars-1"]) == 2
    assert "no prices for region 'mars-1' in prices.json (it has: us-east-1)" in (
        capsys.readouterr().err
    )


def test_a_negative_load_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--spectators", "-1"])
    assert exit_info.value.code == 2
    assert "--spectators must not be negative" in capsys.readouterr().err
