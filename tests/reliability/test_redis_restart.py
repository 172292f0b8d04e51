"""Scenario 2: Redis killed with SIGKILL and restarted while a producer and consumers run.

The server keeps an AOF with ``appendfsync always``. Every enqueue that returned must
run; an enqueue the server could not take raises a typed error (never a silent drop);
the consumers ride the outages out without being restarted.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from huey.storage.redis import RedisConnectionFailed
from tests.redis.conftest import RedisServer

from .harness import DEEP, SEEDS, App, Producer, record, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.redis]

TASKS = 2000 if DEEP else 300
RESTARTS = 6 if DEEP else 2


@pytest.mark.parametrize("seed", SEEDS)
def test_redis_restarts_lose_no_acknowledged_enqueue(
    tmp_path: Path, private_redis: Callable[..., RedisServer], seed: int
) -> None:
    """lost = 0 for acknowledged enqueues; typed errors; consumers never restarted."""
    rng = random.Random(seed)
    server = private_redis()
    app = App(tmp_path, server.url, lease=2.0)
    consumers = [app.consumer("-w", "4"), app.consumer("-w", "4")]
    producer = Producer(app, TASKS, rng).start()
    outages: list[float] = []
    try:
        for _ in range(RESTARTS):
            time.sleep(rng.uniform(0.4, 0.8))
            server.kill()
            down = rng.uniform(0.5, 1.0)
            time.sleep(down)
            server.start()
            outages.append(round(down, 3))
        producer.join(120)
        # One more outage, long enough for the client's retries to give up.
        server.kill()
        with pytest.raises(RedisConnectionFailed, match="cannot reach Redis"):
            app.work("during-outage", 0)
        server.start()
        wait_until(
            lambda: app.ledger.ended() >= set(producer.acknowledged), 120, "every task to run"
        )
        restarted = [consumer for consumer in consumers if len(consumer.logs) > 1]
        alive = all(consumer.alive() for consumer in consumers)
        for consumer in consumers:
            consumer.signal(signal.SIGINT)
        for consumer in consumers:
            assert consumer.wait(30) is not None
    finally:
        producer.stop()
        app.stop_all()
    counters = app.counters(producer.acknowledged)
    record(
        "redis-restart",
        seed=seed,
        tasks=TASKS,
        restarts=RESTARTS,
        outages_s=outages,
        acknowledged=len(producer.acknowledged),
        enqueue_errors=len(producer.errors),
        **counters.as_dict(),
    )
    assert alive, "the consumers ride the outages out"
    assert not restarted, "the consumers recover without a restart"
    assert all(isinstance(error, RedisConnectionFailed) for error in producer.errors)
    assert counters.lost == 0
    assert counters.dead_lettered == 0
    # A retried enqueue or settle (the reply lost in a crash) is recognised, never applied
    # twice; a settle is refused as stale only when its lease really moved on, to a
    # worker that ran the task again.
    assert counters.dup_effect == 0
    assert counters.stale_acks_rejected <= counters.extra_exec
