"""The one clock: tests and the demo move it, set it, and put it back as it was."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from resolver import clock

from .conftest import START


def test_a_frozen_clock_is_set_and_stays_there(frozen_clock):
    moment = START + timedelta(days=3, minutes=1)
    assert clock.move_to(moment) == moment
    assert clock.now_utc() == moment
    assert clock.advance(timedelta(hours=1)) == moment + timedelta(hours=1)


def test_a_running_clock_runs_on_from_where_it_was_set():
    try:
        moment = datetime(2031, 5, 1, 12, tzinfo=timezone.utc)
        clock.move_to(moment)
        assert timedelta(0) <= clock.now_utc() - moment < timedelta(seconds=5)
    finally:
        clock.reset()
    assert abs(clock.now_utc() - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_the_clock_is_put_back_after_a_block_whatever_it_did(frozen_clock):
    with clock.kept():
        clock.reset()
        clock.advance(timedelta(days=30))
    assert clock.now_utc() == START
    with pytest.raises(RuntimeError), clock.kept():
        clock.freeze(START + timedelta(days=1))
        raise RuntimeError("a step failed")
    assert clock.now_utc() == START


def test_the_clock_holds_only_aware_moments(frozen_clock):
    with pytest.raises(ValueError):
        clock.move_to(datetime(2026, 3, 13, 9, 0))
