"""The watcher's live screen: recent events above, latency per path below."""

from __future__ import annotations

import json

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from messages import Source, Subscription
from messages.envelopes import FRAME_EVENT_ID, FRAME_MESSAGE_TYPE, FRAME_PAYLOAD

from .watch_model import WatchState

__all__ = ["render"]

PATH_STYLE = {Source.WEBSOCKET.value: "bright_blue", Source.KINESIS.value: "magenta"}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _events(state: WatchState) -> Table:
    table = Table(title="recent events", expand=True, title_justify="left")
    table.add_column("type", no_wrap=True)
    table.add_column("path", no_wrap=True)
    table.add_column("latency ms", justify="right")
    table.add_column("event id", no_wrap=True)
    table.add_column("payload", overflow="fold")
    for received in reversed(state.recent):
        frame = received.frame
        path = received.source or "?"
        payload = frame.get(FRAME_PAYLOAD)
        table.add_row(
            str(frame.get(FRAME_MESSAGE_TYPE)),
            Text(path, style=PATH_STYLE.get(path, "")),
            _ms(received.latency_ms) + (" dup" if received.duplicate else ""),
            str(frame.get(FRAME_EVENT_ID))[:12],
            json.dumps(payload, separators=(",", ":")),
        )
    return table


def _latency(state: WatchState) -> Table:
    table = Table(title="latency per path, last 100 events (ms)", title_justify="left")
    for column in ("path", "events", "duplicates", "p50", "p90", "p99"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for path, window in state.latency.items():
        summary = window.summary()
        table.add_row(
            Text(path, style=PATH_STYLE.get(path, "")),
            str(window.count),
            str(state.duplicates[path]),
            _ms(summary["p50"]),
            _ms(summary["p90"]),
            _ms(summary["p99"]),
        )
    return table


def render(state: WatchState, url: str, subscriptions: list[Subscription]) -> RenderableType:
    wanted = ", ".join(
        s.event_type.value
        + (f" {s.filter_field}={s.filter_expr}" if s.filter_field else "")
        + (f" [{','.join(s.desired_fields)}]" if s.desired_fields else "")
        for s in subscriptions
    )
    status = "subscribed" if state.subscribed is not None else "connecting"
    header = Text.assemble(
        ("tumble watch ", "bold"),
        (url, "cyan"),
        f"  {status}: {wanted}  events {state.events}  invalid {state.invalid}",
    )
    return Group(header, _events(state), _latency(state))
