"""`tumble watch` against the real gateway and processor: it receives exactly the events its
filter selects, projected to the fields it asked for, from both paths."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter

import pytest

from messages import Event, Source, Subscription
from spectator.auth import viewer_token
from spectator.watch import WatchEnded, watch
from spectator.watch_model import WatchState

from .conftest import RunningGateway
from .stack import ROOT, SECRET, stack_env, start_gateway

pytestmark = pytest.mark.slow


def _press(color: str, button: str) -> Event:
    return Event.create("NESClick", {"color": color, "button": button, "source": "websocket"})


def test_watch_receives_exactly_the_filtered_projected_events(gateway: RunningGateway) -> None:
    wanted = [_press("red", "UP"), _press("red", "A")]
    unwanted = [
        _press("blue", "UP"),
        _press("green", "B"),
        Event.create("DashClick", {"event": "toggle-game", "click_type": "SINGLE"}),
        Event.create("TranscribeEvent", {"transcribed_text": "red"}),
    ]
    sentinel = _press("red", "START")
    events = [unwanted[0], wanted[0], *unwanted[1:], wanted[1], sentinel]
    expected = Counter(
        (e.event_id, source.value, json.dumps({"color": "red", "button": e.message["button"]}))
        for e in [*wanted, sentinel]
        for source in Source
    )
    argv = [sys.executable, "-m", "tumble", "watch", "--types", "NESClick,DashClick"]
    argv += ["--filter", "color=red", "--fields", "color,button", "--json", "--url", gateway.url]
    # DashClick has no `color`: the filter must be rejected for it, before connecting.
    refused = subprocess.run(argv, cwd=ROOT, env=stack_env(), capture_output=True, text=True)
    assert refused.returncode == 2
    assert "is not a field of DashClick" in refused.stderr
    argv[4:6] = ["--types", "NESClick"]
    argv += ["--count", str(sum(expected.values()))]
    watcher = subprocess.Popen(
        argv, cwd=ROOT, env=stack_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert watcher.stderr is not None
        note = watcher.stderr.readline()
        assert "subscribed (1 subscriptions)" in note, note + watcher.stderr.read()
        gateway.shipper.both(events)
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
    assert watcher.returncode == 0, err + gateway.process.tail()
    frames = [json.loads(line) for line in out.splitlines()]
    received = Counter((f["event_id"], f["source"], json.dumps(f["payload"])) for f in frames)
    assert received == expected
    assert all(f["message_type"] == "NESClick" for f in frames)


def test_a_quiet_watch_outlives_the_idle_timeout(tumble_service, tmp_path) -> None:
    """API Gateway drops a connection with no message for its idle timeout; the watch keeps its
    own alive by re-subscribing, so a quiet game does not end it."""
    process, url = start_gateway(tmp_path, None, "--idle-timeout", "1")
    subscriptions = [Subscription.from_dict({"event_type": "NESClick"})]

    async def quiet_watch(keepalive_s: float) -> None:
        token = viewer_token(SECRET.encode())
        await asyncio.wait_for(
            watch(url, token, subscriptions, lambda _: None, WatchState(), None, keepalive_s), 2.5
        )

    try:
        with pytest.raises(TimeoutError):  # still watching after 2.5 idle-timeouts' worth
            asyncio.run(quiet_watch(keepalive_s=0.3))
        with pytest.raises(WatchEnded, match="close code 1001"):  # the control: no keepalive
            asyncio.run(quiet_watch(keepalive_s=30))
    finally:
        process.stop()
