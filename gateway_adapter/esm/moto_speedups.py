"""A faster GetRecords for the embedded backend (moto's server), for the stream trigger's sake.

moto 5.2 answers GetRecords through its generic, model-driven response serializer, which costs
about 0.15 ms per record: a 10,000-record GetRecords takes 1.5 s of the server's CPU, which caps
any poller near 6,000 records/s and starves the backend's other calls meanwhile. This writes the
same JSON directly (Kinesis' wire shape: base64 `Data`, epoch-seconds
`ApproximateArrivalTimestamp`), from the same backend call, so behaviour and errors are moto's.

Install it in the process that runs moto's server, before serving: `install()`. It is opt-in:
gateway_adapter.embedded decides whether to use it. moto has no public hook for this: the method
it replaces is checked by tests/gateway_adapter/test_dependency_internals.py, and moto is
bounded in pyproject.toml."""

from __future__ import annotations

import calendar
import json
from datetime import datetime
from typing import Any, cast

from moto.core.common_types import TYPE_RESPONSE
from moto.core.responses import ActionContext, ActionResult
from moto.kinesis.responses import KinesisResponse

__all__ = ["install", "installed", "uninstall"]

_ORIGINAL = KinesisResponse.get_records


def _epoch_ms(moment: datetime) -> float:
    """Epoch seconds truncated to milliseconds, as Kinesis and moto's own serializer give it."""
    return calendar.timegm(moment.timetuple()) + (moment.microsecond // 1000) / 1000.0


class _GetRecordsResult(ActionResult):
    """moto's own result for GetRecords (status and headers from its serializer, which has
    nothing to walk once the records are set aside), with the records written directly."""

    def __init__(self, next_iterator: str | None, records: list[Any], millis_behind: int) -> None:
        super().__init__({"NextShardIterator": next_iterator, "MillisBehindLatest": millis_behind})
        self._records = records

    def execute_result(self, context: ActionContext) -> TYPE_RESPONSE:
        status, headers, _ = super().execute_result(context)
        fields = cast(dict[str, Any], self.result)
        body = {
            "NextShardIterator": fields["NextShardIterator"],
            "Records": [
                {
                    "Data": record.data,  # moto keeps the base64 text it was given
                    "PartitionKey": record.partition_key,
                    "SequenceNumber": str(record.sequence_number),
                    "ApproximateArrivalTimestamp": _epoch_ms(record.created_at_datetime),
                }
                for record in self._records
            ],
            "MillisBehindLatest": fields["MillisBehindLatest"],
        }
        return status, headers, json.dumps(body)


def _get_records(self: KinesisResponse) -> ActionResult:
    next_iterator, records, millis_behind = self.kinesis_backend.get_records(
        self._get_param("StreamARN"), self._get_param("ShardIterator"), self._get_param("Limit")
    )
    return _GetRecordsResult(next_iterator, records, millis_behind)


def install() -> None:
    KinesisResponse.get_records = _get_records  # type: ignore[method-assign]


def installed() -> bool:
    return KinesisResponse.get_records is _get_records


def uninstall() -> None:
    KinesisResponse.get_records = _ORIGINAL  # type: ignore[method-assign]
