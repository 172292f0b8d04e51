"""The public conformance suite ``huey.testing.check_storage`` against every storage."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pytest
from typing_extensions import override

from huey.protocols import Lease
from huey.storage import FileStorage, MemoryStorage, SqliteStorage
from huey.testing import STORAGE_CHECKS, MockClock, check_storage

from .base_only import BaseOnlyStorage


def test_memory_storage_conforms() -> None:
    """MemoryStorage passes every check, capabilities included."""
    assert tuple(check_storage(MemoryStorage)) == STORAGE_CHECKS


def test_sqlite_storage_conforms(tmp_path: Path) -> None:
    """SqliteStorage passes every check, with many queues sharing one file."""
    names = itertools.count()
    ran = check_storage(lambda: SqliteStorage(f"q{next(names)}", tmp_path / "shared.db"))
    assert tuple(ran) == STORAGE_CHECKS


def test_sqlite_storage_conforms_with_strict_fifo(tmp_path: Path) -> None:
    """SqliteStorage with strict_fifo and fsync passes every check."""
    files = itertools.count()
    ran = check_storage(
        lambda: SqliteStorage(
            "q", tmp_path / f"{next(files)}.db", strict_fifo=True, fsync=True, journal_mode="delete"
        )
    )
    assert tuple(ran) == STORAGE_CHECKS


def test_file_storage_conforms(tmp_path: Path) -> None:
    """FileStorage passes every check."""
    dirs = itertools.count()
    ran = check_storage(lambda: FileStorage("q", tmp_path / f"d{next(dirs)}", levels=1))
    assert tuple(ran) == STORAGE_CHECKS


def test_file_storage_with_thread_lock_conforms(tmp_path: Path) -> None:
    """FileStorage with use_thread_lock passes every check."""
    dirs = itertools.count()
    ran = check_storage(lambda: FileStorage("q", tmp_path / f"d{next(dirs)}", use_thread_lock=True))
    assert tuple(ran) == STORAGE_CHECKS


def test_base_only_storage_runs_base_checks_only() -> None:
    """A storage without capabilities is checked against the base protocol only."""
    ran = check_storage(BaseOnlyStorage)
    assert "queue_fifo" in ran
    assert not {"counters", "expiring_keys", "lease_basics"} & set(ran)


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


@pytest.mark.parametrize(
    ("storage_class", "message"),
    [
        (_LifoStorage, "[queue_fifo]"),
        (_AckAnythingStorage, "a second ack() of the same token is refused"),
        (_NoDeliveryCountStorage, "a redelivery counts deliveries"),
    ],
)
def test_check_storage_reports_the_broken_rule(
    storage_class: type[MemoryStorage], message: str
) -> None:
    """A storage breaking the contract fails with a message naming the rule."""
    with pytest.raises(AssertionError, match="storage contract violated") as info:
        check_storage(storage_class)
    assert message in str(info.value)


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
