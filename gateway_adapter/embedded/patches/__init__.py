"""Every replacement of moto's internals, in one labelled place (and the premise checks that
the gateway's aiohttp patch shares).

The embedded backend answers faster, and the gateway enforces a quota, by replacing private
code of moto and aiohttp that no public API reaches. A private name can change in any
release, so each patch checks its premises when it is installed (the names and signatures
it relies on, then one in-process request answered by the patched and the plain code and
compared): where they fail, the patch stays off and one warning line says what is slower,
never wrong. Only the frame guard (below) has no safe fallback; it fails start-up instead.

- moto_kinesis: Kinesis GetRecords written directly (`python -m benchmarks.stream_trigger`).
- moto_dynamodb: DynamoDB transactions, Queries, reads and items (`benchmarks.subscribe`).
- moto_server (with moto_server_http): moto's server dispatch, kept connections, a leaner
  HTTP layer (`benchmarks.embedded_cpu`).

The gateway's own patch, the 32 KB WebSocket frame quota on aiohttp's frame parser, lives with
the quota it enforces (gateway_adapter/apigateway/aiohttp_frames.py) and uses `premises` from
here; nothing here imports the rest of the gateway (tests/test_house_rules.py).

tests/gateway_adapter/embedded/patches/ pins every private symbol they touch and simulates a
renamed one and a changed answer for each."""

from __future__ import annotations

__all__: list[str] = []
