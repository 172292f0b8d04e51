"""Scenario 1: consumers SIGKILLed at random moments under load.

Two consumers of four workers each drain the queue while the harness kills one of them
(its whole process group) at random moments and starts it again. Nothing may be lost,
no task may be settled twice, and the re-runs are bounded by what the kills cut short.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import pytest

from .conftest import Target
from .harness import DEEP, SEEDS, App, keys, record, wait_until

pytestmark = pytest.mark.integration

WORKERS = 4
TASKS = 3000 if DEEP else 800
KILLS = 10 if DEEP else 4


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("worker_type", ["thread", "process"])
def test_sigkilled_consumers_lose_nothing(
    tmp_path: Path, target: Target, worker_type: str, seed: int
) -> None:
    """lost = 0, dup_effect = 0, extra_exec <= kills x workers."""
    rng = random.Random(seed)
    app = App(tmp_path, target.location, lease=1.5)
    work = keys("k", TASKS)
    app.enqueue_work(work, rng, 20)
    args = ("-w", str(WORKERS), "-k", worker_type)
    consumers = [app.consumer(*args), app.consumer(*args)]
    kills: list[tuple[float, int]] = []
    started = time.monotonic()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 0.8))
            victim = rng.choice(consumers)
            kills.append(victim.kill())
            victim.start()
        wait_until(lambda: app.ledger.ended() >= set(work), 120, "every task to run")
        for consumer in consumers:
            consumer.signal(signal.SIGINT)  # graceful: running settles complete
        for consumer in consumers:
            assert consumer.wait(30) is not None, "a consumer did not stop on SIGINT"
    finally:
        app.stop_all()
    counters = app.counters(work, kills)
    record(
        f"sigkill-{target.kind}-{worker_type}",
        seed=seed,
        tasks=TASKS,
        kills=KILLS,
        wall_s=round(time.monotonic() - started, 2),
        **counters.as_dict(),
    )
    assert counters.lost == 0
    assert counters.dup_effect == 0
    assert counters.extra_exec <= KILLS * WORKERS
    assert counters.dead_lettered == 0
    assert app.in_flight() == 0
    assert app.huey.pending_count() == 0
