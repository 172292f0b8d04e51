"""Scenario 2: Redis killed with SIGKILL and restarted while a producer and consumers run.

The server keeps an AOF with ``appendfsync always``. Every enqueue that returned must
run; an enqueue the server could not take raises a typed error (never a silent drop);
the consumers ride the outages out without being restarted.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from huey.storage.redis import RedisConnectionFailed
from tests.redis.conftest import RedisServer

from .harness import (
    DEEP,
    SEEDS,
    App,
    Producer,
    check_outage_run,
    drain_and_stop,
    ride_outages,
)

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
        outages = ride_outages(consumers, rng, RESTARTS, server.kill, server.start)
        producer.join(120)
        # One more outage, long enough for the client's retries to give up.
        server.kill()
        with pytest.raises(RedisConnectionFailed, match="cannot reach Redis"):
            app.work("during-outage", 0)
        server.start()
        rode_out = drain_and_stop(app, producer, consumers)
    finally:
        producer.stop()
        app.stop_all()
    check_outage_run(
        app,
        producer,
        "redis-restart",
        RedisConnectionFailed,
        rode_out,
        seed=seed,
        tasks=TASKS,
        restarts=RESTARTS,
        outages_s=outages,
    )
