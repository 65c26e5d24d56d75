"""The Kinesis event source mapping stand-in: Lambda's poller for `stream` events, run locally.

Pure decisions live in `decisions`/`events`; `leases` keeps KCL-style checkpoints in DynamoDB;
`poller` is the thin I/O shell with one loop per shard."""

from __future__ import annotations

from .poller import EventSourceMappings, Invoke

__all__ = ["EventSourceMappings", "Invoke"]
