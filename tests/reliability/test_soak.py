"""Two minutes of `make local`'s load (four players at 10 presses/s on both paths, one
spectator of every press): each part's memory stays flat. Ten minutes: `tumble bench soak`."""

from __future__ import annotations

import pytest

from benchmarks.soak import MAX_GROWTH, run_soak


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_minutes_at_the_race_load_keep_every_part_flat():
    result = run_soak(duration_s=120, warmup_s=30)
    report = "\n".join(result.lines())
    assert result.restarts == 0, report
    assert result.frames > 120 * 40, report  # the load really ran: ~80 frames/s expected
    for part in result.parts:
        assert len(part.samples) > 30, report
        assert result.growth(part) <= MAX_GROWTH, report
