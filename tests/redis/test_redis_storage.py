"""The four Redis storages on a real server: conformance, priorities, expiry, notify."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any, Literal, assert_type, cast

import pytest
import redis

from huey import PriorityRedisHuey, RedisExpireHuey, RedisHuey, Result, Task
from huey.constants import EmptyData
from huey.exceptions import ConfigurationError
from huey.protocols import (
    SupportsBlockingDequeue,
    SupportsClose,
    SupportsCounters,
    SupportsExpiringKeys,
    SupportsKeyedEnqueue,
    SupportsLeases,
    SupportsResultNotification,
    SupportsScheduleTransfer,
    SupportsSettle,
)
from huey.storage.redis import (
    PriorityRedisExpireStorage,
    PriorityRedisStorage,
    RedisExpireStorage,
    RedisStorage,
)
from huey.testing import SETTLE_CHECKS, STORAGE_CHECKS, check_storage

from .conftest import ALL_STORAGES, StorageFactory, dispose

pytestmark = pytest.mark.redis

ALL = ALL_STORAGES
PRIORITY = (PriorityRedisStorage, PriorityRedisExpireStorage)
EXPIRE = (RedisExpireStorage, PriorityRedisExpireStorage)


def raw(url: str) -> redis.Redis:
    """A plain redis-py client, to look at keys directly."""
    return redis.Redis.from_url(url)  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves **kwargs unannotated


@pytest.mark.parametrize("cls", ALL)
def test_check_storage_passes(cls: type[RedisStorage], make_storage: StorageFactory) -> None:
    """Every Redis storage passes the whole conformance suite, capabilities included."""
    ran = check_storage(lambda: make_storage(cls, blocking=False))
    assert tuple(ran) == STORAGE_CHECKS + SETTLE_CHECKS


def test_check_storage_passes_when_blocking(make_storage: StorageFactory) -> None:
    """The blocking reads (BZPOPMIN, the wake list) pass the suite too."""
    ran = check_storage(lambda: make_storage(PriorityRedisExpireStorage, read_timeout=0.02))
    assert tuple(ran) == STORAGE_CHECKS + SETTLE_CHECKS


@pytest.mark.parametrize("cls", ALL)
def test_capabilities(cls: type[RedisStorage], make_storage: StorageFactory) -> None:
    """Each storage offers every capability protocol, blocking by default."""
    storage = make_storage(cls)
    for protocol in (
        SupportsLeases,
        SupportsCounters,
        SupportsExpiringKeys,
        SupportsBlockingDequeue,
        SupportsClose,
        SupportsResultNotification,
        SupportsScheduleTransfer,
        SupportsKeyedEnqueue,
        SupportsSettle,
    ):
        assert isinstance(storage, protocol), protocol
    assert storage.blocking is True
    assert storage.read_timeout == 1.0
    assert storage.priority is (cls in PRIORITY)


@pytest.mark.parametrize("cls", PRIORITY)
def test_priorities_extreme_values(cls: type[RedisStorage], make_storage: StorageFactory) -> None:
    """Huge and negative priorities order correctly; ties stay FIFO across leases."""
    storage = make_storage(cls, blocking=False)
    storage.enqueue(b"zero-1")
    storage.enqueue(b"low", -(2**40))
    storage.enqueue(b"high", 2**40)
    storage.enqueue(b"zero-2", 0)
    assert list(storage.enqueued_items()) == [b"high", b"zero-1", b"zero-2", b"low"]
    lease = storage.reserve(100.0, 10.0)
    assert lease is not None
    assert lease.data == b"high"
    assert storage.requeue_expired(111.0, 5) == 1
    assert storage.dequeue() == b"high"  # back in its place: first
    assert [storage.dequeue() for _ in range(3)] == [b"zero-1", b"zero-2", b"low"]


@pytest.mark.parametrize("cls", [RedisStorage, RedisExpireStorage])
def test_fifo_storage_refuses_priority(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """A storage without priorities refuses one, naming the priority storage instead."""
    storage = make_storage(cls)
    with pytest.raises(ConfigurationError, match="PriorityRedis"):
        storage.enqueue(b"x", 5)
    assert storage.queue_size() == 0
    storage.enqueue(b"y", 0)
    storage.enqueue(b"z", None)
    assert storage.queue_size() == 2
    with pytest.raises(ConfigurationError, match="PriorityRedis"):
        storage.add_to_schedule_with_priority(b"x", 1.0, 5)
    assert storage.schedule_size() == 0


@pytest.mark.parametrize("cls", PRIORITY)
def test_move_due_keeps_extreme_priorities_in_one_script(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """Huge and negative stored priorities survive the Lua move; binary data is intact."""
    storage = make_storage(cls, blocking=False)
    blob = bytes(range(256)) + b"|p:"
    storage.add_to_schedule_with_priority(b"low", 1.0, -(2**40))
    storage.add_to_schedule_with_priority(blob, 2.0, 0)
    storage.add_to_schedule_with_priority(b"high", 3.0, 2**40)
    assert list(storage.scheduled_items()) == [b"low", blob, b"high"]
    assert list(storage.move_due(10.0, lambda data: None)) == [b"low", blob, b"high"]
    assert list(storage.enqueued_items()) == [b"high", blob, b"low"]
    assert storage.schedule_size() == 0


def test_redis_huey_refuses_priority(redis_url: str) -> None:
    """RedisHuey refuses a priority at decoration and at call time, naming PriorityRedisHuey."""
    huey = RedisHuey("refuse-priority", url=redis_url)
    with pytest.raises(ConfigurationError, match="PriorityRedisHuey"):

        @huey.task(priority=5)
        def urgent() -> None: ...

    @huey.task()
    def plain() -> None: ...

    with pytest.raises(ConfigurationError, match="PriorityRedisHuey"):
        plain.with_options(priority=3)()
    assert huey.pending_count() == 0
    dispose(huey)


def test_priority_redis_huey_runs_high_priority_first(redis_url: str) -> None:
    """PriorityRedisHuey hands out the higher-priority task first."""
    huey = PriorityRedisHuey("priorities", url=redis_url, blocking=False)

    @huey.task()
    def job(label: str) -> str:
        return label

    job("low")
    job.with_options(priority=10)("high")
    first = huey.dequeue()
    assert first is not None
    assert first.args == ("high",)
    dispose(huey)


@pytest.mark.parametrize("cls", EXPIRE)
def test_expire_results_have_ttl_and_reads_do_not_remove_them(
    cls: type[RedisExpireStorage], make_storage: StorageFactory
) -> None:
    """Results get expire_time as TTL and survive reads; other values pop as usual."""
    storage = make_storage(cls, expire_time=120)
    storage.put_result("task-id", b"42")
    ttl = raw(storage_url(storage)).pttl(f"huey:{{{storage.name}}}:r:task-id")
    assert 110_000 < ttl <= 120_000
    assert storage.pop_data("task-id") == b"42"
    assert storage.pop_data("task-id") == b"42"  # a second reader still sees it
    assert storage.result_items() == {"task-id": b"42"}
    storage.put_data("lock", b"1")
    assert raw(storage_url(storage)).pttl(f"huey:{{{storage.name}}}:k:lock") == -1
    assert storage.pop_data("lock") == b"1"
    assert storage.pop_data("lock") is EmptyData
    assert storage.incr("counter") == 1
    assert 0 < raw(storage_url(storage)).ttl(f"huey:{{{storage.name}}}:c:counter") <= 120


def storage_url(storage: RedisStorage) -> str:
    """The test server's URL (the storages here were made from a password-less URL)."""
    return storage.url


@pytest.mark.parametrize("cls", [RedisStorage, PriorityRedisStorage])
def test_hash_results_are_removed_by_reads(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """In the HASH variants a result is read once (peek leaves it), and has no TTL."""
    storage = make_storage(cls)
    storage.put_result("task-id", b"42")
    assert storage.peek_data("task-id") == b"42"
    assert storage.pop_data("task-id") == b"42"
    assert storage.pop_data("task-id") is EmptyData


def test_expire_huey_results_readable_twice(redis_url: str) -> None:
    """RedisExpireHuey: two handles read the same result (it expires instead)."""
    huey = RedisExpireHuey("expire-twice", url=redis_url, expire_time=60, blocking=False)

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(1, 2)
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    assert result.get() == 3
    assert huey.result(result.id) == 3
    dispose(huey)


@pytest.mark.parametrize("cls", ALL)
def test_keys_are_namespaced(cls: type[RedisStorage], make_storage: StorageFactory) -> None:
    """Every key a queue writes starts with huey:{name}: and other queues see none of it."""
    storage = make_storage(cls, blocking=False)
    other = make_storage(cls, blocking=False)
    storage.enqueue(b"q")
    storage.add_to_schedule(b"s", 10.0)
    storage.put_data("k", b"v")
    storage.put_result("r", b"v")
    storage.incr("c")
    lease = storage.reserve(1.0, 10.0)
    assert lease is not None
    client = raw(storage.url)
    found = cast("Iterable[bytes]", client.scan_iter(match="huey:*"))  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves **kwargs unannotated
    keys = {key.decode() for key in found}
    mine = {key for key in keys if key.startswith(f"huey:{{{storage.name}}}:")}
    assert mine
    assert not any(key.startswith(f"huey:{{{other.name}}}:") for key in keys)
    assert (other.queue_size(), other.schedule_size(), other.result_store_size()) == (0, 0, 0)
    assert other.reserve(1.0, 10.0) is None


@pytest.mark.parametrize("cls", ALL)
def test_ack_with_result_is_atomic(cls: type[RedisStorage], make_storage: StorageFactory) -> None:
    """ack_with_result stores the result and acks in one step; a stale token does neither."""
    storage = make_storage(cls, blocking=False, notify_result=True)
    storage.enqueue(b"job")
    first = storage.reserve(100.0, 10.0)
    assert first is not None
    assert storage.requeue_expired(111.0, 5) == 1
    second = storage.reserve(111.0, 10.0)
    assert second is not None
    assert not storage.ack_with_result(first.token, "task-id", b"late")
    assert storage.peek_data("task-id") is EmptyData
    assert storage.ack_with_result(second.token, "task-id", b"42")
    assert storage.peek_data("task-id") == b"42"
    assert storage.leased_count() == 0
    assert storage.requeue_expired(1e12, 5) == 0
    assert storage.wait_result("task-id", 0.5)  # the reader is woken too


# Each key set: huey's own pair, keys holding every delimiter the envelope escapes (and a
# literal escape sequence, which must come back as written), an empty key, one key, three.
WATCHED_KEY_SETS = (
    ("r:4f1c-id", "rt:app.tasks.add"),
    ("a^b:c", "d%3Ae|f~g"),
    ("", "k:1"),
    ("only:one",),
    ("x|y", "z~w", "q%"),
)


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("keys", WATCHED_KEY_SETS, ids=repr)
def test_reservations_return_the_watched_values_in_order(
    cls: type[RedisStorage], keys: tuple[str, ...], make_storage: StorageFactory
) -> None:
    """The reserve scripts read back exactly the keys an item was enqueued with."""
    storage = make_storage(cls, blocking=False)
    values = {key: f"value of {key}".encode() for key in keys[1::2]}  # every other key has one
    for key, value in values.items():
        storage.put_data(key, value)
    expected = tuple(values.get(key) for key in keys)
    for data in (b"first", b"second"):
        storage.enqueue_keyed(data, None, keys)
    first = storage.reserve(100.0, 10.0)
    assert first is not None
    assert (first.data, first.watched) == (b"first", expected)
    settled, second = storage.settle_and_reserve(first.token, None, (), 100.0, 10.0)
    assert settled
    assert second is not None
    assert (second.data, second.watched) == (b"second", expected)


def test_name_is_validated_and_url_redacted() -> None:
    """Braces in the name are refused; the password never appears in url or repr."""
    with pytest.raises(ConfigurationError, match="hash tag"):
        RedisStorage("a{b}")
    storage = RedisStorage("x", url="redis://worker:s3cret@127.0.0.1:1/2")
    assert storage.url == "redis://worker:***@127.0.0.1:1/2"
    assert "s3cret" not in repr(storage)
    storage = RedisStorage("x", host="127.0.0.1", port=1, password="s3cret", db=3)
    assert storage.url == "redis://:***@127.0.0.1:1/3"
    tls = RedisStorage("x", url="rediss://127.0.0.1:1/0")
    assert tls.url.startswith("rediss://")


def test_conflicting_connection_options_are_refused() -> None:
    """url with host, a pool with options, bad timeouts and expire times are refused."""
    pool = redis.ConnectionPool(host="127.0.0.1", port=1)
    with pytest.raises(ConfigurationError, match="connection_pool"):
        RedisStorage("x", connection_pool=pool, url="redis://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="url"):
        RedisStorage("x", url="redis://127.0.0.1:1", host="other")
    with pytest.raises(ConfigurationError, match="invalid Redis url"):
        RedisStorage("x", url="http://127.0.0.1:1")
    with pytest.raises(ConfigurationError, match="read_timeout"):
        RedisStorage("x", read_timeout=0)
    with pytest.raises(ConfigurationError, match="expire_time"):
        RedisExpireStorage("x", expire_time=0)
    pooled = RedisStorage("x", connection_pool=pool)
    assert pooled.url == "redis://127.0.0.1:1/0"
    pool.disconnect()


def test_blocking_reserve_wakes_on_enqueue(make_storage: StorageFactory) -> None:
    """A blocked reserve returns as soon as another client enqueues, not at its timeout."""
    waiter = make_storage(PriorityRedisStorage, read_timeout=5)
    producer = make_storage(PriorityRedisStorage, name=waiter.name)
    got: list[object] = []

    def wait() -> None:
        got.append(waiter.reserve(1.0, 30.0))

    thread = threading.Thread(target=wait)
    started = time.monotonic()
    thread.start()
    time.sleep(0.1)  # real Redis blocking: let the reserve reach BRPOP first
    producer.enqueue(b"wake up", 1)
    thread.join(5)
    assert time.monotonic() - started < 2.5
    assert len(got) == 1
    lease = got[0]
    assert lease is not None
    assert getattr(lease, "data", None) == b"wake up"


def test_blocking_reads_time_out_empty(make_storage: StorageFactory) -> None:
    """On an empty queue blocking dequeue and reserve give up after read_timeout."""
    for cls in (RedisStorage, PriorityRedisStorage):
        storage = make_storage(cls, read_timeout=0.1)
        started = time.monotonic()
        assert storage.dequeue() is None
        assert storage.reserve(1.0, 5.0) is None
        assert 0.1 <= time.monotonic() - started < 2.0


class _NoSleepClock:
    """A clock whose sleep fails the test: notify_result must not poll."""

    def time(self) -> float:
        """Real wall-clock time."""
        return time.time()

    def monotonic(self) -> float:
        """Real monotonic time."""
        return time.monotonic()

    def sleep(self, seconds: float, /) -> None:
        """Polling is a failure here."""
        raise AssertionError(f"Result.get slept {seconds}s instead of waiting on Redis")


def _addition_taken(
    name: str, redis_url: str
) -> tuple[RedisHuey[Literal[True]], Result[int], Task[Any]]:
    """A huey with ``notify_result`` on which ``add(2, 3)`` was called, the result handle
    and the task's message, taken off the queue (polling fails the test)."""
    huey = RedisHuey(name, url=redis_url, notify_result=True, clock=_NoSleepClock())

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 3)
    task = huey.dequeue()
    assert task is not None
    return huey, result, task


def test_notify_result_wakes_the_reader(redis_url: str) -> None:
    """With notify_result a blocked Result.get is woken by the store, without polling."""
    huey, result, task = _addition_taken("notify", redis_url)
    stored_at: list[float] = []

    def worker() -> None:
        time.sleep(0.3)
        huey.execute(task)
        stored_at.append(time.monotonic())

    thread = threading.Thread(target=worker)
    thread.start()
    assert result.get(blocking=True, timeout=10) == 5
    woke_at = time.monotonic()
    thread.join()
    assert woke_at - stored_at[0] < 0.2
    dispose(huey)


def test_a_blocking_get_of_a_result_whose_wake_up_is_gone_returns_at_once(
    redis_url: str,
) -> None:
    """A blocking get of a result stored before it came, its wake-up taken by another
    reader (or expired), reads it without waiting for a wake-up."""
    huey, result, task = _addition_taken("notify-late", redis_url)
    huey.execute(task)
    storage = huey.storage
    assert isinstance(storage, RedisStorage)
    assert storage.pop_data("warm-up") is EmptyData  # loads the read script
    assert storage.wait_result(result.id, 1.0) is True  # another reader's
    started = time.monotonic()
    assert result.get(blocking=True, timeout=10) == 5
    assert time.monotonic() - started < 0.5  # a wait would last up to a second
    dispose(huey)


def test_a_blocking_read_after_script_flush_reads_without_waiting(
    make_storage: StorageFactory,
) -> None:
    """After the server forgot its scripts, the first read and the wait sent together
    still find a stored value at once (the read script is then loaded and run again)."""
    storage = make_storage(RedisStorage, blocking=False, notify_result=True, read_timeout=5)
    storage.put_result("task-1", b"value")
    assert storage.wait_result("task-1", 1.0) is True
    raw(storage.url).script_flush()
    started = time.monotonic()
    assert storage.read_or_wait("task-1", 5.0, False) == b"value"
    assert time.monotonic() - started < 2.0
    assert storage.peek_data("task-1") is EmptyData


def test_a_blocking_read_returns_what_it_popped_when_a_command_before_it_failed(
    make_storage: StorageFactory,
) -> None:
    """The read sent with the wait pops the value: when a command before it in the same
    write fails (here the wake-up list is not a list), the value is returned, not lost."""
    storage = make_storage(RedisStorage, blocking=False, notify_result=True, read_timeout=5)
    assert storage.pop_data("warm-up") is EmptyData  # loads the read script
    storage.put_result("task-1", b"value")
    done = storage._done_key("task-1")  # pyright: ignore[reportPrivateUsage]  # broken on purpose
    raw(storage.url).set(done, b"not a list")
    assert storage.read_or_wait("task-1", 5.0, False) == b"value"
    assert storage.peek_data("task-1") is EmptyData


def test_scripts_reload_after_script_flush(make_storage: StorageFactory) -> None:
    """After the server forgets its scripts (restart, SCRIPT FLUSH) they are reloaded."""
    storage = make_storage(PriorityRedisStorage, blocking=False)
    storage.enqueue(b"before")
    raw(storage.url).script_flush()
    storage.enqueue(b"after")
    assert list(storage.enqueued_items()) == [b"before", b"after"]


def test_huey_classes_are_typed_by_results_mode(redis_url: str) -> None:
    """The results mode chooses the type parameter of every Redis huey class."""
    on = RedisHuey("typed", url=redis_url)
    off = PriorityRedisHuey("typed", url=redis_url, results=False)
    flag: bool = bool(len(redis_url))
    either = RedisExpireHuey("typed", url=redis_url, results=flag, expire_time=10)
    assert_type(on, RedisHuey[Literal[True]])
    assert_type(off, PriorityRedisHuey[Literal[False]])
    assert_type(either, RedisExpireHuey[bool])

    @off.task()
    def nothing() -> int:
        return 1

    assert_type(nothing(), None)
    for huey in (on, off, either):
        dispose(huey)


def test_import_huey_does_not_import_redis() -> None:
    """huey and huey.storage import without redis-py; the Redis names load on use."""
    code = (
        "import sys, huey, huey.storage\n"
        "assert 'redis' not in sys.modules, 'redis imported eagerly'\n"
        "assert huey.RedisHuey.__name__ == 'RedisHuey'\n"
        "assert huey.storage.PriorityRedisExpireStorage.priority\n"
        "assert 'redis' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("cls", ALL)
def test_put_if_empty_takes_huey_35s_ttl(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """``put_if_empty(key, value, ttl)`` as huey 3.5 spells it sets a time-to-live."""
    storage = make_storage(cls)
    assert storage.put_if_empty("k", b"1", 60) is True
    assert storage.put_if_empty("k", b"2", 60) is False
    assert storage.peek_data("k") == b"1"
