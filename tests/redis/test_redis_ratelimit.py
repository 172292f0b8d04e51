"""Rate limits on the four Redis storages, through their real commands and scripts.

``RedisStorage`` counts with ``HINCRBY`` on the counters hash; the expiring variants
with their ``INCRBY`` + ``EXPIRE`` script on a key of its own. Windows roll over with a
:class:`MockClock`, whose default start is a multiple of every ``per`` used here.
"""

from __future__ import annotations

import pytest
import redis

from huey import Huey
from huey import _delivery as delivery
from huey.exceptions import RateLimitExceeded, TaskException
from huey.protocols import SupportsSettle
from huey.storage.redis import RedisExpireStorage, RedisStorage
from huey.testing import MockClock
from tests.ratelimit_helpers import admitted, hammer

from .conftest import ALL_STORAGES, StorageFactory

pytestmark = pytest.mark.redis

START = MockClock().time()
WINDOW = int(START // 60)


def raw(url: str) -> redis.Redis:
    """A plain redis-py client, to look at keys directly."""
    return redis.Redis.from_url(url)  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves **kwargs unannotated


def counter(storage: RedisStorage, key: str) -> int:
    """The counter ``key`` (0 when it does not exist)."""
    return storage.incr(key, 0)


@pytest.mark.parametrize("cls", ALL_STORAGES)
def test_limit_rollover_and_cleanup(cls: type[RedisStorage], make_storage: StorageFactory) -> None:
    """``limit`` calls per window; the next window's first call deletes the old counter."""
    storage = make_storage(cls, blocking=False)
    clock = MockClock()
    huey = Huey(storage.name, storage=storage, clock=clock)
    rate = huey.rate_limit("api", 3, 60)
    assert admitted(rate, 5) == 3
    assert rate.current_usage() == 3
    clock.advance(59)
    with pytest.raises(RateLimitExceeded) as info:
        rate.acquire()
    assert info.value.delay == 1.0
    clock.advance(1)
    assert admitted(rate, 5) == 3
    prefix = f"{storage.name}.rl.api"
    assert counter(storage, f"{prefix}.{WINDOW}") == 0
    assert counter(storage, f"{prefix}.{WINDOW + 1}") == 5
    assert storage.peek_data(f"{prefix}.w") == str(WINDOW + 1).encode()
    rate.reset()
    assert rate.current_usage() == 0
    assert admitted(rate, 5) == 3


@pytest.mark.parametrize("cls", [RedisStorage, RedisExpireStorage])
def test_counter_lives_where_the_storage_keeps_counters(
    cls: type[RedisStorage], make_storage: StorageFactory, redis_url: str
) -> None:
    """The counter is a field of the counters hash, or (expiring variants) a key of its
    own that expires after ``expire_time``."""
    storage = make_storage(cls, blocking=False)
    huey = Huey(storage.name, storage=storage, clock=MockClock())
    huey.rate_limit("api", 1, 60).acquire()
    key = f"{storage.name}.rl.api.{WINDOW}"
    client = raw(redis_url)
    try:
        if cls is RedisExpireStorage:
            ttl = client.ttl(f"huey:{{{storage.name}}}:c:{key}")
            assert 0 < ttl <= 86400
        else:
            assert client.hget(f"huey:{{{storage.name}}}:counters", key) == b"1"
    finally:
        client.close()


@pytest.mark.parametrize("cls", [RedisStorage, RedisExpireStorage])
def test_threads_get_exactly_limit_per_window(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """Eight threads hammering one window get exactly ``limit`` admissions, window after
    window."""
    storage = make_storage(cls, blocking=False)
    clock = MockClock()
    rate = Huey(storage.name, storage=storage, clock=clock).rate_limit("hammered", 7, 60)
    for window in range(3):
        assert hammer(rate, threads=8, attempts=5) == 7, f"window {window}"
        clock.advance(60)


@pytest.mark.parametrize("cls", ALL_STORAGES)
def test_rate_limited_task_settles_and_waits_for_the_next_window(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """Through the settle script: the refused task's message is acknowledged, its retry
    scheduled for the next window with its retries intact, and no result stored."""
    storage = make_storage(cls, blocking=False)
    assert isinstance(storage, SupportsSettle)
    clock = MockClock()
    huey = Huey(storage.name, storage=storage, clock=clock)

    @huey.task(retries=1)
    @huey.rate_limit("api", 1, 60)
    def fetch(page: int) -> int:
        return page

    first, second = fetch(1), fetch(2)
    assert delivery.process_next(huey).status == "completed"
    assert delivery.process_next(huey).status == "completed"
    [retry] = huey.scheduled()
    assert (retry.id, retry.retries, retry.eta) == (second.id, 1, START + 60)
    assert huey.pending_count() == 0
    assert not storage.has_data_for_key(second.id)
    clock.advance(60)
    for task in huey.read_schedule(clock.time()):
        huey.enqueue(task)
    assert delivery.process_next(huey).status == "completed"
    assert (first.get(), second.get()) == (1, 2)


def test_retry_false_stores_the_exception(make_storage: StorageFactory) -> None:
    """With ``retry=False`` and no retries the settle stores the exception as the error."""
    storage = make_storage(RedisStorage, blocking=False)
    huey = Huey(storage.name, storage=storage, clock=MockClock())

    @huey.task()
    @huey.rate_limit("strict", 1, 60, retry=False)
    def send() -> None: ...

    send()
    result = send()
    delivery.process_next(huey)
    delivery.process_next(huey)
    assert huey.scheduled_count() == 0
    with pytest.raises(TaskException, match=r"RateLimitExceeded\('strict', 60.0, False\)"):
        result.get()
