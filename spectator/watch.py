"""`tumble watch`: subscribe to live events and show them, with latency per path.

A live rich table by default; `--json` prints one frame per line for piping. A refused or lost
connection ends the watch with a message and exit code 1 (a rejected subscription: 2), so a
script can tell "nothing happened" from "could not watch"."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from typing import IO

import aiohttp

from messages import (
    STATUS_ERROR,
    STATUS_SUBSCRIBED,
    Subscription,
    ValidationError,
    subscribe_envelope,
)
from messages.local import LOCAL_WS_URL
from messages.tokens import with_token

from .auth import SecretMissing, resolve_secret, viewer_token
from .watch_model import WatchState, build_subscriptions, describe_error, frame_json
from .watch_view import render

__all__ = ["EXIT_CONNECTION", "EXIT_OK", "EXIT_USAGE", "KEEPALIVE_S", "main", "watch"]

EXIT_OK = 0
EXIT_CONNECTION = 1
EXIT_USAGE = 2
DEFAULT_URL = LOCAL_WS_URL
# How long the gateway may take to confirm a subscription before we call it lost.
SUBSCRIBE_TIMEOUT_S = 10.0
# API Gateway closes a connection that carries no message for 10 minutes (pings do not count);
# a quiet watch re-sends its subscription (idempotent) well before that.
KEEPALIVE_S = 300.0


class WatchEnded(Exception):
    """Why the watch stopped early; carries the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tumble watch", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--types", type=_csv, default=[], help="event types, comma-separated (default: all five)"
    )
    parser.add_argument("--filter", default=None, metavar="FIELD=GLOB", help="e.g. color=red")
    parser.add_argument("--fields", type=_csv, default=None, help="fields to keep: color,button")
    parser.add_argument("--json", action="store_true", help="one frame per line, no table")
    parser.add_argument("--url", default=DEFAULT_URL, help=f"gateway URL (default {DEFAULT_URL})")
    parser.add_argument(
        "--token",
        default=None,
        help="viewer token (default: signed here with $TUMBLE_TOKEN_SECRET or the local stack's)",
    )
    parser.add_argument("--count", type=int, default=None, help="stop after this many events")
    parser.add_argument(
        "--batched",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="ask for one frame per Kinesis batch instead of one per event (default: batched)",
    )
    return parser


def _now_ms() -> float:
    return time.time() * 1000


async def watch(
    url: str,
    token: str,
    subscriptions: list[Subscription],
    on_event: Callable[[WatchState], None],
    state: WatchState,
    count: int | None = None,
    keepalive_s: float = KEEPALIVE_S,
    batched: bool = True,
) -> None:
    """Connect, subscribe, and feed frames to `state` until `count` events, Ctrl-C, or a
    failure (WatchEnded). `batched`: the Kinesis path's events come a batch per frame, each
    event shown on its own as before."""
    timeout = aiohttp.ClientWSTimeout(ws_close=2.0)
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(with_token(url, token), timeout=timeout, autoping=True)
        except aiohttp.WSServerHandshakeError as exc:
            reason = "the token was refused" if exc.status in (401, 403) else exc.message
            raise WatchEnded(
                f"connection refused by {url}: HTTP {exc.status} ({reason})", EXIT_CONNECTION
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise WatchEnded(f"could not connect to {url}: {exc}", EXIT_CONNECTION) from exc
        async with ws:
            envelope = subscribe_envelope(subscriptions, batched=batched)
            await ws.send_str(envelope)
            await _confirm(ws, state, url)
            on_event(state)
            seen = 0
            while True:
                try:
                    message = await ws.receive(timeout=keepalive_s)
                except TimeoutError:
                    await ws.send_str(envelope)
                    continue
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                for received in state.receive_frames(message.data, _now_ms()):
                    if received.kind == STATUS_ERROR:
                        reason = describe_error(received.frame)
                        raise WatchEnded(f"the gateway said: {reason}", EXIT_USAGE)
                    if received.kind != "event":
                        continue
                    on_event(state)
                    seen += 1
                    if count is not None and seen >= count:
                        return
            raise WatchEnded(
                f"connection to {url} lost (close code {ws.close_code})", EXIT_CONNECTION
            )


async def _confirm(ws: aiohttp.ClientWebSocketResponse, state: WatchState, url: str) -> None:
    try:
        message = await ws.receive(timeout=SUBSCRIBE_TIMEOUT_S)
    except TimeoutError as exc:
        raise WatchEnded(f"{url} did not confirm the subscription", EXIT_CONNECTION) from exc
    if message.type != aiohttp.WSMsgType.TEXT:
        raise WatchEnded(
            f"connection to {url} lost before subscribing (close code {ws.close_code})",
            EXIT_CONNECTION,
        )
    received = state.receive(message.data, _now_ms())
    if received.kind == STATUS_ERROR:
        raise WatchEnded(f"subscription refused: {describe_error(received.frame)}", EXIT_USAGE)
    if received.kind != STATUS_SUBSCRIBED:
        raise WatchEnded(
            f"expected a subscription confirmation, got {message.data!r}", EXIT_CONNECTION
        )


def _print_json(out: IO[str], notes: IO[str]) -> Callable[[WatchState], None]:
    """Frames to `out`; the one-time "subscribed" note to `notes`, so a pipe gets only frames
    and a script can still wait for the subscription to be in place."""
    printed = 0

    def show(state: WatchState) -> None:
        nonlocal printed
        if state.events == 0:
            count = len(state.subscribed or [])
            notes.write(f"tumble watch: subscribed ({count} subscriptions)\n")
            notes.flush()
        elif state.events > printed and state.recent:
            printed = state.events
            out.write(frame_json(state.recent[-1].frame) + "\n")
            out.flush()

    return show


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        subscriptions = build_subscriptions(args.types, args.filter, args.fields)
    except ValidationError as exc:
        print(f"tumble watch: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.count is not None and args.count < 1:
        print("tumble watch: --count must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    token = args.token
    if token is None:
        try:
            token = viewer_token(resolve_secret(), subject="tumble-watch")
        except SecretMissing as exc:
            print(f"tumble watch: {exc}; or pass --token", file=sys.stderr)
            return EXIT_USAGE
    state = WatchState()
    try:
        if args.json:
            show = _print_json(sys.stdout, sys.stderr)
            asyncio.run(
                watch(args.url, token, subscriptions, show, state, args.count, batched=args.batched)
            )
        else:
            _run_live(args.url, token, subscriptions, state, args.count, args.batched)
    except WatchEnded as exc:
        print(f"tumble watch: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _run_live(
    url: str,
    token: str,
    subscriptions: list[Subscription],
    state: WatchState,
    count: int | None,
    batched: bool,
) -> None:
    from rich.live import Live

    with Live(render(state, url, subscriptions), refresh_per_second=8) as live:

        def update(current: WatchState) -> None:
            live.update(render(current, url, subscriptions))

        asyncio.run(watch(url, token, subscriptions, update, state, count, batched=batched))
