"""The hot paths: connections kept per thread, batched enqueues, the scheduler's waits."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any, cast

import pytest
import redis

from huey import Huey
from huey import _delivery as delivery
from huey.consumer import check_options
from huey.consumer._environment import PipeFlag
from huey.consumer._worker import Scheduler
from huey.storage.redis import PriorityRedisStorage, RedisStorage
from huey.testing import MockClock

from .conftest import StorageFactory

pytestmark = pytest.mark.redis


def test_each_thread_keeps_one_connection_and_gives_it_back(
    make_storage: StorageFactory,
) -> None:
    """Enqueues of one thread share a connection; it returns to the pool with the thread."""
    storage = make_storage(RedisStorage, blocking=False)
    client: Any = storage._client  # pyright: ignore[reportPrivateUsage]  # the pool is what is checked
    pool = cast("redis.ConnectionPool", client.connection_pool)
    held: list[object] = []

    def work() -> None:
        storage.enqueue(b"A")
        storage.enqueue(b"B")
        held.append(storage._held_connection())  # pyright: ignore[reportPrivateUsage]  # the thread's connection

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    gc.collect()
    assert list(storage.enqueued_items()) == [b"A", b"B"]
    in_use = cast("set[object]", pool._in_use_connections)  # pyright: ignore[reportPrivateUsage]  # redis-py keeps no public count
    available = cast("list[object]", pool._available_connections)  # pyright: ignore[reportPrivateUsage]  # likewise
    assert held[0] not in in_use
    assert held[0] in available


class _CallCounter:
    """Forwards to a redis client, counting its commands (each one round trip)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.commands = 0

    def execute_command(self, *args: object) -> object:
        """Count, then send."""
        self.commands += 1
        reply: object = self.inner.execute_command(*args)
        return reply

    def close(self) -> None:
        """Close the inner client."""
        self.inner.close()


@pytest.mark.parametrize("cls", [RedisStorage, PriorityRedisStorage])
def test_map_enqueues_in_batches(cls: type[RedisStorage], make_storage: StorageFactory) -> None:
    """map() of 2,500 calls queues them all, in order, with one script call per 1,000."""
    storage = make_storage(cls, blocking=False)
    counter = _CallCounter(storage._client)  # pyright: ignore[reportPrivateUsage]  # counting needs the client
    storage._client = counter  # pyright: ignore[reportPrivateUsage]  # counting needs the client
    huey = Huey("batches", storage=storage, clock=MockClock())

    @huey.task()
    def double(n: int) -> int:
        return 2 * n

    later = double.schedule((1,), delay=60)
    double.map([0])  # the script's first use on a server may cost NOSCRIPT and SCRIPT LOAD
    storage.flush_queue()
    counter.commands = 0
    results = double.map(range(2500))
    assert counter.commands == 3
    assert storage.queue_size() == 2500
    assert storage.schedule_size() == 1
    queued = [huey.engine.decode_task(data).args for data in storage.enqueued_items(3)]
    assert queued == [(0,), (1,), (2,)]
    for _ in range(3):
        assert delivery.process_next(huey).status == "completed"
    assert [result.get() for result in list(results)[:3]] == [0, 2, 4]
    assert later.id not in {result.id for result in results}


def test_scheduler_moves_a_task_when_due_between_beats(make_storage: StorageFactory) -> None:
    """Waiting for the next beat, the scheduler moves each task when it becomes due,
    one scheduled during the wait included."""
    storage = make_storage(RedisStorage, blocking=False)
    huey = Huey("due", storage=storage)

    @huey.task()
    def ping() -> int:
        return 1

    ping.schedule(delay=0.05)
    scheduler = Scheduler(huey, check_options(periodic=False), PipeFlag())
    assert scheduler.waiting is storage
    added = threading.Timer(0.1, lambda: ping.schedule(delay=0.05))
    added.start()
    scheduler.wait_for_due(time.monotonic() + 0.6)  # both are due well before this ends
    added.join()
    assert storage.schedule_size() == 0
    assert storage.queue_size() == 2


def test_wait_schedule_returns_within_its_timeout(make_storage: StorageFactory) -> None:
    """The server ends a blocking read on its timer (up to 100 ms late); wait_schedule
    still returns within its timeout, and a wait shorter than that lateness is not sent."""
    storage = make_storage(RedisStorage, blocking=False)
    storage.next_due()  # connect before timing
    longest = 0.0
    for _ in range(4):
        started = time.monotonic()
        assert storage.wait_schedule(0.3) is False
        longest = max(longest, time.monotonic() - started)
    assert longest < 0.33
    started = time.monotonic()
    assert storage.wait_schedule(0.05) is False
    assert time.monotonic() - started < 0.03
