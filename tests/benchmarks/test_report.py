"""The report from results JSON (a small run generated here), the results files themselves and
the progress board's estimates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import results
from benchmarks.progress import (
    DEFAULT_ESTIMATES_S,
    QUICK_FACTOR,
    Tee,
    estimates,
    previous_durations,
)
from benchmarks.report import build_report, write_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def race_doc():
    websocket = [10.0 + i for i in range(20)]
    kinesis = [400.0 + 30 * i for i in range(20)]
    lap = {
        "poll_interval_s": 1.0,
        "websocket": {"count": 20, "mean": 19.5, "p50": 19.0, "p95": 28.0, "p99": 29.0},
        "kinesis": {"count": 20, "mean": 685.0, "p50": 683.0, "p95": 960.0, "p99": 970.0},
        "put_ack": {"count": 20, "mean": 12.0},
        "after_ack": {"count": 20, "mean": 673.0},
        "expected_wait_ms": 500.0,
        "poll_wait_ms": 653.5,
    }
    return {
        "parameters": {"presses": 20, "rate": 20.0},
        "figures": {
            "poll_1": lap,
            "poll_0.2": {**lap, "poll_interval_s": 0.2, "expected_wait_ms": 100.0},
        },
        "samples": {
            "poll_1": {"websocket": websocket, "kinesis": kinesis},
            "poll_0.2": {"websocket": websocket, "kinesis": [v / 4 for v in kinesis]},
        },
    }


def fanout_doc():
    return {
        "figures": {
            "by_subscribers": {
                "steps": [
                    {
                        "subscribers": n,
                        "events": 3000 // n,
                        "frames": 3000,
                        "seconds": 3.0 + n / 1000,
                        "frames_per_s": 3000 / (3.0 + n / 1000),
                        "read_units_per_lookup": 0.5 * max(1, n // 32),
                        "item_bytes_per_subscriber": 128.0,
                    }
                    for n in (1, 10, 100, 1000)
                ]
            },
            "by_non_matching": {
                "steps": [
                    {
                        "non_matching": n,
                        "ms_per_event": 20.0 + n / 1000,
                        "index_items": 10,
                        "read_units_per_lookup": 0.5,
                        "delivered": 10,
                    }
                    for n in (0, 1000, 10_000)
                ]
            },
        }
    }


def stream_doc():
    return {
        "figures": {
            "latency": {"trigger, poll 1.0 s": {"mean_ms": 540.0, "p50_ms": 530.0, "count": 30}},
            "embedded": {"bare_per_s": 42_530.0, "trigger_per_s": 24_211.0, "invocations": 50},
            "by_batch_size": [
                {"batch_size": b, "records": 200, "per_s": 300.0 * b**0.7}
                for b in (1, 10, 100, 1000)
            ],
        }
    }


def gateway_doc(with_offline: bool):
    server = {
        "posts_per_s": 670.0,
        "server_us_per_post": 381.0,
        "p50_ms": 1.57,
        "p99_ms": 3.27,
        "rss_mb": 231.0,
        "rss_per_1000_idle_mb": 5.1,
    }
    figures: dict[str, dict[str, Any]] = {
        "gateway": server,
        "baseline": {**server, "posts_per_s": 680.0, "p50_ms": 0.19},
    }
    if with_offline:
        figures["serverless_offline"] = {**server, "posts_per_s": 242.0, "p99_ms": 39.2}
        figures["missing"] = {}
    else:
        figures["missing"] = {"serverless_offline": "node is not on PATH"}
    return {"parameters": {"idle": 10_000}, "figures": figures}


def test_a_run_becomes_tables_and_charts():
    run = {
        "race": race_doc(),
        "fanout": fanout_doc(),
        "stream_trigger": stream_doc(),
        "gateway": gateway_doc(True),
        "soak": {"printed": ["RSS flat", ""]},
    }
    markdown, images = build_report(run, [("Cost: the race", "| a | table |")])
    assert set(images) == {"race.png", "fanout.png", "stream_trigger.png", "gateway.png"}
    assert all(data.startswith(PNG_SIGNATURE) for data in images.values())
    assert "![The race: press to spectator](race.png)" in markdown
    assert "| 1 s | Kinesis | 685.0 | 683.0 | 960.0 | 970.0 | 20 |" in markdown
    assert "expected 500" in markdown
    assert "| 1,000 | 3 | 3,000 | 750 | 15.5 |" in markdown  # a sweep step, as measured
    assert "| embedded | 24,211 | 42,530 |" in markdown
    assert "| echo round trip p99, ms | 3.27 | 3.27 | 39.20 |" in markdown
    assert "RSS flat" in markdown and "| a | table |" in markdown


def test_a_missing_peer_and_a_broken_section_are_said_not_fatal():
    broken = {"figures": {"by_subscribers": {"steps": [{"subscribers": 1}]}}}
    markdown, images = build_report({"gateway": gateway_doc(False), "fanout": broken})
    assert "serverless-offline not measured: node is not on PATH" in markdown
    assert "| @connections deliveries/s | 670 | 680 | not measured |" in markdown
    assert "## Fan-out" in markdown and "(no figures: KeyError" in markdown
    assert images["gateway.png"].startswith(PNG_SIGNATURE)


def test_write_report_reads_a_folder_and_writes_next_to_it(tmp_path):
    for name, doc in {
        "race": race_doc(),
        "fanout": fanout_doc(),
        "gateway": gateway_doc(True),
    }.items():
        results.record(
            name,
            **{k: doc[k] for k in ("parameters", "figures", "samples") if k in doc},
            folder=tmp_path,
        )
    path = write_report(tmp_path)
    markdown = path.read_text()
    assert path.name == "REPORT.md"
    for png in ("race.png", "fanout.png", "gateway.png"):
        assert (tmp_path / png).read_bytes().startswith(PNG_SIGNATURE)
    # the cost tables: the race's load and a stadium, priced with this run's fan-out figures
    assert "## Cost on AWS: the race's load (20 presses/s, 1 spectator)" in markdown
    assert "## Cost on AWS: a stadium (10,000 spectators)" in markdown
    assert f"handler times and read units from {tmp_path / 'fanout.json'}" in markdown


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results JSON"):
        write_report(tmp_path)


def test_records_merge_and_carry_the_machine_and_versions(tmp_path):
    results.record("x", parameters={"a": 1}, figures={"one": {"p50": 2}}, folder=tmp_path)
    results.record("x", figures={"one": {"p99": 3}}, printed=["line"], folder=tmp_path)
    document = json.loads((tmp_path / "x.json").read_text())
    assert document["figures"] == {"one": {"p50": 2, "p99": 3}}
    assert document["printed"] == ["line"] and document["parameters"] == {"a": 1}
    assert document["machine"]["cores"] >= 1 and "python" in document["machine"]
    assert "aiobotocore" in document["versions"]
    assert results.load_run(tmp_path).keys() == {"x"}


def test_one_folder_per_run_is_named_once(tmp_path):
    environ = {results.RESULTS_DIR_VARIABLE: str(tmp_path / "20260101T000000Z")}
    assert results.run_dir(environ) == tmp_path / "20260101T000000Z"
    assert results.run_dir(environ).is_dir()
    assert results.newest_run(tmp_path) == tmp_path / "20260101T000000Z"
    assert results.newest_run(tmp_path, having="race") is None


def test_estimates_come_from_the_previous_run_with_the_same_quick(tmp_path):
    (tmp_path / "20260101T000000Z").mkdir()
    (tmp_path / "20260101T000000Z" / "run.json").write_text(
        json.dumps({"quick": False, "durations_s": {"race": 42.0}})
    )
    (tmp_path / "20260102T000000Z").mkdir()
    (tmp_path / "20260102T000000Z" / "run.json").write_text("not json")
    previous = previous_durations(tmp_path, quick=False)
    assert previous == {"race": 42.0}
    assert previous_durations(tmp_path, quick=True) == {}
    found = estimates(["race", "gateway", "new"], False, previous)
    assert found == {"race": 42.0, "gateway": DEFAULT_ESTIMATES_S["gateway"], "new": 60.0}
    assert estimates(["race"], True, {})["race"] == DEFAULT_ESTIMATES_S["race"] * QUICK_FACTOR


def test_the_tee_keeps_complete_lines():
    import io

    inner = io.StringIO()
    tee = Tee(inner)
    tee.write("one\ntw")
    tee.write("o\n")
    assert tee.lines == ["one", "two"] and inner.getvalue() == "one\ntwo\n"


def test_tumble_bench_report_rebuilds_a_folder_and_refuses_an_empty_one(tmp_path, capsys):
    from benchmarks.cli import main

    assert main(["report", str(tmp_path)]) == 2
    assert f"no results JSON in {tmp_path}" in capsys.readouterr().err
    results.record("gateway", figures=gateway_doc(False)["figures"], folder=tmp_path)
    assert main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "REPORT.md").exists() and (tmp_path / "gateway.png").exists()


def test_the_race_section_puts_the_localstack_lap_beside_the_embedded_ones_and_says_why():
    doc = race_doc()
    lap = {**doc["figures"]["poll_1"], "backend": "localstack"}
    doc["figures"]["localstack_poll_1"] = lap
    doc["samples"]["localstack_poll_1"] = doc["samples"]["poll_1"]
    markdown, images = build_report({"race": doc})
    assert images["race.png"].startswith(PNG_SIGNATURE)
    rows = [line for line in markdown.splitlines() if line.startswith("| LocalStack | 1 s |")]
    assert [row.split(" | ")[2] for row in rows] == [
        "WebSocket (baseline)",
        "Kinesis",
        "Kinesis: PutRecords acknowledged",
        "Kinesis: wait for the poll",
    ]
    assert "| embedded | 0.2 s | Kinesis |" in markdown
    assert "kinesis-mock" in markdown and "DynamoDB stays on the embedded backend" in markdown


def test_a_race_without_localstack_says_why():
    doc = race_doc()
    doc["parameters"]["localstack_skipped"] = "host-mode LocalStack needs Python 3.13"
    markdown, _ = build_report({"race": doc})
    assert "No LocalStack lap: host-mode LocalStack needs Python 3.13." in markdown


def test_the_quota_section_prices_the_stadium_with_the_races_latencies() -> None:
    from benchmarks.report import quota_section, race_latency_ms

    race = {
        "figures": {
            "1": {"poll_interval_s": 1.0, "websocket": {"p50": 5.0}, "kinesis": {"p50": 520.0}},
            "2": {"poll_interval_s": 0.1, "websocket": {"p50": 4.0}, "kinesis": {"p50": 60.0}},
        }
    }
    assert race_latency_ms({"race": race}) == {"websocket": 5.0, "kinesis": 520.0}
    assert race_latency_ms({}) is None
    (heading, table), chart = quota_section({"race": race})
    assert "100,000" in heading and "quotas.png" in table
    assert "| 100,000 | Kinesis path, batched | 100,000 | 10.0x" in table
    assert chart.startswith(b"\x89PNG")
