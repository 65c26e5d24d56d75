"""The SQS event source mapping stand-in: Lambda's poller for `sqs` events, run locally.

serverless_model.sqs reads the serverless.yml event (what a service declares); here,
`events` builds the records Lambda sends, `decisions` says what a result lets the poller
delete (and MappingError what CreateEventSourceMapping refuses), `poller` is the I/O shell."""

from __future__ import annotations

__all__: list[str] = []
