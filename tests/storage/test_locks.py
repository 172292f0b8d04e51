"""``lock_task`` owner tokens: a lock is released only by the holder that took it."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from pathlib import Path
from typing import Literal

import pytest

from huey import FileHuey, Huey, SqliteHuey
from huey.constants import EmptyData
from huey.exceptions import ConfigurationError, TaskLockedException
from huey.storage import MemoryStorage
from huey.testing import MockClock

from .base_only import BaseOnlyStorage


@pytest.fixture
def app(clock: MockClock) -> Huey[Literal[True]]:
    """A ``MemoryHuey`` whose storage times key TTLs with the fake clock."""
    return Huey("locks", clock=clock, storage=MemoryStorage("locks", clock=clock))


def test_each_acquisition_stores_a_fresh_owner_token(app: Huey[Literal[True]]) -> None:
    """The lock's value is a random token, different at every acquisition."""
    lock = app.lock_task("report")
    values: list[object] = []
    for _ in range(2):
        with lock:
            values.append(app.storage.peek_data(lock.key))
    assert all(isinstance(value, bytes) and len(value) == 32 for value in values)
    assert values[0] != values[1]
    assert app.storage.peek_data(lock.key) is EmptyData


def test_an_expired_holder_does_not_release_the_next_holders_lock(
    app: Huey[Literal[True]], clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A holder outliving its ttl leaves the lock another worker took since."""
    first = app.lock_task("nightly", ttl=60)
    second = app.lock_task("nightly", ttl=60)
    first.acquire()
    clock.advance(61)  # the first holder's ttl passes while it still runs
    second.acquire()  # another worker takes the lock
    with caplog.at_level(logging.WARNING, logger="huey"):
        assert first.release() is False
    assert app.is_locked("nightly"), "the second holder's lock was released by the first"
    assert "expired (ttl=60s)" in caplog.text
    with pytest.raises(TaskLockedException):
        app.lock_task("nightly").acquire()
    assert second.release() is True
    assert not app.is_locked("nightly")


def test_one_shared_lock_tracks_each_threads_token(
    app: Huey[Literal[True]], clock: MockClock
) -> None:
    """One decorator-made TaskLock is shared by all workers; each releases only its own."""
    lock = app.lock_task("shared", ttl=60)
    took = threading.Event()
    expired = threading.Event()
    released: list[bool] = []

    def first_worker() -> None:
        lock.acquire()
        took.set()
        expired.wait(5)
        released.append(lock.release())

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert took.wait(5)
    clock.advance(61)
    lock.acquire()  # this thread takes the expired lock, through the same TaskLock
    expired.set()
    worker.join(5)
    assert released == [False]
    assert app.is_locked("shared")
    assert lock.release() is True
    assert not app.is_locked("shared")


def test_the_decorator_releases_only_its_own_lock(
    app: Huey[Literal[True]], clock: MockClock
) -> None:
    """A decorated function whose run outlives the ttl leaves the next holder's lock."""
    lock = app.lock_task("slow", ttl=10)

    @lock
    def slow() -> str:
        clock.advance(11)
        app.lock_task("slow", ttl=10).acquire()  # someone else takes the expired lock
        return "done"

    assert slow() == "done"
    assert app.is_locked("slow")


def test_release_from_another_thread_uses_the_latest_token(app: Huey[Literal[True]]) -> None:
    """acquire() in one thread and release() in another still frees the lock."""
    lock = app.lock_task("handover")
    worker = threading.Thread(target=lock.acquire)
    worker.start()
    worker.join(5)
    assert app.is_locked("handover")
    assert lock.release() is True
    assert not app.is_locked("handover")
    assert lock.release() is False, "a second release finds nothing to free"


def test_release_of_a_never_acquired_lock_frees_nothing(app: Huey[Literal[True]]) -> None:
    """release() without an acquisition leaves someone else's lock alone; clear() does not."""
    holder = app.lock_task("busy")
    holder.acquire()
    stranger = app.lock_task("busy")
    assert stranger.release() is False
    assert app.is_locked("busy")
    assert stranger.clear() is True
    assert not app.is_locked("busy")


def test_a_lock_around_an_async_function_is_held_while_it_runs(app: Huey[Literal[True]]) -> None:
    """An ``async def`` under lock_task holds the lock for the coroutine's whole run."""
    lock = app.lock_task("async")
    seen: list[bool] = []

    @lock
    async def job() -> int:
        await asyncio.sleep(0)
        seen.append(app.is_locked("async"))
        return 7

    assert inspect.iscoroutinefunction(job)
    assert asyncio.run(job()) == 7
    assert seen == [True]
    assert not app.is_locked("async")


def test_async_functions_sharing_a_lock_take_their_own_tokens(app: Huey[Literal[True]]) -> None:
    """Concurrent asyncio tasks entering one lock: one wins, the other is refused."""
    lock = app.lock_task("gate")

    @lock
    async def job(name: str) -> str:
        await asyncio.sleep(0.01)
        return name

    async def main() -> list[object]:
        return list(await asyncio.gather(job("a"), job("b"), return_exceptions=True))

    outcomes = asyncio.run(main())
    assert sorted(map(type, outcomes), key=str) == sorted([str, TaskLockedException], key=str)
    assert not app.is_locked("gate")


def test_a_storage_without_compare_and_delete_still_checks_the_owner(clock: MockClock) -> None:
    """Without the capability release compares, then pops (a short race, no blind delete)."""
    app = Huey("plain", clock=clock, storage=BaseOnlyStorage("plain"))
    lock = app.lock_task("l")
    lock.acquire()
    app.storage.put_data(lock.key, b"someone-else")
    assert lock.release() is False
    assert app.storage.peek_data(lock.key) == b"someone-else"
    app.storage.pop_data(lock.key)
    with lock:
        assert app.is_locked("l")
    assert not app.is_locked("l")


def test_a_ttl_needs_expiring_keys(clock: MockClock) -> None:
    """lock_task(ttl=...) on a storage without expiring keys fails where it is written."""
    app = Huey("plain", clock=clock, storage=BaseOnlyStorage("plain"))
    with pytest.raises(ConfigurationError, match="SupportsExpiringKeys"):
        app.lock_task("l", ttl=5)


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_stale_owner_on_disk_storages(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite and file locks expire by the wall clock and keep their owner check."""
    app = (
        SqliteHuey("disk", filename=tmp_path / "huey.db")
        if kind == "sqlite"
        else FileHuey("disk", path=tmp_path / "files")
    )
    first = app.lock_task("job", ttl=30)
    first.acquire()
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 31)  # the ttl passes
    second = app.lock_task("job", ttl=30)
    second.acquire()
    assert first.release() is False
    assert app.is_locked("job")
    assert second.release() is True
    assert not app.is_locked("job")
