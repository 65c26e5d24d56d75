"""A stand-alone event source mapping runner for the kill -9 test: its "function" appends each
record it is invoked with to a file (one JSON line each), then takes `--delay` seconds.

python -m tests.gateway_adapter.esm.runner --out FILE --owner NAME [--lease-duration S]"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import sys
from pathlib import Path

from gateway_adapter.esm import EventSourceMappings
from gateway_adapter.esm.events import KinesisBatchEvent
from tests.gateway_adapter.esm.conftest import make_service, trigger


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--owner", required=True)
    parser.add_argument("--lease-duration", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--delay", type=float, default=0.02)
    args = parser.parse_args(argv)
    out = Path(args.out).open("a", buffering=1)  # noqa: SIM115 (open for the whole run)

    async def invoke(function: str, event: KinesisBatchEvent) -> None:
        for record in event["Records"]:
            line = {
                "owner": args.owner,
                "shard": record["eventID"].split(":")[0],
                "seq": record["kinesis"]["sequenceNumber"],
                "data": base64.b64decode(record["kinesis"]["data"]).decode(),
            }
            out.write(json.dumps(line) + "\n")
        os.fsync(out.fileno())
        await asyncio.sleep(args.delay)

    mappings = EventSourceMappings(
        make_service(trigger(batch_size=args.batch_size)),
        invoke,
        poll_interval=0.05,
        owner_id=args.owner,
        lease_duration_s=args.lease_duration,
    )
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    await mappings.start()
    print("started", flush=True)
    await stopped.wait()
    await mappings.stop()
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
