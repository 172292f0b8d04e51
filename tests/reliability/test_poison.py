"""Scenario 4: poison tasks that kill their own worker, with thread workers.

A task that kills its process takes the tasks of the other worker threads down with
it. Only the poison may reach the dead letters: the innocent tasks redelivered with it
run alone (see ``huey.consumer._isolation``) and complete.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Target
from .harness import App, keys, record, supervise

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_only_the_poison_reaches_the_dead_letters(tmp_path: Path, target: Target, how: str) -> None:
    """os._exit / SIGKILL to self: delivered max_deliveries times, then dead-lettered alone."""
    app = App(tmp_path, target.location, lease=1.0, max_deliveries=3)
    innocent = keys("w", 16)
    for key in innocent[:8]:
        app.ids[key] = app.work(key, 400).id
    app.poison("p", how)
    for key in innocent[8:]:
        app.ids[key] = app.work(key, 400).id
    consumer = app.consumer("-w", "4")

    def finished() -> bool:
        # Every message either completed or dead-lettered.
        done = len(app.ledger.ended() & set(innocent)) + len(app.huey.dead_letters())
        return done == len(innocent) + 1

    try:
        deaths = list(supervise(consumer, finished, 90))
    finally:
        app.stop_all()
    counters = app.counters(innocent)
    letters = app.huey.dead_letters()
    record(f"poison-{how}-{target.kind}-thread", deaths=len(deaths), **counters.as_dict())
    assert [letter.deliveries for letter in letters] == [3], "only the poison is dead-lettered"
    assert len(deaths) == 3, "the poison kills its consumer on each of its 3 deliveries"
    assert app.huey.engine.decode_task(letters[0].data).name == "poison"
    assert "max_deliveries=3" in letters[0].reason
    assert app.ledger.starts()["p"] == 3
    assert counters.lost == 0
    assert app.in_flight() == 0
