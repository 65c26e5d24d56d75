from __future__ import annotations

import random

import pytest

from producer.batching import (
    MAX_BYTES_PER_CALL,
    MAX_RECORD_BYTES,
    MAX_RECORDS_PER_CALL,
    Batcher,
    Entry,
    RecordTooLarge,
    RetryPolicy,
    backoff_s,
    classify,
)


def entry(n: int, key: str = "red", size: int = 10) -> Entry:
    return Entry(f"id{n}", key, b"x" * size)


def test_count_limit_cuts_calls_at_500_in_order():
    batcher = Batcher(linger_s=10)
    for n in range(1200):
        batcher.add(entry(n), now=0.0)
    assert batcher.full() and batcher.ready(0.0)
    calls = [batcher.take(0.0) for _ in range(3)]
    assert [len(c) for c in calls] == [MAX_RECORDS_PER_CALL, MAX_RECORDS_PER_CALL, 200]
    assert [e.event_id for c in calls for e in c] == [f"id{n}" for n in range(1200)]
    assert len(batcher) == 0 and batcher.pending_bytes == 0 and batcher.deadline() is None


def test_size_limit_cuts_calls_at_5_mib_counting_partition_keys():
    batcher = Batcher(linger_s=10)
    big = MAX_RECORD_BYTES - len("red")  # exactly 1 MiB with its key
    for n in range(6):
        batcher.add(entry(n, size=big), now=0.0)
    first = batcher.take(0.0)
    assert len(first) == 5 and sum(e.size for e in first) == MAX_BYTES_PER_CALL
    assert len(batcher.take(0.0)) == 1


def test_record_over_1_mib_with_its_key_is_refused():
    with pytest.raises(RecordTooLarge, match="1048576"):
        Batcher().add(entry(0, size=MAX_RECORD_BYTES - 2), now=0.0)  # 3-byte key tips it over


@pytest.mark.parametrize("key", ["", "k" * 257])
def test_partition_key_length_is_checked(key: str):
    with pytest.raises(RecordTooLarge, match="partition key"):
        Batcher().add(entry(0, key=key), now=0.0)


def test_linger_makes_a_small_batch_ready_only_after_the_oldest_waited():
    batcher = Batcher(linger_s=0.05)
    assert not batcher.ready(0.0)
    batcher.add(entry(0), now=1.0)
    batcher.add(entry(1), now=1.04)
    assert batcher.deadline() == pytest.approx(1.05)
    assert not batcher.ready(1.049)
    assert batcher.ready(1.05)
    assert batcher.ready(1.0, flushing=True)


def test_requeued_entries_go_before_newer_ones():
    batcher = Batcher(linger_s=0)
    batcher.add(entry(3), now=0.0)
    batcher.requeue_front([entry(1), entry(2)], now=0.0)
    assert [e.event_id for e in batcher.take(0.0)] == ["id1", "id2", "id3"]


def test_classify_resends_only_failed_entries():
    batch = [entry(n) for n in range(4)]
    results = [
        {"SequenceNumber": "1", "ShardId": "s"},
        {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"},
        {"SequenceNumber": "2", "ShardId": "s"},
        {"ErrorCode": "InternalFailure", "ErrorMessage": "oops"},
    ]
    outcome = classify(batch, results, RetryPolicy(max_attempts=3))
    assert [e.event_id for e in outcome.acked] == ["id0", "id2"]
    assert [e.event_id for e in outcome.retry] == ["id1", "id3"]
    assert [e.last_error for e in outcome.retry] == [
        "ProvisionedThroughputExceededException",
        "InternalFailure",
    ]
    assert outcome.dead == [] and outcome.throttled


def test_classify_gives_up_after_the_last_try():
    policy = RetryPolicy(max_attempts=2)
    batch = [entry(0)]
    failed = [{"ErrorCode": "InternalFailure"}]
    assert classify(batch, failed, policy).retry == batch
    outcome = classify(batch, failed, policy)
    assert outcome.dead == batch and batch[0].attempts == 2


def test_a_failed_call_counts_against_every_entry():
    outcome = classify([entry(0), entry(1)], None, RetryPolicy(), call_error="ResourceNotFound")
    assert len(outcome.retry) == 2 and {e.last_error for e in outcome.retry} == {"ResourceNotFound"}


def test_a_response_of_the_wrong_length_is_trusted_for_nothing():
    outcome = classify([entry(0), entry(1)], [{"SequenceNumber": "1"}], RetryPolicy())
    assert outcome.acked == [] and len(outcome.retry) == 2
    assert outcome.retry[0].last_error == "MalformedResponse"


def test_backoff_is_full_jitter_under_an_exponential_cap():
    policy = RetryPolicy(base_s=0.1, cap_s=1.0)
    rng = random.Random(1)
    for attempt, ceiling in [(0, 0.1), (1, 0.2), (3, 0.8), (4, 1.0), (30, 1.0)]:
        delays = [backoff_s(attempt, policy, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not clustered
