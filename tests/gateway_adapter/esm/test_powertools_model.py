"""The Kinesis batch the event source mapping hands a function fits Powertools'
KinesisDataStreamModel (built from real Lambda events), binary data included."""

from __future__ import annotations

import asyncio
import base64

import pytest
from aws_lambda_powertools.utilities.parser.models import KinesisDataStreamModel

from .conftest import STREAM, Recorder, create_stream, make_service, run_mappings, trigger


@pytest.mark.kinesis_mock
def test_a_batch_fits_the_kinesis_data_stream_model(kinesis):
    shard = create_stream(kinesis, 1)[0]
    datas = [b'{"MessageType":"NESClick"}', bytes(range(256)), "\u00e9t\u00e9".encode()]
    kinesis.put_records(
        StreamName=STREAM,
        Records=[{"PartitionKey": f"p{i}", "Data": d} for i, d in enumerate(datas)],
    )
    recorder = Recorder()

    async def body(_):
        await recorder.until(lambda: sum(len(e["Records"]) for e in recorder.calls) >= 3)

    asyncio.run(run_mappings(make_service(trigger()), recorder, body))
    parsed = [KinesisDataStreamModel.model_validate(event) for event in recorder.calls]
    records = [record for batch in parsed for record in batch.Records]
    assert [r.kinesis.data for r in records] == datas
    for record, raw in zip(records, [r for e in recorder.calls for r in e["Records"]], strict=True):
        assert record.eventID == f"{shard}:{record.kinesis.sequenceNumber}"
        assert base64.b64decode(raw["kinesis"]["data"]) == record.kinesis.data
