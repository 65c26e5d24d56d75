"""The fixed local interface of `tumble local`, spelled once: the loopback address, the stage,
the ports, and the WebSocket URL that a client assumes when it is given none.

It sits in messages/ not because it is part of the wire contract but because messages/ is the
one Tumble package that the producer, the spectators and the `tumble` commands may all import
(tests/test_house_rules.py); tumble/settings.py builds the rest of the local settings on it.
gateway_adapter/ imports no Tumble package at all (it runs any serverless.yml), so its own
command-line defaults stay spelled there; a house rule checks they agree with these."""

from __future__ import annotations

__all__ = ["AWS_PORT", "GATEWAY_PORT", "LOCAL_WS_URL", "LOOPBACK", "PAGE_PORT", "STAGE"]

LOOPBACK = "127.0.0.1"
STAGE = "local"
AWS_PORT = 4566  # the embedded backend or LocalStack
GATEWAY_PORT = 3001  # the WebSocket API and its @connections API
PAGE_PORT = 8080  # the race page
LOCAL_WS_URL = f"ws://{LOOPBACK}:{GATEWAY_PORT}/{STAGE}"
