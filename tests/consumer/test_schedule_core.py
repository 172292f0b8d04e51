"""The pure scheduling decisions: which wall-clock minutes to check, and slot keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huey._core import (
    MAX_CATCH_UP_MINUTES,
    minute_start,
    minutes_to_check,
    periodic_slot_key,
    skipped_minutes,
)
from tests.conftest import START

M = 60.0


def test_minute_start_aligns_down() -> None:
    """A time inside a minute maps to that minute's start."""
    assert minute_start(START + 59.9) == START
    assert minute_start(START + 60) == START + M


def test_first_check_is_the_current_minute() -> None:
    """With nothing checked yet, only the current minute is checked."""
    assert minutes_to_check(None, START + 42.5) == (START,)


def test_same_minute_is_not_checked_twice() -> None:
    """A second iteration inside the same minute checks nothing."""
    assert minutes_to_check(START, START + 30) == ()
    assert minutes_to_check(START, START + 59.999) == ()


def test_next_minute_is_checked_once() -> None:
    """Crossing into the next minute checks exactly that minute."""
    assert minutes_to_check(START, START + 60.0) == (START + M,)
    assert minutes_to_check(START, START + 61.0) == (START + M,)


def test_stall_catches_up_every_missed_minute_in_order() -> None:
    """After a short stall the missed minutes are all checked, oldest first."""
    assert minutes_to_check(START, START + 3 * M + 5) == (START + M, START + 2 * M, START + 3 * M)


def test_clock_stepping_back_checks_nothing_until_it_passes_again() -> None:
    """A backward clock step never re-checks a minute already checked."""
    last = START + 10 * M
    assert minutes_to_check(last, START + 2 * M) == ()
    assert minutes_to_check(last, last + 1) == ()
    assert minutes_to_check(last, last + M) == (last + M,)


def test_big_jump_is_capped_to_the_catch_up_limit() -> None:
    """A jump of hours replays at most the catch-up limit, ending at the current minute."""
    now = START + 180 * M + 7
    minutes = minutes_to_check(START, now)
    assert len(minutes) == MAX_CATCH_UP_MINUTES + 1
    assert minutes[-1] == START + 180 * M
    assert skipped_minutes(START, minutes) == 180 - 1 - MAX_CATCH_UP_MINUTES


def test_catch_up_limit_zero_checks_only_the_current_minute() -> None:
    """With no catch-up the current minute alone is checked and the rest is skipped."""
    minutes = minutes_to_check(START, START + 5 * M, max_catch_up=0)
    assert minutes == (START + 5 * M,)
    assert skipped_minutes(START, minutes) == 4


def test_negative_catch_up_is_rejected() -> None:
    """A negative catch-up limit is a programming error with a clear message."""
    with pytest.raises(ValueError, match="max_catch_up"):
        minutes_to_check(START, START + M, max_catch_up=-1)


def test_unaligned_last_checked_is_aligned() -> None:
    """A last-checked value inside a minute counts as that minute."""
    assert minutes_to_check(START + 12, START + 70) == (START + M,)


def test_nothing_skipped_when_nothing_missed() -> None:
    """Consecutive minutes skip nothing, as does the first check."""
    assert skipped_minutes(START, (START + M,)) == 0
    assert skipped_minutes(None, (START,)) == 0
    assert skipped_minutes(START, ()) == 0


def test_slot_key_is_the_same_for_every_consumer_and_moment_in_the_minute() -> None:
    """Two consumers checking the same minute compute the same slot key."""
    first = periodic_slot_key("app", "tasks.report", START + 1)
    second = periodic_slot_key("app", "tasks.report", START + 59)
    assert first == second
    assert first != periodic_slot_key("app", "tasks.report", START + M)
    assert first != periodic_slot_key("other", "tasks.report", START)
    assert first != periodic_slot_key("app", "tasks.other", START)


@given(
    start=st.floats(min_value=1e9, max_value=2e9),
    steps=st.lists(st.floats(min_value=-600, max_value=900), min_size=1, max_size=40),
)
def test_a_simulated_clock_never_checks_a_minute_twice(start: float, steps: list[float]) -> None:
    """Whatever the clock does, checked minutes strictly increase and are aligned."""
    now = start
    last: float | None = None
    seen: list[float] = []
    for step in steps:
        now += step
        minutes = minutes_to_check(last, now)
        for minute in minutes:
            assert minute % 60 == 0
            assert minute <= now
        seen.extend(minutes)
        if minutes:
            last = minutes[-1]
    assert seen == sorted(set(seen))


@given(
    start=st.floats(min_value=1e9, max_value=2e9),
    steps=st.lists(st.floats(min_value=0.01, max_value=120), min_size=1, max_size=60),
)
def test_a_forward_clock_with_small_stalls_checks_every_minute(
    start: float, steps: list[float]
) -> None:
    """Moving forward by less than the catch-up window, no minute is skipped."""
    now = start
    last: float | None = None
    seen: list[float] = []
    for step in steps:
        now += step
        minutes = minutes_to_check(last, now)
        seen.extend(minutes)
        if minutes:
            last = minutes[-1]
    first = minute_start(start + steps[0])
    expected = [first + 60 * index for index in range(int((minute_start(now) - first) // 60) + 1)]
    assert seen == expected
