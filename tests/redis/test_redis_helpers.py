"""Semaphores, lock owner tokens and the 3.5 storage API on a real Redis (the Lua scripts)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest
import redis

from huey import Huey, RedisExpireHuey, RedisHuey
from huey.constants import EmptyData
from huey.contrib.helpers import RedisSemaphore, lock_task_semaphore
from huey.exceptions import TaskLockedException
from huey.protocols import (
    SupportsCompareAndDelete,
    SupportsDeleteData,
    SupportsFlushAll,
    SupportsPeekMany,
    SupportsSemaphores,
)
from huey.storage.redis import RedisExpireStorage, RedisStorage

from .conftest import ALL_STORAGES, StorageFactory, dispose

pytestmark = pytest.mark.redis

if TYPE_CHECKING:  # the type checkers compare every method's signature with the protocol
    _cad: SupportsCompareAndDelete = RedisExpireStorage()
    _peek: SupportsPeekMany = RedisExpireStorage()
    _delete: SupportsDeleteData = RedisExpireStorage()
    _flush: SupportsFlushAll = RedisStorage()
    _sem: SupportsSemaphores = RedisStorage()


@pytest.fixture
def app(redis_url: str) -> Iterator[RedisHuey]:
    """A RedisHuey on a queue of its own, deleted afterwards."""
    huey = RedisHuey(f"helpers-{time.monotonic_ns()}", url=redis_url, read_timeout=0.05)
    yield huey
    dispose(huey)


def raw(url: str) -> redis.Redis:
    """A plain redis-py client, to look at keys directly."""
    return redis.Redis.from_url(url)  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves **kwargs unannotated


def test_semaphore_keys_live_in_the_queues_slot_and_expire(app: RedisHuey, redis_url: str) -> None:
    """The holders' ZSET is under the queue's hash tag and expires with its last holder."""
    semaphore = RedisSemaphore(app, "api", value=2, timeout=30)
    holder = semaphore.acquire()
    assert holder is not None
    key = f"huey:{{{app.name}}}:sem:{app.name}.lock.api"
    client = raw(redis_url)
    try:
        assert client.zscore(key, holder) is not None
        assert client.zcard(key) == 1
        assert 0 < client.pttl(key) <= 30_000
        semaphore.release(holder)
        assert client.exists(key) == 0
    finally:
        client.close()


def test_semaphore_admits_value_holders_across_clients(app: RedisHuey, redis_url: str) -> None:
    """Eight workers, each with its own connection, race for three slots: three win."""
    workers = [RedisHuey(app.name, url=redis_url) for _ in range(8)]
    barrier = threading.Barrier(len(workers))
    won: list[str | None] = [None] * len(workers)

    def take(index: int) -> None:
        barrier.wait(5)
        won[index] = RedisSemaphore(workers[index], "race", value=3).acquire()

    threads = [threading.Thread(target=take, args=(i,)) for i in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    winners = [holder for holder in won if holder is not None]
    assert len(winners) == 3
    assert sorted(RedisSemaphore(app, "race", value=3).holders()) == sorted(winners)
    for worker in workers:
        storage = worker.storage
        assert isinstance(storage, RedisStorage)
        storage.close()


def test_a_killed_holder_frees_its_slot(app: RedisHuey) -> None:
    """A holder that never renews loses its slot after ``timeout`` (server time)."""
    semaphore = RedisSemaphore(app, "short", value=1, timeout=0.2)
    dead = semaphore.acquire()
    assert dead is not None
    assert semaphore.acquire() is None
    time.sleep(0.3)
    assert semaphore.acquire() is not None
    assert semaphore.release(dead) is False


def test_lock_task_semaphore_renews_a_long_run(app: RedisHuey) -> None:
    """A run longer than the timeout keeps its slot, renewed by the background thread."""
    lock = lock_task_semaphore(app, "long", value=1, timeout=0.3)

    @app.task()
    @lock
    def long_job() -> str:
        time.sleep(0.7)
        if lock.semaphore.acquire() is not None:
            return "slot lost"
        return "slot kept"

    assert long_job.call_local() == "slot kept"
    assert lock.semaphore.holders() == []


def test_lock_task_semaphore_refuses_when_full(app: RedisHuey) -> None:
    """Every slot held: the decorated call raises TaskLockedException."""
    lock = lock_task_semaphore(app, "full", value=2)
    with lock, lock, pytest.raises(TaskLockedException):
        lock.__enter__()
    assert lock.semaphore.holders() == []


@pytest.mark.parametrize("cls", ALL_STORAGES)
def test_stale_lock_owner_does_not_release_the_new_holder(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """A lock whose ttl passed and was taken by another worker survives the old release."""
    storage = make_storage(cls, blocking=False)
    app: Huey[Any] = Huey(storage.name, storage=storage)
    first = app.lock_task("job", ttl=0.2)
    first.acquire()
    time.sleep(0.3)
    second = app.lock_task("job", ttl=30)
    second.acquire()
    assert first.release() is False
    assert app.is_locked("job")
    assert second.release() is True
    assert not app.is_locked("job")


def test_expire_storage_delete_data_removes_a_result(make_storage: StorageFactory) -> None:
    """pop_data() leaves a result to expire on RedisExpireStorage; delete_data() removes it."""
    storage = make_storage(RedisExpireStorage, blocking=False)
    storage.put_result("task-id", b"42")
    assert storage.pop_data("task-id") == b"42"
    assert storage.peek_data("task-id") == b"42"
    assert list(storage.peek_many(["task-id", "nothing"])) == [b"42", EmptyData]
    assert storage.delete_data("task-id") is True
    assert storage.peek_data("task-id") is EmptyData


def test_flush_all_removes_semaphores_and_locks(redis_url: str) -> None:
    """flush_all() deletes every key of the queue, semaphores included."""
    huey = RedisExpireHuey(f"flush-{time.monotonic_ns()}", url=redis_url)
    storage = huey.storage
    assert isinstance(storage, RedisStorage)
    RedisSemaphore(huey, "s").acquire()
    huey.lock_task("l").acquire()
    storage.flush_all()
    client = raw(redis_url)
    try:
        found = cast("Iterable[bytes]", client.scan_iter(match=f"huey:{{{huey.name}}}:*"))  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves **kwargs unannotated
        assert list(found) == []
    finally:
        client.close()
        storage.close()
