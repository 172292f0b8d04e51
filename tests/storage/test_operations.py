"""huey 3.5's storage API: the capabilities on each storage, and the fallbacks without them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typing_extensions import override

from huey.constants import EmptyData, EmptyDataType
from huey.exceptions import ConfigurationError, StorageError
from huey.protocols import (
    DeadLetter,
    Lease,
    SupportsClose,
    SupportsCompareAndDelete,
    SupportsCounters,
    SupportsDeleteData,
    SupportsExpiringKeys,
    SupportsFlushAll,
    SupportsLeases,
    SupportsPeekMany,
    SupportsSemaphores,
)
from huey.storage import BlackHoleStorage, FileStorage, MemoryStorage, SqliteStorage
from huey.storage._operations import (
    delete_data,
    delete_if_equal,
    flush_all,
    peek_many,
    put_if_empty,
)
from huey.testing import MockClock

from .base_only import BaseOnlyStorage

if TYPE_CHECKING:  # the type checkers compare every method's signature with the protocol
    _memory_cad: SupportsCompareAndDelete = MemoryStorage()
    _memory_peek: SupportsPeekMany = MemoryStorage()
    _memory_delete: SupportsDeleteData = MemoryStorage()
    _memory_flush: SupportsFlushAll = MemoryStorage()
    _memory_sem: SupportsSemaphores = MemoryStorage()
    _memory_close: SupportsClose = MemoryStorage()
    _sqlite_cad: SupportsCompareAndDelete = SqliteStorage()
    _sqlite_peek: SupportsPeekMany = SqliteStorage()
    _sqlite_delete: SupportsDeleteData = SqliteStorage()
    _sqlite_flush: SupportsFlushAll = SqliteStorage()
    _sqlite_sem: SupportsSemaphores = SqliteStorage()
    _file_cad: SupportsCompareAndDelete = FileStorage(path="x")
    _file_peek: SupportsPeekMany = FileStorage(path="x")
    _file_delete: SupportsDeleteData = FileStorage(path="x")
    _file_flush: SupportsFlushAll = FileStorage(path="x")
    _file_sem: SupportsSemaphores = FileStorage(path="x")
    _file_close: SupportsClose = FileStorage(path="x")
    _void_cad: SupportsCompareAndDelete = BlackHoleStorage()
    _void_peek: SupportsPeekMany = BlackHoleStorage()
    _void_delete: SupportsDeleteData = BlackHoleStorage()
    _void_flush: SupportsFlushAll = BlackHoleStorage()
    _void_counters: SupportsCounters = BlackHoleStorage()
    _void_ttl: SupportsExpiringKeys = BlackHoleStorage()
    _void_close: SupportsClose = BlackHoleStorage()


def test_every_bundled_storage_has_the_35_api(tmp_path: Path) -> None:
    """Memory, SQLite and file storages offer every capability of huey 3.5's storage API."""
    storages: list[MemoryStorage | SqliteStorage | FileStorage] = [
        MemoryStorage("m"),
        SqliteStorage("s", tmp_path / "s.db"),
        FileStorage("f", tmp_path / "f"),
    ]
    for storage in storages:
        for capability in (
            SupportsCounters,
            SupportsExpiringKeys,
            SupportsCompareAndDelete,
            SupportsPeekMany,
            SupportsDeleteData,
            SupportsFlushAll,
            SupportsSemaphores,
            SupportsClose,
        ):
            assert isinstance(storage, capability), (type(storage).__name__, capability)


def test_black_hole_storage_has_the_35_api_and_keeps_nothing() -> None:
    """BlackHoleStorage answers the 3.5 API as 3.5's does: it accepts and forgets."""
    storage = BlackHoleStorage("void")
    assert storage.put_if_empty_ttl("k", b"v", 5.0) is True
    assert storage.incr("c", 3) == 3
    assert list(storage.peek_many(["a", "b"])) == [EmptyData, EmptyData]
    assert storage.delete_data("k") is False
    assert storage.delete_if_equal("k", b"v") is False
    storage.delete_counter("c")
    storage.flush_counters()
    storage.flush_all()
    storage.close()
    for capability in (SupportsCounters, SupportsFlushAll, SupportsPeekMany, SupportsClose):
        assert isinstance(storage, capability)


# --- the fallbacks, on a storage with the base protocol only -------------------------


def test_fallbacks_on_a_base_only_storage() -> None:
    """Each operation works on a storage without the capability, through the base API."""
    storage = BaseOnlyStorage("plain")
    storage.put_data("a", b"A")
    assert peek_many(storage, ["a", "missing"]) == [b"A", EmptyData]
    assert delete_if_equal(storage, "a", b"B") is False
    assert delete_if_equal(storage, "a", b"A") is True
    assert storage.peek_data("a") is EmptyData
    storage.put_data("b", b"B")
    assert delete_data(storage, "b") is True
    assert delete_data(storage, "b") is False
    assert put_if_empty(storage, "c", b"C") is True
    assert put_if_empty(storage, "c", b"D") is False
    storage.enqueue(b"q")
    storage.add_to_schedule(b"s", 1.0)
    flush_all(storage)
    assert (storage.queue_size(), storage.schedule_size(), storage.result_store_size()) == (0, 0, 0)


def test_put_if_empty_with_a_ttl_needs_expiring_keys() -> None:
    """A ttl on a storage without expiring keys is refused, naming the capability."""
    with pytest.raises(ConfigurationError, match="SupportsExpiringKeys"):
        put_if_empty(BaseOnlyStorage("plain"), "k", b"v", ttl=5.0)


def test_put_if_empty_with_a_ttl_expires(clock: MockClock) -> None:
    """With a ttl the key frees itself (timed by the storage's clock)."""
    storage = MemoryStorage("m", clock=clock)
    assert put_if_empty(storage, "k", b"v", ttl=5.0) is True
    assert put_if_empty(storage, "k", b"w", ttl=5.0) is False
    clock.advance(5.0)
    assert put_if_empty(storage, "k", b"w") is True


class _LeasingWithoutFlushAll(BaseOnlyStorage):
    """The base protocol, counters and leases, but no ``flush_all``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.memory = MemoryStorage(name)

    @override
    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        self.memory.enqueue(data, priority)

    def incr(self, key: str, amount: int = 1, /) -> int:
        return self.memory.incr(key, amount)

    def delete_counter(self, key: str, /) -> None:
        self.memory.delete_counter(key)

    def flush_counters(self) -> None:
        self.memory.flush_counters()

    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        return self.memory.reserve(now, lease_seconds)

    def extend_lease(self, token: str, now: float, lease_seconds: float, /) -> bool:
        return self.memory.extend_lease(token, now, lease_seconds)

    def ack(self, token: str, /) -> bool:
        return self.memory.ack(token)

    def release(self, token: str, /) -> bool:
        return self.memory.release(token)

    def dead_letter(self, token: str, reason: str, now: float, /) -> bool:
        return self.memory.dead_letter(token, reason, now)

    def requeue_expired(self, now: float, max_deliveries: int, /) -> int:
        return self.memory.requeue_expired(now, max_deliveries)

    def dead_letters(self, limit: int | None = None, /) -> Sequence[DeadLetter]:
        return self.memory.dead_letters(limit)

    def requeue_dead_letter(self, letter_id: str, /) -> bool:
        return self.memory.requeue_dead_letter(letter_id)

    def purge_dead_letters(self) -> int:
        return self.memory.purge_dead_letters()


def test_flush_all_fallback_purges_counters_and_dead_letters() -> None:
    """Without flush_all the fallback empties counters and dead letters too."""
    storage = _LeasingWithoutFlushAll("m")
    assert isinstance(storage, SupportsLeases)
    assert not isinstance(storage, SupportsFlushAll)
    storage.incr("c", 4)
    storage.enqueue(b"poison")
    lease = storage.reserve(1000.0, 30.0)
    assert lease is not None
    storage.dead_letter(lease.token, "bad", 1000.0)
    flush_all(storage)
    assert storage.incr("c") == 1
    assert list(storage.dead_letters()) == []


def test_capabilities_are_used_when_present() -> None:
    """A storage's own atomic method is called instead of the fallback."""
    calls: list[str] = []

    class Recording(MemoryStorage):
        @override
        def delete_if_equal(self, key: str, value: bytes, /) -> bool:
            calls.append("delete_if_equal")
            return super().delete_if_equal(key, value)

        @override
        def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
            calls.append("peek_many")
            return super().peek_many(keys)

    storage = Recording("m")
    delete_if_equal(storage, "k", b"v")
    peek_many(storage, ["k"])
    assert calls == ["delete_if_equal", "peek_many"]


# --- storage-specific details --------------------------------------------------------


def test_memory_semaphores_follow_the_injected_clock(clock: MockClock) -> None:
    """MemoryStorage times semaphore holders with its clock: no real waiting in tests."""
    storage = MemoryStorage("m", clock=clock)
    assert storage.semaphore_acquire("s", "a", 1, 10.0)
    assert not storage.semaphore_acquire("s", "b", 1, 10.0)
    clock.advance(9.0)
    assert storage.semaphore_renew("s", "a", 10.0)
    clock.advance(9.0)
    assert not storage.semaphore_acquire("s", "b", 1, 10.0), "the renewed holder kept it"
    clock.advance(1.0)
    assert storage.semaphore_acquire("s", "b", 1, 10.0), "an unrenewed holder expires"
    assert list(storage.semaphore_holders("s")) == ["b"]


def test_sqlite_flush_all_leaves_other_queues_alone(tmp_path: Path) -> None:
    """flush_all() on one queue of a shared file keeps the other queues' rows."""
    mine, theirs = (SqliteStorage(name, tmp_path / "shared.db") for name in ("mine", "theirs"))
    for storage in (mine, theirs):
        storage.enqueue(b"q")
        storage.put_data("k", b"v")
        storage.incr("c")
        storage.semaphore_acquire("s", "h", 1, 60.0)
    mine.flush_all()
    assert (mine.queue_size(), mine.result_store_size()) == (0, 0)
    assert (theirs.queue_size(), theirs.result_store_size(), theirs.incr("c")) == (1, 1, 2)
    assert list(theirs.semaphore_holders("s")) == ["h"]


def test_sqlite_file_of_an_older_huey_gains_the_semaphore_table(tmp_path: Path) -> None:
    """A database made before semaphores existed gets the table when opened."""
    path = tmp_path / "old.db"
    SqliteStorage("q", path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE huey_semaphore")
    storage = SqliteStorage("q", path)
    assert storage.semaphore_acquire("s", "h", 1, 60.0)


def test_file_storage_reopens_after_close(tmp_path: Path) -> None:
    """close() releases the lock file and journal; the next call opens them again."""
    storage = FileStorage("f", tmp_path / "f")
    storage.enqueue(b"a")
    storage.close()
    storage.close()  # closing twice is harmless
    storage.enqueue(b"b")
    assert [storage.dequeue(), storage.dequeue(), storage.dequeue()] == [b"a", b"b", None]


def test_file_storage_reports_a_damaged_semaphore_file(tmp_path: Path) -> None:
    """A semaphore file that is not what huey wrote raises StorageError, naming it."""
    storage = FileStorage("f", tmp_path / "f")
    storage.semaphore_acquire("s", "h", 1, 60.0)
    (damaged,) = (tmp_path / "f" / "semaphores").iterdir()
    damaged.write_bytes(b"not json")
    with pytest.raises(StorageError, match="semaphore file"):
        storage.semaphore_holders("s")


def test_bundled_storages_take_huey_35s_put_if_empty_ttl(tmp_path: Path, clock: MockClock) -> None:
    """``storage.put_if_empty(key, value, ttl)``, the 3.5 form, on every local storage."""
    storages: list[MemoryStorage | SqliteStorage | FileStorage] = [
        MemoryStorage("m", clock=clock),
        SqliteStorage("s", tmp_path / "s.db"),
        FileStorage("f", path=tmp_path / "files"),
    ]
    for storage in storages:
        assert storage.put_if_empty("k", b"1", 60) is True
        assert storage.put_if_empty("k", b"2", 60) is False
        assert storage.put_if_empty("plain", b"1") is True
        assert storage.peek_data("k") == b"1"
    memory = storages[0]
    assert isinstance(memory, MemoryStorage)
    clock.advance(61)
    assert memory.peek_data("k") is EmptyData  # the ttl applied
    assert memory.peek_data("plain") == b"1"
    assert BlackHoleStorage("b").put_if_empty("k", b"1", 60) is True
