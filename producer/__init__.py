"""The producer: controller presses (or simulated players) shipped to Kinesis and the WebSocket."""

from __future__ import annotations

from .batching import Batcher, Entry, RetryPolicy
from .deadletter import DeadLetter, read_dead_letters
from .kinesis import KinesisPath
from .shipper import Shipper, Summary, partition_key_for
from .websocket import WebSocketPath

__all__ = [
    "Batcher",
    "DeadLetter",
    "Entry",
    "KinesisPath",
    "RetryPolicy",
    "Shipper",
    "Summary",
    "WebSocketPath",
    "partition_key_for",
    "read_dead_letters",
]
