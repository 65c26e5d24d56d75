"""An event without EventId or SentAt takes them from AWS's own data for its request or record."""

from __future__ import annotations

from processor.pipeline import record_stamp, request_stamp


def test_a_websocket_message_is_stamped_with_its_message_id_and_request_time():
    stamp = request_stamp(
        {"messageId": "Ec8fWcXaoAMCJBw=", "requestId": "Ec8fWF6ZoAMF2Fw=", "requestTimeEpoch": 7}
    )
    assert (stamp.event_id, stamp.sent_at) == ("Ec8fWcXaoAMCJBw=", 7)


def test_without_a_message_id_the_request_id_serves():
    stamp = request_stamp({"requestId": "Ec8fWF6ZoAMF2Fw=", "requestTimeEpoch": 1575929040123})
    assert (stamp.event_id, stamp.sent_at) == ("Ec8fWF6ZoAMF2Fw=", 1575929040123)


def test_a_kinesis_record_is_stamped_with_its_event_id_and_arrival():
    record = {
        "eventID": "shardId-000000000001:4959033827149025660855969253836157",
        "kinesis": {
            "sequenceNumber": "4959033827149025660855969253836157",
            "approximateArrivalTimestamp": 1545084650.987,
        },
    }
    stamp = record_stamp(record)
    assert stamp.event_id == "shardId-000000000001:4959033827149025660855969253836157"
    assert stamp.sent_at == 1545084650987


def test_records_of_two_shards_with_one_sequence_number_get_distinct_ids():
    kinesis = {"sequenceNumber": "1", "approximateArrivalTimestamp": 1.0}
    first = record_stamp({"eventID": "shardId-000000000000:1", "kinesis": kinesis})
    second = record_stamp({"eventID": "shardId-000000000001:1", "kinesis": kinesis})
    assert first.event_id != second.event_id


def test_missing_aws_data_still_gives_an_id_and_a_time():
    for stamp in (request_stamp({}), record_stamp({})):
        assert stamp.event_id and stamp.sent_at > 0
