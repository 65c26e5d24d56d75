"""Lambda's OnFailure destination for stream sources: a record describing the discarded batch
(`KinesisBatchInfo`: shard, first and last sequence numbers, size, stream), never the records,
sent to an SQS queue or SNS topic through injected clients."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .decisions import Pending

__all__ = ["Destinations", "dropped_line", "on_failure_record"]

log = logging.getLogger(__name__)

# Sending to the destination is tried this often before the shard moves on without it.
SEND_ATTEMPTS = 3


def _iso(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def on_failure_record(
    *,
    items: Sequence[Pending],
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    function_error: bool,
    now: float,
) -> dict[str, Any]:
    """The invocation record Lambda sends for a discarded Kinesis batch."""
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "version": "1.0",
        "timestamp": _iso(now),
        "KinesisBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": items[0].record.sequence_number,
            "endSequenceNumber": items[-1].record.sequence_number,
            "approximateArrivalOfFirstRecord": _iso(items[0].record.arrival),
            "approximateArrivalOfLastRecord": _iso(items[-1].record.arrival),
            "batchSize": len(items),
            "streamArn": stream_arn,
        },
    }
    if function_error:
        record["responseContext"]["functionError"] = "Unhandled"
    return record


def dropped_line(
    items: Sequence[Pending], shard_id: str, condition: str | None, function: str
) -> str:
    """The one log line for records discarded with no OnFailure destination: enough to find
    them again in the stream (shard, sequence numbers) while it retains them."""
    sequences = [p.record.sequence_number for p in items]
    shown = ", ".join(sequences[:10]) + (
        f" and {len(sequences) - 10} more" if len(sequences) > 10 else ""
    )
    return (
        f"{function}: dropped {len(items)} record(s) of {shard_id} "
        f"({condition or 'RetryAttemptsExhausted'}, no OnFailure destination): "
        f"sequence numbers {shown}"
    )


class Destinations:
    """Sends OnFailure records to SQS queues and SNS topics named by ARN."""

    def __init__(self, sqs: Any, sns: Any, retry_delay_s: float = 0.5) -> None:
        self.sqs = sqs
        self.sns = sns
        self.retry_delay_s = retry_delay_s
        self._queue_urls: dict[str, str] = {}

    async def _queue_url(self, arn: str) -> str:
        if arn not in self._queue_urls:
            _, _, _, _, account, name = arn.split(":", 5)
            reply = await self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._queue_urls[arn] = reply["QueueUrl"]
        return self._queue_urls[arn]

    async def send(self, arn: str, record: dict[str, Any]) -> bool:
        """True once delivered. A destination that keeps failing is logged and skipped: the
        shard must not block forever on a broken destination."""
        body = json.dumps(record)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                if ":sqs:" in arn:
                    await self.sqs.send_message(
                        QueueUrl=await self._queue_url(arn), MessageBody=body
                    )
                elif ":sns:" in arn:
                    await self.sns.publish(TopicArn=arn, Message=body)
                else:
                    log.error("OnFailure destination %s is neither SQS nor SNS; dropped", arn)
                    return False
                return True
            except (ClientError, BotoCoreError) as error:
                log.warning("OnFailure to %s failed (attempt %d): %s", arn, attempt, error)
                if attempt < SEND_ATTEMPTS:
                    await asyncio.sleep(self.retry_delay_s)
        log.error("OnFailure record for %s dropped: %s", arn, body)
        return False
