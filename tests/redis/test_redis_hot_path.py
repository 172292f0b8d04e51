"""The hot paths: connections kept per thread, batched enqueues, the scheduler's waits."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar, cast

import pytest
import redis
from typing_extensions import override

from huey import Huey
from huey import _delivery as delivery
from huey.constants import EmptyData, EmptyDataType
from huey.storage.redis import PriorityRedisStorage, RedisExpireStorage, RedisStorage
from huey.testing import MockClock
from tests.scheduler_scenarios import check_moves_each_task_when_due

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
    check_moves_each_task_when_due(make_storage(RedisStorage, blocking=False))


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


class _WriteCounter(redis.Connection):
    """Counts the writes a connection makes (each one round trip, or part of one)."""

    writes: ClassVar[int] = 0

    @override
    def send_packed_command(self, command: object, check_health: bool = True) -> None:
        type(self).writes += 1
        send = cast("Callable[[object, bool], None]", super().send_packed_command)
        send(command, check_health)


def _warmed_up_worker(
    make_storage: StorageFactory, read_timeout: float
) -> tuple[RedisStorage, RedisStorage]:
    """A blocking storage counting its writes, and a producer on the same queue; the
    scripts are loaded and the worker has leased and acknowledged a first message."""
    storage = make_storage(
        RedisStorage, blocking=True, read_timeout=read_timeout, connection_class=_WriteCounter
    )
    producer = make_storage(RedisStorage, storage.name, blocking=False)
    producer.enqueue(b"warm-up")
    first = storage.reserve(1000.0, 30.0)
    assert first is not None
    assert storage.ack(first.token)
    return storage, producer


def test_a_woken_reserve_has_its_lease_without_another_round_trip(
    make_storage: StorageFactory,
) -> None:
    """An idle worker's wait and the reserve after it go in one write: once woken by an
    enqueue, it holds the lease without a round trip of its own."""
    storage, producer = _warmed_up_worker(make_storage, read_timeout=5)
    # The warm-up's wake-up is still there (the reserve found the message without it):
    # this call takes it and finds the queue empty.
    assert storage.reserve(1000.0, 30.0) is None
    _WriteCounter.writes = 0
    arrives = threading.Timer(0.2, lambda: producer.enqueue(b"A"))
    arrives.start()
    lease = storage.reserve(1000.0, 30.0)
    arrives.join()
    assert lease is not None
    assert (lease.data, lease.deliveries, lease.deadline) == (b"A", 1, 1030.0)
    # The last reservation found the queue empty: straight to the wait and the reserve.
    assert _WriteCounter.writes == 1
    assert storage.ack(lease.token) is True


def test_an_idle_worker_makes_one_round_trip_per_wait(make_storage: StorageFactory) -> None:
    """After a reservation that found the queue empty, the next one waits at once: one
    write per ``read_timeout`` while idle, and a message queued meanwhile (which left a
    wake-up) is leased without waiting."""
    storage, producer = _warmed_up_worker(make_storage, read_timeout=0.1)
    _WriteCounter.writes = 0
    # Its reservation found a message: a reserve first, then the wait and the reserve.
    assert storage.reserve(1000.0, 30.0) is None
    assert _WriteCounter.writes == 2
    assert storage.reserve(1000.0, 30.0) is None
    assert storage.reserve(1000.0, 30.0) is None
    assert _WriteCounter.writes == 4
    producer.enqueue(b"A")
    storage.read_timeout = 5
    started = time.monotonic()
    lease = storage.reserve(1000.0, 30.0)
    assert lease is not None
    assert lease.data == b"A"
    assert time.monotonic() - started < 2.5  # woken by the enqueue's wake-up
    assert _WriteCounter.writes == 5


_ResultRead = Callable[[RedisStorage, str, float, bool], "bytes | EmptyDataType"]


@pytest.mark.parametrize("cls", [RedisStorage, RedisExpireStorage])
@pytest.mark.parametrize("preserve", [False, True])
@pytest.mark.parametrize(
    ("read", "writes_peeking_expiring"),
    [(RedisStorage.wait_then_read, 2), (RedisStorage.read_or_wait, 3)],
    ids=["wait_then_read", "read_or_wait"],
)
def test_a_woken_result_reader_has_the_value_without_another_round_trip(
    cls: type[RedisStorage],
    preserve: bool,
    read: _ResultRead,
    writes_peeking_expiring: int,
    make_storage: StorageFactory,
) -> None:
    """With notify_result, a reader's wait and its read go in one write (where a script
    reads the value), and so does ``read_or_wait``'s first read before them (how a
    blocking ``get()`` starts); the value is popped, or kept with ``preserve``."""
    storage = make_storage(
        cls, blocking=False, notify_result=True, read_timeout=5, connection_class=_WriteCounter
    )
    worker = make_storage(cls, storage.name, blocking=False, notify_result=True)
    assert storage.pop_data("warm-up") is EmptyData  # connects, loads the scripts
    storage.put_result("warm-up", b"-")
    assert read(storage, "warm-up", 5.0, False) == b"-"  # keeps a connection
    storage.peek_data("warm-up")  # and the client one of its own
    _WriteCounter.writes = 0
    stored = threading.Timer(0.2, lambda: worker.put_result("task-1", b"value"))
    stored.start()
    assert read(storage, "task-1", 5.0, preserve) == b"value"
    stored.join()
    # One write. An expiring storage peeks with MGET, not a script: a write of its own
    # after the wait (and read_or_wait reads first, in one more).
    expected = writes_peeking_expiring if preserve and cls is RedisExpireStorage else 1
    assert _WriteCounter.writes == expected
    assert (storage.peek_data("task-1") is EmptyData) is (not preserve and cls is RedisStorage)
    assert storage.wait_result("task-1", 0.01) is False  # the wake-up was taken


@pytest.mark.parametrize("cls", [RedisStorage, RedisExpireStorage])
@pytest.mark.parametrize("preserve", [False, True])
def test_a_blocking_read_of_a_stored_value_whose_wake_up_is_gone_does_not_wait(
    cls: type[RedisStorage], preserve: bool, make_storage: StorageFactory
) -> None:
    """A result stored before the reader came, its wake-up taken (by another reader, or
    expired), is read at once: the wait sent with the first read does not run its
    timeout, and it leaves no wake-up behind."""
    storage = make_storage(cls, blocking=False, notify_result=True, read_timeout=5)
    assert storage.pop_data("warm-up") is EmptyData  # loads the read scripts
    assert storage.peek_data("warm-up") is EmptyData
    storage.put_result("task-1", b"value")
    assert storage.wait_result("task-1", 1.0) is True  # another reader took the wake-up
    started = time.monotonic()
    assert storage.read_or_wait("task-1", 5.0, preserve) == b"value"
    assert time.monotonic() - started < 2.0  # the wait's timeout is 5 s
    assert storage.wait_result("task-1", 0.01) is False
    assert (storage.peek_data("task-1") is EmptyData) is (not preserve and cls is RedisStorage)


def test_a_blocking_read_without_notifications_reads_once(make_storage: StorageFactory) -> None:
    """Without ``notify_result`` nothing would wake a wait: ``read_or_wait`` reads once."""
    storage = make_storage(RedisStorage, blocking=False, read_timeout=5)
    started = time.monotonic()
    assert storage.read_or_wait("task-1", 5.0, False) is EmptyData
    assert time.monotonic() - started < 2.0
    storage.put_result("task-1", b"value")
    assert storage.read_or_wait("task-1", 5.0, False) == b"value"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_takes_its_own_connection(make_storage: StorageFactory) -> None:
    """The parent's held connection (its socket) is not used by a forked child: the child
    takes one of its own, and both enqueue without mixing their replies."""
    storage = make_storage(RedisStorage, blocking=False)
    storage.enqueue(b"parent-1")
    parents = storage._held_connection()  # pyright: ignore[reportPrivateUsage]  # what is compared
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: enqueue, report whether its connection is its own, leave
        code = 1
        try:
            storage.enqueue(b"child")
            own = storage._held_connection() is not parents  # pyright: ignore[reportPrivateUsage]  # likewise
            os.write(write_end, b"own" if own else b"shared")
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    answer = os.read(read_end, 16)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert answer == b"own"
    storage.enqueue(b"parent-2")
    assert sorted(storage.enqueued_items()) == [b"child", b"parent-1", b"parent-2"]
