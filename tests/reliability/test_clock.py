"""Scenario 7: wall-clock steps of +1 h and -1 h under an injected clock.

Two consumers' schedulers share one SQLite file and both enqueue periodic tasks. Their
wall clocks jump forward an hour, then back an hour (the second consumer restarts at
the backward step, forgetting what it checked). Every minute slot that a clock showed,
and every missed minute the scheduler catches up, is enqueued exactly once.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from typing_extensions import override

from huey import Huey, SqliteHuey, crontab
from huey._core import minute_start
from huey.consumer import check_options
from huey.consumer._environment import PipeFlag
from huey.consumer._worker import Scheduler
from huey.testing import MockClock

from .harness import record

START = 1_767_225_600.0  # 2026-01-01 00:00 UTC
STEP = 20.0  # seconds between scheduler iterations
HOUR = 3600.0


class _Recording(Scheduler):
    """A scheduler that counts the periodic tasks it enqueues per minute slot."""

    def __init__(self, huey: Huey[Any], enqueued: Counter[float]) -> None:
        super().__init__(huey, check_options(), PipeFlag())
        self.enqueued = enqueued

    @override
    def enqueue_periodic_minute(self, minute: float) -> int:
        count = super().enqueue_periodic_minute(minute)
        self.enqueued[minute] += count
        return count


def _app(path: Path, clock: MockClock) -> Huey[Any]:
    app: Huey[Any] = SqliteHuey("clock", filename=path, clock=clock)

    @app.periodic_task(crontab(), name="tick")
    def tick() -> None:
        return None

    return app


def _offset(elapsed: float, lag: float) -> float:
    """The wall clock's error: +1 h from minute 40 to minute 100, none otherwise."""
    return HOUR if 40 * 60 + lag <= elapsed < 100 * 60 + lag else 0.0


def test_each_periodic_slot_is_enqueued_once_across_clock_steps(tmp_path: Path) -> None:
    """+1 h and -1 h steps, two consumers, one restarted: no slot twice, none shown missed."""
    path = tmp_path / "clock.db"
    clocks = (MockClock(start=START), MockClock(start=START + 7.0))
    apps = [_app(path, clock) for clock in clocks]
    enqueued: Counter[float] = Counter()
    schedulers = [_Recording(app, enqueued) for app in apps]
    shown: set[float] = set()
    elapsed = 0.0
    while elapsed < 3 * HOUR:
        for index, (clock, app) in enumerate(zip(clocks, apps, strict=True)):
            lag = 10.0 * index  # the second consumer sees each step 10 s later
            before = _offset(elapsed - STEP, lag)
            now = START + 7.0 * index + elapsed + _offset(elapsed, lag)
            if index == 1 and before and not _offset(elapsed, lag):
                schedulers[1] = _Recording(app, enqueued)  # restarted at the backward step
            clock.now = now
            schedulers[index].loop(now)
            shown.add(minute_start(now))
        elapsed += STEP
    record(
        "clock-steps",
        slots=len(enqueued),
        shown=len(shown),
        duplicates=sum(1 for count in enqueued.values() if count > 1),
    )
    assert all(count == 1 for count in enqueued.values()), "a slot was enqueued twice"
    assert shown <= set(enqueued), "a minute a clock showed was never enqueued"
    assert apps[0].pending_count() == sum(enqueued.values())
