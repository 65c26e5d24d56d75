"""`tumble produce` (also `python -m producer`) and `tumble emit`."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

from botocore.config import Config

from messages import Event, EventType, MessageField, Source, ValidationError
from messages.tokens import with_token

from .batching import RetryPolicy
from .config import (
    DEFAULT_STREAM,
    DEFAULT_WS_URL,
    ConfigProblem,
    aws_session,
    stream_name,
    token_source,
    upload_bucket,
)
from .deadletter import DeadLetter, DeadLetterError, Replay
from .kinesis import KinesisPath
from .shipper import PARTITION_KEY_MODES, Shipper
from .websocket import WebSocketPath

__all__ = ["emit_main", "parse_fields", "produce_main"]

DEFAULT_DEAD_LETTER = "tumble-dead-letter.jsonl"
# botocore's own retries would resend a whole PutRecords call, hiding partial failures from the
# shipper's per-entry policy; one try each, the shipper decides.
CLIENT_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ws-url", default=DEFAULT_WS_URL, help="gateway WebSocket URL")
    parser.add_argument("--no-websocket", action="store_true", help="ship to Kinesis only")
    parser.add_argument("--token", default=None, help="shipper token (default: issued locally)")
    parser.add_argument(
        "--stream", default=None, help=f"stream (default: $STREAM_NAME, else {DEFAULT_STREAM})"
    )
    parser.add_argument(
        "--dead-letter",
        type=Path,
        default=Path(DEFAULT_DEAD_LETTER),
        help=f"JSON lines of records Kinesis would not take (default {DEFAULT_DEAD_LETTER})",
    )
    # 3 s: inside the 5 s that `tumble local` grants its children after Ctrl-C.
    parser.add_argument("--flush-timeout", type=float, default=3.0, help="seconds, at exit")


def _build(args: argparse.Namespace, linger_s: float, key_mode: str) -> tuple[Shipper, Any, Any]:
    session, endpoint = aws_session()
    kinesis_client = session.client("kinesis", endpoint_url=endpoint, config=CLIENT_CONFIG)
    kinesis = KinesisPath(
        kinesis_client,
        stream_name(args.stream),
        linger_s=linger_s,
        policy=RetryPolicy(),
        dead_letter=DeadLetter(args.dead_letter),
    )
    websocket = None
    if not args.no_websocket:
        token = token_source(args.token, lambda: session.client("ssm", endpoint_url=endpoint))
        websocket = WebSocketPath(lambda: with_token(args.ws_url, token()))
    return Shipper(kinesis, websocket, partition_key=key_mode), session, endpoint


def produce_main(argv: list[str]) -> int:
    """Ship controller presses (or simulated players) to Kinesis and the WebSocket."""
    parser = argparse.ArgumentParser(prog="tumble produce", description=produce_main.__doc__)
    parser.add_argument("--simulate", type=int, default=0, metavar="N", help="N fake players")
    parser.add_argument("--rate", type=float, default=10.0, help="presses per player per second")
    parser.add_argument("--seed", type=int, default=None, help="repeatable simulated runs")
    parser.add_argument(
        "--partition-key",
        choices=PARTITION_KEY_MODES,
        default="color",
        help="color keeps each player in order; random spreads load (default color)",
    )
    parser.add_argument(
        "--linger-ms", type=float, default=50.0, help="longest wait to fill a Kinesis call"
    )
    parser.add_argument("--replay", type=Path, default=None, help="resend a dead-letter file")
    parser.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    parser.add_argument(
        "--bucket", default=None, help="where recordings go (default: $UPLOAD_BUCKET)"
    )
    _common(parser)
    args = parser.parse_args(argv)
    if args.simulate and not 1 <= args.simulate <= 4:
        parser.error("--simulate takes 1 to 4 players")
    if args.rate <= 0 or args.linger_ms < 0:
        parser.error("--rate must be positive and --linger-ms not negative")
    replay: Replay | None = None
    if args.replay is not None:
        try:
            replay = Replay(args.replay, args.dead_letter)
        except (OSError, DeadLetterError) as error:
            print(f"tumble produce: cannot replay: {error}", file=sys.stderr)
            return 2
        args.dead_letter = replay.spill_to  # the source is only read until the end
        args.no_websocket = True  # the WebSocket path delivered these already
    try:
        shipper, session, endpoint = _build(args, args.linger_ms / 1000, args.partition_key)
    except ConfigProblem as error:
        print(f"tumble produce: {error}", file=sys.stderr)
        return 2
    return asyncio.run(_produce(args, shipper, session, endpoint, replay))


async def _produce(
    args: argparse.Namespace,
    shipper: Shipper,
    session: Any,
    endpoint: Any,
    replay: Replay | None,
) -> int:
    from .simulate import run_players

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if args.duration is not None:
        loop.call_later(args.duration, stop.set)
    shipper.start()
    source: asyncio.Future[Any]
    if replay is not None:
        source = loop.create_task(_replay(shipper, replay))
    elif args.simulate:
        source = loop.create_task(
            run_players(args.simulate, args.rate, args.seed, shipper.submit, stop)
        )
    else:
        source = loop.create_task(_controllers(shipper, stop, session, endpoint, args.bucket))
    waiter = loop.create_task(stop.wait())
    await asyncio.wait({source, waiter}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    await asyncio.gather(source, waiter, return_exceptions=True)
    print("producer: flushing...", file=sys.stderr, flush=True)
    summary = await shipper.close(args.flush_timeout)
    for line in summary.lines():
        print(f"producer: {line}", file=sys.stderr, flush=True)
    submitted_all = source.done() and not source.cancelled() and source.exception() is None
    if replay is not None and submitted_all and not summary.lost:
        remaining = replay.finish()
        print(
            f"producer: {replay.source} now holds {remaining} records", file=sys.stderr, flush=True
        )
    elif replay is not None and replay.in_place:
        print(
            f"producer: {replay.source} left whole (not every record was acknowledged or "
            "spilled again); replaying it again is safe",
            file=sys.stderr,
            flush=True,
        )
    if summary.spilled:
        target = replay.source if replay is not None else args.dead_letter
        print(f"producer: replay with --replay {target}", file=sys.stderr, flush=True)
    if summary.lost:
        return 1
    if source.done() and not source.cancelled() and source.exception() is not None:
        print(f"producer: stopped by {source.exception()!r}", file=sys.stderr)
        return 1
    return 0


async def _replay(shipper: Shipper, replay: Replay) -> None:
    # The source file is not touched here: its lines go only once each is acknowledged or
    # spilled again (Replay.finish, after the shipper has closed).
    for item in replay.records:
        await shipper.submit(item.event, websocket=False)
    count = len(replay.records)
    print(f"producer: replaying {count} records from {replay.source}", file=sys.stderr, flush=True)


async def _controllers(
    shipper: Shipper, stop: asyncio.Event, session: Any, endpoint: Any, bucket: str | None
) -> None:
    from .controllers import run_controllers
    from .recording import Recorder, combination_hook

    s3 = session.client("s3", endpoint_url=endpoint)
    try:
        recorder: Recorder | None = Recorder(s3, upload_bucket(bucket))
    except ConfigProblem as error:  # no bucket name: play on without recording
        print(f"producer: recording disabled: {error}", file=sys.stderr, flush=True)
        recorder = None
    await run_controllers(shipper.submit, stop, combination_hook(recorder))


def parse_fields(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs; a value is JSON when it parses as JSON, else the text itself."""
    fields: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{pair!r} is not key=value")
        try:
            fields[key] = json.loads(text)
        except json.JSONDecodeError:
            fields[key] = text
    return fields


def emit_main(argv: list[str]) -> int:
    """Send one event of any type on both paths, e.g. `tumble emit DashClick event=toggle-game
    click_type=SINGLE`."""
    parser = argparse.ArgumentParser(prog="tumble emit", description=emit_main.__doc__)
    parser.add_argument("type", metavar="TYPE", help=", ".join(t.value for t in EventType))
    parser.add_argument("fields", nargs="*", metavar="key=value")
    _common(parser)
    args = parser.parse_args(argv)
    try:
        fields = parse_fields(args.fields)
        if args.type == EventType.NES_CLICK:
            fields.setdefault(MessageField.SOURCE, Source.WEBSOCKET.value)
        event = Event.create(args.type, fields)
    except (ValueError, ValidationError) as error:
        print(f"tumble emit: {error}", file=sys.stderr)
        return 2
    try:
        shipper, _, _ = _build(args, 0.0, "color")
    except ConfigProblem as error:
        print(f"tumble emit: {error}", file=sys.stderr)
        return 2
    summary = asyncio.run(_emit(shipper, event, args.flush_timeout))
    print(event.event_id)
    expected_ws = 0 if args.no_websocket else 1
    ok = summary.kinesis_sent == 1 and summary.websocket_unanswered == expected_ws
    if not ok:
        for line in summary.lines():
            print(f"tumble emit: {line}", file=sys.stderr)
    return 0 if ok else 1


async def _emit(shipper: Shipper, event: Event, timeout_s: float) -> Any:
    shipper.start()
    await shipper.submit(event)
    return await shipper.close(timeout_s)


if __name__ == "__main__":
    sys.exit(produce_main(sys.argv[1:]))
