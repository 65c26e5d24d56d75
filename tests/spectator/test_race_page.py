"""The race page in Debian's Chromium (Playwright) against a running local stack: it loads,
subscribes, plays a race to its winner from events on both paths, and shows the latency of
each path, with the players' pictures relayed from the upload bucket. A screenshot is kept in
test-artifacts/race.png."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from messages import Event
from serverless_model.service import Service
from spectator.page import DEFAULT_DIST

from .conftest import RunningGateway
from .pictures import tiny_png
from .stack import ROOT, Process, start_page, upload_bucket

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
TARGET = ("UP", "DOWN", "A", "B")
# Sequences each colour completes; only red reaches 40 (blue's power-up boosts give it
# at most 24 + 2 * 5 = 34).
SEQUENCES = {"red": 40, "blue": 24, "green": 16, "yellow": 8}
PHOTO_KEY = "photo-uploads/ada.png"
AVATAR_KEY = "cropped/ada-face.png"


# Keeps every value the connection state takes, so a quick reconnect is not missed.
RECORD_STATES = """() => {
  const node = document.querySelector('[data-testid=connection-state]');
  window.connectionStates = [];
  new MutationObserver(() => window.connectionStates.push(node.dataset.state))
    .observe(node, {attributes: true, attributeFilter: ['data-state']});
}"""


def _press(color: str, button: str) -> Event:
    return Event.create("NESClick", {"color": color, "button": button, "source": "websocket"})


def _presses(presses: list[tuple[str, str]]) -> list[Event]:
    return [_press(c, b) for c, b in presses]


def race_rounds(bucket: str) -> list[Callable[[], list[Event]]]:
    """Who the players are, then round by round one press from each colour still racing;
    green fumbles now and then."""
    photo = {"bucket": bucket, "key": PHOTO_KEY, "emotion": "SURPRISED", "confidence": 93.5}
    rounds: list[Callable[[], list[Event]]] = [
        lambda: [
            Event.create("TranscribeEvent", {"transcribed_text": "Ada"}),
            Event.create("PhotoUpload", photo),
            Event.create("PhotoCropped", {"bucket": bucket, "key": AVATAR_KEY}),
        ]
    ]
    plays: dict[str, list[str]] = {}
    for color, sequences in SEQUENCES.items():
        buttons: list[str] = []
        for n in range(sequences):
            if color == "green" and n % 5 == 4:
                buttons += ["LEFT", "RIGHT", "LEFT", "RIGHT", "LEFT"]
            buttons += TARGET
        plays[color] = buttons
    for step in range(max(len(b) for b in plays.values())):
        presses = [(color, b[step]) for color, b in plays.items() if step < len(b)]
        rounds.append(functools.partial(_presses, presses))
    return rounds


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    if not (DEFAULT_DIST / "index.html").is_file():
        pytest.skip(f"the race page is not built ({DEFAULT_DIST}): run `make web`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def bucket(tumble_service: Service, aws_client: Callable[[str], Any]) -> str:
    """The stage's upload bucket, holding Ada's photo and avatar."""
    name = upload_bucket(tumble_service)
    s3 = aws_client("s3")
    s3.put_object(Bucket=name, Key=PHOTO_KEY, Body=tiny_png(), ContentType="image/png")
    s3.put_object(Bucket=name, Key=AVATAR_KEY, Body=tiny_png((0, 0, 255)), ContentType="image/png")
    return name


@pytest.fixture
def page_server(gateway: RunningGateway, bucket: str, tmp_path: Path) -> Iterator[str]:
    process: Process
    process, url = start_page(tmp_path, gateway.url, bucket)
    try:
        yield url
    finally:
        process.stop()


def test_a_race_reaches_its_winner(
    chromium: object, gateway: RunningGateway, bucket: str, page_server: str
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(chromium, Browser)
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(page_server)
        state = page.get_by_test_id("connection-state")
        expect(state).to_have_attribute("data-state", "live", timeout=15_000)
        expect(page.get_by_test_id("lane-red")).to_be_visible()

        gateway.shipper.paced(race_rounds(bucket))

        banner = page.get_by_test_id("winner-banner")
        expect(banner).to_be_visible(timeout=40_000)
        expect(banner).to_have_text("SURPRISED Ada WINS!")
        expect(page.get_by_test_id("lane-red")).to_have_attribute("data-winner", "true")
        assert int(page.get_by_test_id("score-red").inner_text()) >= 40
        assert int(page.get_by_test_id("score-blue").inner_text()) < 40
        expect(page.get_by_test_id("mood-red")).to_have_text("SURPRISED 94%")
        for picture in ("photo-red", "avatar-image-red"):
            image = page.get_by_test_id(picture)
            expect(image).to_have_attribute("data-state", "loaded")
            expect(image).to_be_visible()
            assert image.evaluate("img => img.naturalWidth") > 0
        expect(page.get_by_test_id("photo-red")).to_have_attribute(
            "alt", "Ada's photo: SURPRISED 94%"
        )
        expect(page.get_by_test_id("photo-blue")).to_be_hidden()
        for path in ("websocket", "kinesis"):
            # The Kinesis copies trail the WebSocket ones: wait for them to show.
            expect(page.get_by_test_id(f"events-{path}")).not_to_have_text("0", timeout=20_000)
            for stat in ("median", "p99"):
                expect(page.get_by_test_id(f"latency-{path}-{stat}")).to_have_text(
                    re.compile(r"^\d+(\.\d)? ms$")
                )
        expect(page.get_by_test_id("duplicates-websocket")).to_have_text("0")
        expect(state).to_have_attribute("data-state", "live")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "race.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


def test_the_page_ignores_duplicates_and_reconnects_by_itself(
    chromium: object, gateway: RunningGateway, bucket: str, page_server: str
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(chromium, Browser)
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto(page_server)
        state = page.get_by_test_id("connection-state")
        expect(state).to_have_attribute("data-state", "live", timeout=15_000)
        press = _press("red", "UP")
        gateway.shipper.websocket([press, press])
        expect(page.get_by_test_id("duplicates-websocket")).to_have_text("1")
        expect(page.get_by_test_id("events-websocket")).to_have_text("1")
        expect(page.get_by_test_id("presses-red")).to_have_text("▲")
        # A picture that cannot be fetched leaves the lane's text in place.
        lost = {"bucket": bucket, "key": "cropped/never-uploaded.png"}
        gateway.shipper.websocket([Event.create("PhotoCropped", lost)])
        expect(page.get_by_test_id("avatar-image-red")).to_have_attribute("data-state", "failed")
        expect(page.get_by_test_id("avatar-image-red")).to_be_hidden()
        expect(page.get_by_test_id("avatar-red")).to_have_text("R")
        pause = Event.create("DashClick", {"event": "toggle-game", "click_type": "SINGLE"})
        gateway.shipper.both([pause])
        expect(page.get_by_test_id("game-state")).to_have_text("paused")

        page.evaluate(RECORD_STATES)
        gateway.restart()
        # The page sees the drop, and connects and subscribes again by itself.
        expect(state).to_have_attribute("data-state", "live", timeout=30_000)
        states = page.evaluate("() => window.connectionStates")
        assert "reconnecting" in states and states[-1] == "live", states
        reset = Event.create("DashClick", {"event": "toggle-game", "click_type": "DOUBLE"})
        blue = [lambda b=b: [_press("blue", b)] for b in TARGET]
        gateway.shipper.paced([lambda: [reset], *blue])
        expect(page.get_by_test_id("game-state")).to_have_text("running")
        expect(page.get_by_test_id("score-blue")).to_have_text("1")
        expect(page.get_by_test_id("presses-red")).to_have_text("")
    finally:
        context.close()
