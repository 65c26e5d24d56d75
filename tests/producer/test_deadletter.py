from __future__ import annotations

import json
from pathlib import Path

import pytest

from messages import event_body
from producer.deadletter import DeadLetter, DeadLetterError, read_dead_letters
from producer.simulate import nes_click


def test_spilled_records_read_back_with_their_ids(tmp_path: Path):
    path = tmp_path / "sub" / "dead.jsonl"
    letters = DeadLetter(path)
    events = [nes_click("red", "A"), nes_click("blue", "B")]
    for event in events:
        letters.write(event, event.message["color"], "InternalFailure", 8)
    path.write_text(path.read_text() + "\n")  # a blank line is skipped
    back = list(read_dead_letters(path))
    assert [s.event for s in back] == events
    assert [(s.partition_key, s.error, s.attempts) for s in back] == [
        ("red", "InternalFailure", 8),
        ("blue", "InternalFailure", 8),
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({"event": {"MessageType": "Nope"}, "partition_key": "k"}), "unknown event"),
        (json.dumps({"event": event_body(nes_click("red", "A"))}), "partition_key"),
        (
            json.dumps(
                {"event": event_body(nes_click("red", "A")), "partition_key": "k", "attempts": "x"}
            ),
            "attempts",
        ),
    ],
)
def test_a_bad_line_is_reported_with_its_number(tmp_path: Path, line: str, problem: str):
    path = tmp_path / "dead.jsonl"
    good = json.dumps({"event": event_body(nes_click("red", "A")), "partition_key": "red"})
    path.write_text(f"{good}\n{line}\n")
    with pytest.raises(DeadLetterError, match=problem) as caught:
        list(read_dead_letters(path))
    assert caught.value.line == 2 and str(caught.value).startswith(f"{path}:2:")
