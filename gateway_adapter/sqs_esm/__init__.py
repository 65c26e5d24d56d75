"""The SQS event source mapping stand-in: Lambda's poller for `sqs` events, run locally.

`config` reads the serverless.yml event, `events` builds the records Lambda sends,
`decisions` says what a result lets the poller delete, `poller` is the I/O shell. Only
`config` is imported here: gateway_adapter.service needs it, and the poller needs the
service."""

from __future__ import annotations

from .config import SqsTrigger, parse_sqs_event

__all__ = ["SqsTrigger", "parse_sqs_event"]
