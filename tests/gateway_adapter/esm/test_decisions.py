from __future__ import annotations

from collections import deque

import pytest

from gateway_adapter.esm.decisions import (
    CONDITION_RETRIES,
    MAX_PAYLOAD_BYTES,
    Batch,
    CheckpointTracker,
    Pending,
    decide,
    failed_index,
    iterator_request,
    lane_of,
    split_expired,
    take_batch,
)
from gateway_adapter.esm.events import EventSource, StreamRecord, event_record

from .conftest import trigger

SOURCE = EventSource(
    "shardId-000000000000", "arn:aws:kinesis:us-east-1:1:stream/s", "us-east-1", ""
)


def pending(seq: int, size: int = 100, arrival: float = 1000.0, key: str = "k") -> Pending:
    record = StreamRecord(str(seq), key, "eA==", arrival)
    return Pending(record, event_record(record, SOURCE), size)


def batch(count: int, retries: int = 0) -> Batch:
    return Batch(tuple(pending(i) for i in range(1, count + 1)), retries)


def seqs(items) -> list[str]:
    return [p.record.sequence_number for p in items]


def test_take_batch_respects_batch_size():
    queue = deque(pending(i) for i in range(10))
    assert seqs(take_batch(queue, 4)) == ["0", "1", "2", "3"]
    assert len(queue) == 6


def test_take_batch_respects_the_6_mb_payload_cap():
    queue = deque(pending(i, size=1024 * 1024) for i in range(8))
    first = take_batch(queue, 100)
    assert len(first) == 5  # 6 x 1 MiB plus the envelope would pass 6 MiB
    assert sum(p.size for p in first) <= MAX_PAYLOAD_BYTES
    assert len(take_batch(queue, 100)) == 3


def test_take_batch_always_takes_one_record():
    queue = deque([pending(1, size=MAX_PAYLOAD_BYTES + 5)])
    assert len(take_batch(queue, 10)) == 1


def test_lane_of_keeps_a_key_in_one_lane_and_spreads_keys():
    assert lane_of("anything", 1) == 0
    assert all(lane_of("player-7", 4) == lane_of("player-7", 4) for _ in range(3))
    assert {lane_of(f"key-{i}", 4) for i in range(200)} == {0, 1, 2, 3}


def test_split_expired():
    items = [pending(1, arrival=0.0), pending(2, arrival=95.0), pending(3, arrival=99.0)]
    assert split_expired(items, 100.0, -1) == ([], items)
    expired, fresh = split_expired(items, 100.0, 10)
    assert seqs(expired) == ["1"]
    assert seqs(fresh) == ["2", "3"]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, None),
        ("", None),
        ({}, None),
        ({"batchItemFailures": None}, None),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": [{"itemIdentifier": "3"}]}, 2),
        ({"batchItemFailures": [{"itemIdentifier": "4"}, {"itemIdentifier": "2"}]}, 1),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, 0),
        ({"batchItemFailures": [{}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": "99"}]}, 0),
        ({"batchItemFailures": ["3"]}, 0),
        ({"batchItemFailures": "3"}, 0),
        ("not a dict", 0),
        (["3"], 0),
    ],
)
def test_failed_index(result, expected):
    assert failed_index(result, batch(5).items) == expected


def test_success_commits_everything():
    outcome = decide(batch(3), trigger(), error=False, result={"anything": 1})
    assert seqs(outcome.done) == ["1", "2", "3"]
    assert not outcome.next
    assert not outcome.discarded


def test_error_retries_the_whole_batch_counting_retries():
    outcome = decide(batch(3), trigger(maximum_retry_attempts=2), error=True)
    assert not outcome.done
    assert [seqs(b.items) for b in outcome.next] == [["1", "2", "3"]]
    assert outcome.next[0].retries == 1


def test_error_with_infinite_retries_never_discards():
    outcome = decide(batch(3, retries=10_000), trigger(), error=True)
    assert outcome.next[0].retries == 10_001


def test_retries_exhausted_discards_the_batch():
    outcome = decide(batch(3, retries=2), trigger(maximum_retry_attempts=2), error=True)
    assert seqs(outcome.discarded) == ["1", "2", "3"]
    assert outcome.condition == CONDITION_RETRIES
    assert not outcome.next


def test_zero_retries_discards_at_once():
    outcome = decide(batch(1), trigger(maximum_retry_attempts=0), error=True)
    assert seqs(outcome.discarded) == ["1"]


def test_bisection_splits_without_counting_a_retry():
    settings = trigger(bisect_batch_on_function_error=True, maximum_retry_attempts=1)
    outcome = decide(batch(5, retries=1), settings, error=True)
    assert [seqs(b.items) for b in outcome.next] == [["1", "2"], ["3", "4", "5"]]
    assert [b.retries for b in outcome.next] == [1, 1]
    single = decide(Batch(outcome.next[0].items[:1], 1), settings, error=True)
    assert seqs(single.discarded) == ["1"]  # one record cannot split: its retries count


def test_report_batch_item_failures_is_ignored_unless_enabled():
    result = {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert seqs(decide(batch(3), trigger(), error=False, result=result).done) == ["1", "2", "3"]


def test_partial_failure_commits_before_the_lowest_and_retries_from_it():
    settings = trigger(report_batch_item_failures=True, maximum_retry_attempts=3)
    result = {"batchItemFailures": [{"itemIdentifier": "4"}, {"itemIdentifier": "3"}]}
    outcome = decide(batch(5), settings, error=False, result=result)
    assert seqs(outcome.done) == ["1", "2"]
    assert [seqs(b.items) for b in outcome.next] == [["3", "4", "5"]]
    assert outcome.next[0].retries == 1


def test_partial_failure_out_of_retries_discards_the_rest():
    settings = trigger(report_batch_item_failures=True, maximum_retry_attempts=0)
    result = {"batchItemFailures": [{"itemIdentifier": "2"}]}
    outcome = decide(batch(3), settings, error=False, result=result)
    assert seqs(outcome.done) == ["1"]
    assert seqs(outcome.discarded) == ["2", "3"]


def test_partial_failure_with_bisection_splits_at_the_failed_record():
    settings = trigger(report_batch_item_failures=True, bisect_batch_on_function_error=True)
    result = {"batchItemFailures": [{"itemIdentifier": "3"}]}
    outcome = decide(batch(5), settings, error=False, result=result)
    assert seqs(outcome.done) == ["1", "2"]
    assert [(seqs(b.items), b.retries) for b in outcome.next] == [(["3", "4", "5"], 0)]


def test_null_identifier_fails_the_whole_batch():
    settings = trigger(report_batch_item_failures=True, maximum_retry_attempts=5)
    result = {"batchItemFailures": [{"itemIdentifier": None}]}
    outcome = decide(batch(3), settings, error=False, result=result)
    assert not outcome.done
    assert outcome.next[0].retries == 1


def test_checkpoint_tracker_moves_only_over_contiguous_done_records():
    tracker = CheckpointTracker()
    tracker.read(["1", "2", "3", "4"])
    assert tracker.finish(["2", "4"]) is None
    assert tracker.finish(["1"]) == "2"
    assert tracker.finish(["3"]) == "4"
    assert len(tracker) == 0


@pytest.mark.parametrize(
    ("checkpoint", "timestamp", "last_read", "expected"),
    [
        ("TRIM_HORIZON", None, None, {"ShardIteratorType": "TRIM_HORIZON"}),
        ("LATEST", 5.0, None, {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 5.0}),
        ("AT_TIMESTAMP", 7.0, None, {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 7.0}),
        (
            "42",
            None,
            None,
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": "42"},
        ),
        (
            "42",
            None,
            "50",
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": "50"},
        ),
        ("SHARD_END", None, None, None),
    ],
)
def test_iterator_request_never_uses_latest(checkpoint, timestamp, last_read, expected):
    assert iterator_request(checkpoint, timestamp, last_read) == expected


@pytest.mark.parametrize(("checkpoint", "timestamp"), [("LATEST", None), ("garbage", None)])
def test_iterator_request_rejects_unusable_checkpoints(checkpoint, timestamp):
    with pytest.raises(ValueError, match="cannot resume"):
        iterator_request(checkpoint, timestamp, None)
