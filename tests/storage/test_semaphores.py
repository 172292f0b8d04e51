"""``huey.contrib.helpers``: ``RedisSemaphore`` and ``lock_task_semaphore`` on local storages.

The Redis runs, through the Lua scripts, are in ``tests/redis/test_redis_helpers.py``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any, Literal

import pytest

from huey import BlackHoleHuey, Huey, MemoryHuey, SqliteHuey
from huey.contrib.helpers import (
    DEFAULT_TIMEOUT,
    RedisSemaphore,
    SemaphoreLock,
    lock_task_semaphore,
)
from huey.exceptions import ConfigurationError, TaskException, TaskLockedException
from huey.storage import MemoryStorage
from huey.testing import MockClock


@pytest.fixture
def app(clock: MockClock) -> Huey[Literal[True]]:
    """A huey whose in-memory storage times semaphore holders with the fake clock."""
    return Huey("sem", clock=clock, storage=MemoryStorage("sem", clock=clock))


def run_all(huey: Huey[Any]) -> None:
    """Play the consumer: execute every queued task."""
    while (task := huey.dequeue()) is not None:
        huey.execute(task)


def test_a_semaphore_admits_value_holders(app: Huey[Literal[True]]) -> None:
    """acquire() returns a holder id until ``value`` are held, then None."""
    semaphore = RedisSemaphore(app, "api", value=2)
    first, second = semaphore.acquire(), semaphore.acquire()
    assert first is not None
    assert second is not None
    assert first != second
    assert semaphore.acquire() is None
    assert sorted(semaphore.holders()) == sorted([first, second])
    assert semaphore.release(first) is True
    assert semaphore.release(first) is False
    assert semaphore.acquire("mine") == "mine"
    assert semaphore.clear() == 2
    assert semaphore.holders() == []
    assert semaphore.key == "sem.lock.api"
    assert semaphore.timeout == DEFAULT_TIMEOUT


def test_a_killed_holder_frees_its_slot_after_the_timeout(
    app: Huey[Literal[True]], clock: MockClock
) -> None:
    """A holder that stops renewing (a killed worker) loses its slot ``timeout`` later."""
    semaphore = RedisSemaphore(app, "one", value=1, timeout=60)
    dead = semaphore.acquire()
    assert dead is not None
    clock.advance(59)
    assert semaphore.acquire() is None
    clock.advance(1)
    assert semaphore.acquire() is not None
    assert semaphore.renew(dead) is False
    assert semaphore.release(dead) is False


def test_lock_task_semaphore_limits_concurrent_runs(app: Huey[Literal[True]]) -> None:
    """At most ``value`` calls run inside the decorated function at once."""
    lock = lock_task_semaphore(app, "crawl", value=2)
    inside = threading.Barrier(3)
    refused: list[BaseException] = []

    @lock
    def crawl() -> None:
        inside.wait(5)

    def worker() -> None:
        try:
            crawl()
        except TaskLockedException as exc:
            refused.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    while len(lock.semaphore.holders()) < 2:
        time.sleep(0.001)
    with pytest.raises(TaskLockedException, match="crawl"):
        crawl()
    inside.wait(5)
    for thread in threads:
        thread.join(5)
    assert refused == []
    assert lock.semaphore.holders() == []


def test_a_locked_task_is_retried(app: Huey[Literal[True]]) -> None:
    """Under a full semaphore a task raises TaskLockedException; its retries run later."""
    lock = lock_task_semaphore(app, "report", value=1)

    @app.task(retries=1)
    @lock
    def report() -> str:
        return "done"

    holder = lock.semaphore.acquire()
    assert holder is not None
    result = report()
    first = app.dequeue()
    assert first is not None
    app.execute(first)
    assert len(app) == 1, "the locked attempt was requeued as a retry"
    lock.semaphore.release(holder)
    run_all(app)
    assert result.get() == "done"


def test_without_retries_the_lock_error_is_stored(app: Huey[Literal[True]]) -> None:
    """A task refused a slot with no retries left fails with TaskLockedException."""
    lock = lock_task_semaphore(app, "busy", value=1)

    @app.task()
    @lock
    def busy() -> None: ...

    with lock:
        result = busy()
        run_all(app)
    with pytest.raises(TaskException, match="TaskLockedException"):
        result.get()


def test_the_context_manager_returns_the_holder_and_frees_it(app: Huey[Literal[True]]) -> None:
    """``with`` yields the holder id and releases that slot on exit, error or not."""
    lock = lock_task_semaphore(app, "ctx", value=3)
    with lock as outer:
        with lock as inner:
            assert sorted(lock.semaphore.holders()) == sorted([outer, inner])
        assert lock.semaphore.holders() == [outer]
    with pytest.raises(RuntimeError), lock:
        raise RuntimeError("boom")
    assert lock.semaphore.holders() == []


def test_a_shared_lock_frees_each_threads_own_slot(app: Huey[Literal[True]]) -> None:
    """Threads sharing one SemaphoreLock each release the slot they took."""
    lock = lock_task_semaphore(app, "shared", value=2)
    entered = threading.Event()
    leave = threading.Event()
    theirs: list[str] = []

    def other() -> None:
        with lock as holder:
            theirs.append(holder)
            entered.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    assert entered.wait(5)
    with lock as mine:
        pass
    assert lock.semaphore.holders() == theirs, f"{mine} left, the other thread's slot stays"
    leave.set()
    thread.join(5)
    assert lock.semaphore.holders() == []


def test_a_slot_is_renewed_while_held() -> None:
    """A run longer than ``timeout`` keeps its slot: a background thread renews it."""
    app = MemoryHuey("renew")
    lock = lock_task_semaphore(app, "long", value=1, timeout=0.3)
    with lock as holder:
        time.sleep(0.7)  # more than twice the timeout: real time, the renewer is a thread
        assert lock.semaphore.holders() == [holder]
        assert lock.semaphore.acquire() is None
    assert lock.semaphore.holders() == []


def test_async_functions_hold_a_slot_while_they_run(app: Huey[Literal[True]]) -> None:
    """An ``async def`` under lock_task_semaphore holds its slot across awaits."""
    lock = lock_task_semaphore(app, "async", value=1)
    seen: list[int] = []

    @lock
    async def job() -> str:
        await asyncio.sleep(0)
        seen.append(len(lock.semaphore.holders()))
        return "ok"

    assert asyncio.run(job()) == "ok"
    assert seen == [1]
    assert lock.semaphore.holders() == []


def test_the_decorator_belongs_below_the_task_decorator(app: Huey[Literal[True]]) -> None:
    """Above @task() the slot would guard the enqueue: refused where it is written."""
    with pytest.raises(ConfigurationError, match="below"):

        @lock_task_semaphore(app, "wrong")
        @app.task()
        def wrong() -> None: ...


def test_bad_arguments_fail_at_construction(app: Huey[Literal[True]]) -> None:
    """A value below 1 or a non-positive timeout is refused with ValueError."""
    with pytest.raises(ValueError, match="value"):
        RedisSemaphore(app, "s", value=0)
    with pytest.raises(ValueError, match="value"):
        lock_task_semaphore(app, "s", value=True)
    with pytest.raises(ValueError, match="timeout"):
        RedisSemaphore(app, "s", timeout=0)
    with pytest.raises(ValueError, match="timeout"):
        RedisSemaphore(app, "s", timeout=float("inf"))


def test_a_storage_without_semaphores_is_refused() -> None:
    """The storage's missing capability is named when the semaphore is made."""
    with pytest.raises(ConfigurationError, match="SupportsSemaphores"):
        lock_task_semaphore(BlackHoleHuey("void"), "s")


def test_sqlite_semaphores_are_shared_between_storages(tmp_path: Path) -> None:
    """Two hueys on one SQLite file (two workers) share the semaphore's slots."""
    first = SqliteHuey("shared", filename=tmp_path / "huey.db")
    second = SqliteHuey("shared", filename=tmp_path / "huey.db")
    lock: SemaphoreLock = lock_task_semaphore(first, "db", value=1)
    with lock:
        assert RedisSemaphore(second, "db").acquire() is None
    assert RedisSemaphore(second, "db").acquire() is not None
