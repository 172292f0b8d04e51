"""The public conformance suite ``huey.testing.check_storage`` against every storage."""

from __future__ import annotations

import itertools
import math
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from typing_extensions import override

from huey.constants import EmptyData, EmptyDataType
from huey.protocols import (
    Lease,
    LeaseCounts,
    SupportsDeadLetterDeletion,
    SupportsLeaseCounts,
    SupportsLeases,
)
from huey.storage import FileStorage, MemoryStorage, SqliteStorage
from huey.testing import STORAGE_CHECKS, MockClock, check_storage

from .base_only import BaseOnlyStorage, LeasesOnlyStorage


def test_memory_storage_conforms() -> None:
    """MemoryStorage passes every check, capabilities included."""
    assert tuple(check_storage(MemoryStorage)) == (*STORAGE_CHECKS, "settle")


def test_sqlite_storage_conforms(tmp_path: Path) -> None:
    """SqliteStorage passes every check, with many queues sharing one file."""
    names = itertools.count()
    ran = check_storage(lambda: SqliteStorage(f"q{next(names)}", tmp_path / "shared.db"))
    assert tuple(ran) == (*STORAGE_CHECKS, "settle")


def test_sqlite_storage_conforms_with_strict_fifo(tmp_path: Path) -> None:
    """SqliteStorage with strict_fifo and fsync passes every check."""
    files = itertools.count()
    ran = check_storage(
        lambda: SqliteStorage(
            "q", tmp_path / f"{next(files)}.db", strict_fifo=True, fsync=True, journal_mode="delete"
        )
    )
    assert tuple(ran) == (*STORAGE_CHECKS, "settle")


def test_file_storage_conforms(tmp_path: Path) -> None:
    """FileStorage passes every check."""
    dirs = itertools.count()
    ran = check_storage(lambda: FileStorage("q", tmp_path / f"d{next(dirs)}", levels=1))
    assert tuple(ran) == (*STORAGE_CHECKS, "settle")


def test_file_storage_with_thread_lock_conforms(tmp_path: Path) -> None:
    """FileStorage with use_thread_lock passes every check."""
    dirs = itertools.count()
    ran = check_storage(lambda: FileStorage("q", tmp_path / f"d{next(dirs)}", use_thread_lock=True))
    assert tuple(ran) == (*STORAGE_CHECKS, "settle")


def test_base_only_storage_runs_base_checks_only() -> None:
    """A storage without capabilities is checked against the base protocol only."""
    ran = check_storage(BaseOnlyStorage)
    assert "queue_fifo" in ran
    capability_checks = {"counters", "expiring_keys", "lease_basics", "compare_and_delete"}
    capability_checks |= {"peek_many", "delete_data", "flush_all", "semaphores"}
    capability_checks |= {"delete_dead_letter", "lease_counts"}
    assert not capability_checks & set(ran)


def test_the_additions_to_leases_are_optional() -> None:
    """A leasing storage without dead-letter deletion and lease counts passes the lease
    checks; the checks of those two additions do not run."""
    storage = LeasesOnlyStorage()
    assert isinstance(storage, SupportsLeases)
    assert not isinstance(storage, SupportsDeadLetterDeletion | SupportsLeaseCounts)
    ran = set(check_storage(LeasesOnlyStorage))
    assert {"lease_basics", "dead_letters", "dead_letter_listing"} <= ran
    assert not {"delete_dead_letter", "lease_counts"} & ran


class _LifoStorage(MemoryStorage):
    """Broken on purpose: dequeues the newest item first."""

    @override
    def dequeue(self) -> bytes | None:
        items = list(self.enqueued_items())
        if not items:
            return None
        self.flush_queue()
        for item in items[:-1]:
            self.enqueue(item)
        return items[-1]


class _AckAnythingStorage(MemoryStorage):
    """Broken on purpose: accepts acknowledgements with any token."""

    @override
    def ack(self, token: str, /) -> bool:
        super().ack(token)
        return True


class _NoDeliveryCountStorage(MemoryStorage):
    """Broken on purpose: always reports a first delivery."""

    @override
    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        lease = super().reserve(now, lease_seconds)
        if lease is None:
            return None
        return Lease(token=lease.token, data=lease.data, deliveries=1, deadline=lease.deadline)


_CAPACITY = 50


class _CappedQueueStorage(MemoryStorage):
    """Broken on purpose: silently drops queue items beyond a capacity."""

    @override
    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        if self.queue_size() < _CAPACITY:
            super().enqueue(data, priority)


class _CappedScheduleStorage(MemoryStorage):
    """Broken on purpose: silently drops scheduled items beyond a capacity."""

    @override
    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        if self.schedule_size() < _CAPACITY:
            super().add_to_schedule(data, timestamp)


class _TruncatingKeysStorage(MemoryStorage):
    """Broken on purpose: lists keys cut to 250 characters, as some servers store them."""

    @override
    def result_items(self) -> Mapping[str, bytes]:
        return {key[:250]: value for key, value in super().result_items().items()}


class _DuplicatingScheduleStorage(MemoryStorage):
    """Broken on purpose: returns every due item twice."""

    @override
    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        items = super().read_schedule(timestamp)
        return [*items, *items]


class _DeleteAnyValueStorage(MemoryStorage):
    """Broken on purpose: delete_if_equal() ignores the value (an owner check that is not)."""

    @override
    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        return self.delete_data(key)


class _RacyDeleteStorage(MemoryStorage):
    """Broken on purpose: compares, then deletes, in two steps (and reports its own win)."""

    @override
    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        if self.peek_data(key) != value:
            return False
        time.sleep(0.001)  # widen the window between the read and the delete
        self.pop_data(key)
        return True


class _PeekManySkipsMissingStorage(MemoryStorage):
    """Broken on purpose: peek_many() leaves empty keys out instead of EmptyData."""

    @override
    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        return [value for value in super().peek_many(keys) if value is not EmptyData]


class _PeekManyPopsStorage(MemoryStorage):
    """Broken on purpose: peek_many() removes what it reads."""

    @override
    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        return [self.pop_data(key) for key in keys]


class _DeleteDataReportsNothingStorage(MemoryStorage):
    """Broken on purpose: delete_data() removes the key but always reports False."""

    @override
    def delete_data(self, key: str, /) -> bool:
        super().delete_data(key)
        return False


class _FlushAllKeepsCountersStorage(MemoryStorage):
    """Broken on purpose: flush_all() forgets the counters."""

    @override
    def flush_all(self) -> None:
        self.flush_queue()
        self.flush_schedule()
        self.flush_results()


class _UnboundedSemaphoreStorage(MemoryStorage):
    """Broken on purpose: a semaphore admits any number of holders."""

    @override
    def semaphore_acquire(self, name: str, holder: str, limit: int, timeout: float, /) -> bool:
        return super().semaphore_acquire(name, holder, 1_000_000, timeout)


class _ImmortalHolderStorage(MemoryStorage):
    """Broken on purpose: semaphore holders never expire."""

    @override
    def semaphore_acquire(self, name: str, holder: str, limit: int, timeout: float, /) -> bool:
        return super().semaphore_acquire(name, holder, limit, 1e9)


class _DeleteEveryLetterStorage(MemoryStorage):
    """Broken on purpose: delete_dead_letter() deletes every dead letter."""

    @override
    def delete_dead_letter(self, letter_id: str, /) -> bool:
        return self.purge_dead_letters() > 0


class _RacyDeleteLetterStorage(MemoryStorage):
    """Broken on purpose: looks the letter up, then deletes it, in two steps."""

    @override
    def delete_dead_letter(self, letter_id: str, /) -> bool:
        if letter_id not in {letter.id for letter in self.dead_letters()}:
            return False
        time.sleep(0.001)  # widen the window between the read and the delete
        super().delete_dead_letter(letter_id)
        return True


class _NeverExpiredStorage(MemoryStorage):
    """Broken on purpose: lease_counts() counts every lease as in flight."""

    @override
    def lease_counts(self, now: float, /) -> LeaseCounts:
        counts = super().lease_counts(now)
        return LeaseCounts(in_flight=counts.in_flight + counts.expired, expired=0)


class _ExpiredAtDeadlineStorage(MemoryStorage):
    """Broken on purpose: a lease counts as expired at its deadline already."""

    @override
    def lease_counts(self, now: float, /) -> LeaseCounts:
        return super().lease_counts(math.nextafter(now, math.inf))


class _BareAssertStorage(MemoryStorage):
    """Broken on purpose: its own code fails an ``assert`` without a message."""

    @override
    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        value = super().peek_data(key)
        if value is EmptyData:
            raise AssertionError  # what a bare assert raises outside pytest's rewriting
        return value


FAILURE = re.compile(r"^\[\w+\] storage contract violated: (?P<rule>.+?): (?P<detail>.+)$")
MAX_MESSAGE = 400


@pytest.mark.parametrize(
    ("storage_class", "message"),
    [
        (_LifoStorage, "[queue_fifo]"),
        (_AckAnythingStorage, "a second ack() of the same token is refused"),
        (_NoDeliveryCountStorage, "a redelivery counts deliveries"),
        (_CappedQueueStorage, "[concurrent_reserve]"),
        (_CappedScheduleStorage, "[schedule_concurrent_pop]"),
        (_TruncatingKeysStorage, "result_items() maps every key to its value"),
        (_DuplicatingScheduleStorage, "schedule items are returned unchanged"),
        (_BareAssertStorage, "an assert without a message failed at"),
        (_DeleteAnyValueStorage, "delete_if_equal(), other value"),
        (_RacyDeleteStorage, "exactly one of concurrent delete_if_equal() calls wins"),
        (_PeekManySkipsMissingStorage, "peek_many() of an expired key"),
        (_PeekManyPopsStorage, "[peek_many]"),
        (_DeleteDataReportsNothingStorage, "delete_data() of a key holding a value"),
        (_FlushAllKeepsCountersStorage, "flush_all() removes the counters"),
        (_UnboundedSemaphoreStorage, "a full semaphore refuses"),
        (_ImmortalHolderStorage, "an expired holder is dropped"),
        (_DeleteEveryLetterStorage, "delete_dead_letter() deletes that letter alone"),
        (_RacyDeleteLetterStorage, "concurrent delete_dead_letter() calls wins"),
        (_NeverExpiredStorage, "a lease is expired once its deadline passed"),
        (_ExpiredAtDeadlineStorage, "a lease whose deadline is now is still in flight"),
    ],
)
def test_check_storage_reports_the_broken_rule(
    storage_class: type[MemoryStorage], message: str
) -> None:
    """A storage breaking the contract fails with a short message naming check and rule."""
    with pytest.raises(AssertionError) as info:
        check_storage(storage_class)
    text = str(info.value)
    assert message in text
    assert len(text) <= MAX_MESSAGE, text
    assert "\n" not in text
    if storage_class is not _BareAssertStorage:
        found = FAILURE.match(text)
        assert found is not None, text
        assert found["detail"].strip(), text


def test_check_storage_summarises_a_big_queue() -> None:
    """A listing of dozens of items is summarised: its size and the first few items."""
    with pytest.raises(AssertionError) as info:
        check_storage(_CappedScheduleStorage)
    text = str(info.value)
    assert text == (
        "[schedule_concurrent_pop] storage contract violated: concurrent read_schedule() "
        "calls return every due item exactly once: got 50 items, expected 60; "
        "10 missing (first b's50', b's51', b's52', ...)"
    )


def test_check_storage_names_the_check_of_a_storage_error() -> None:
    """An exception raised by the storage keeps its type and gets a note naming the check."""

    class Exploding(MemoryStorage):
        @override
        def incr(self, key: str, amount: int = 1, /) -> int:
            raise KeyError(key)

    with pytest.raises(KeyError) as info:
        check_storage(Exploding)
    assert info.value.__notes__ == ["raised by the storage during check_storage's [counters] check"]


def test_check_storage_needs_fresh_storages() -> None:
    """A factory returning the same storage twice is reported."""
    shared = MemoryStorage()
    with pytest.raises(AssertionError, match="make_storage\\(\\) returns an empty storage"):
        check_storage(lambda: shared)


def test_mock_clock_advances_without_blocking() -> None:
    """MockClock.sleep advances both clocks and records the sleep."""
    clock = MockClock(start=100.0)
    clock.sleep(2.5)
    clock.advance(1.0)
    observed: Sequence[float] = (clock.time(), clock.monotonic())
    assert observed == (103.5, 3.5)
    assert clock.sleeps == [2.5]
