"""SqliteStorage and SqliteHuey: configuration, faults, shared files, threads."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any, cast

import pytest

from huey import SqliteHuey
from huey.exceptions import (
    ConfigurationError,
    StorageAccessError,
    StorageBusy,
    StorageCorrupt,
    StorageError,
    StorageFull,
)
from huey.protocols import SupportsDurabilityReport
from huey.storage import SqliteStorage
from huey.testing import MockClock


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filename": ":memory:"}, "needs a database file"),
        ({"filename": ""}, "needs a database file"),
        ({"journal_mode": "bogus"}, "journal_mode"),
        ({"cache_mb": -1}, "cache_mb"),
        ({"timeout": -1}, "timeout"),
        ({"pragmas": {"max_page_count; DROP": 1}}, "invalid pragma"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"poll_interval": -1}, "poll_interval"),
    ],
)
def test_bad_configuration_is_refused(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    """Invalid parameters raise ConfigurationError before anything is opened."""
    options: dict[str, object] = {"filename": tmp_path / "x.db", **kwargs}
    with pytest.raises(ConfigurationError, match=message):
        SqliteStorage("q", **cast("dict[str, Any]", options))  # wrong values on purpose


def test_locked_database_beyond_timeout_raises_storage_busy(tmp_path: Path) -> None:
    """A write blocked past ``timeout`` raises StorageBusy naming the file; nothing is written.

    So retrying the refused enqueue stores the message once: a SQLite enqueue is one
    transaction, never applied without the call returning.
    """
    path = tmp_path / "locked.db"
    storage = SqliteStorage("q", path, timeout=0.05)
    storage.enqueue(b"before")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageBusy, match="locked") as info:
            storage.enqueue(b"blocked")
        assert str(path) in str(info.value)
        assert info.value.storage == str(path)
        assert list(storage.enqueued_items()) == [b"before"]  # readers are not blocked (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()
    storage.enqueue(b"blocked")  # the caller's retry: the refused call wrote nothing
    assert list(storage.enqueued_items()) == [b"before", b"blocked"]


def _locked_rollback_journal_file(path: Path, lock: str) -> sqlite3.Connection:
    """A new file in rollback-journal mode; the returned connection holds ``BEGIN <lock>``."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE other (x)")
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    other.execute(f"BEGIN {lock}")
    other.execute("INSERT INTO other VALUES (1)")
    return other


@pytest.mark.parametrize("lock", ["IMMEDIATE", "EXCLUSIVE"])
def test_opening_a_locked_file_waits_for_the_lock(tmp_path: Path, lock: str) -> None:
    """Opening a file not yet in WAL mode while another connection writes to it waits for
    that write to end (within ``timeout``), then switches to WAL and works."""
    path = tmp_path / "busy.db"
    other = _locked_rollback_journal_file(path, lock)
    release = threading.Timer(0.2, lambda: other.execute("COMMIT"))
    release.start()
    try:
        started = time.monotonic()
        storage = SqliteStorage("q", path, timeout=5.0)
        waited = time.monotonic() - started
    finally:
        release.join()
        other.close()
    assert 0.1 < waited < 4.0
    storage.enqueue(b"x")
    assert storage.dequeue() == b"x"
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT x FROM other").fetchall() == [(1,)]


@pytest.mark.parametrize("lock", ["IMMEDIATE", "EXCLUSIVE"])
def test_opening_a_file_locked_beyond_timeout_raises_storage_busy(
    tmp_path: Path, lock: str
) -> None:
    """Opening a file locked for longer than ``timeout`` raises StorageBusy after about
    ``timeout``, not at once; the file is left in its journal mode."""
    path = tmp_path / "busy.db"
    other = _locked_rollback_journal_file(path, lock)
    try:
        started = time.monotonic()
        with pytest.raises(StorageBusy, match="locked") as info:
            SqliteStorage("q", path, timeout=0.3)
        waited = time.monotonic() - started
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert 0.25 < waited < 3.0
    assert info.value.storage == str(path)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_read_only_database_raises_access_error(tmp_path: Path) -> None:
    """Writing through a read-only connection raises StorageAccessError; reads still work."""
    path = tmp_path / "ro.db"
    SqliteStorage("q", path).enqueue(b"x")
    read_only = SqliteStorage("q", f"file:{path}?mode=ro", uri=True)
    assert read_only.queue_size() == 1
    with pytest.raises(StorageAccessError, match="readonly") as info:
        read_only.enqueue(b"y")
    assert "ro.db" in str(info.value)
    assert read_only.queue_size() == 1


def test_full_database_raises_storage_full_and_keeps_earlier_writes(tmp_path: Path) -> None:
    """A full database raises StorageFull; earlier writes stay and the storage stays usable."""
    storage = SqliteStorage("q", tmp_path / "full.db", pragmas={"max_page_count": 30})
    written = 0
    error: StorageFull | None = None
    for _ in range(1000):
        try:
            storage.enqueue(b"x" * 2000)
        except StorageFull as exc:
            error = exc
            break
        written += 1
    assert error is not None
    assert "full.db" in str(error)
    assert 0 < written < 1000
    assert storage.queue_size() == written
    assert storage.dequeue() == b"x" * 2000
    storage.enqueue(b"small")  # space freed by the dequeue is reused
    assert storage.queue_size() == written


def test_non_sqlite_file_raises_storage_corrupt(tmp_path: Path) -> None:
    """A file that is not a SQLite database is reported at construction."""
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the pages you are looking for\n" * 200)
    with pytest.raises(StorageCorrupt, match="not a SQLite database") as info:
        SqliteStorage("q", path)
    assert "notes.txt" in str(info.value)
    assert path.read_bytes().startswith(b"these are not")  # left untouched


def test_missing_directory_raises_access_error(tmp_path: Path) -> None:
    """A file in a directory that does not exist cannot be opened."""
    with pytest.raises(StorageAccessError, match="cannot be opened"):
        SqliteStorage("q", tmp_path / "missing" / "x.db")


def test_storage_errors_share_one_base_class() -> None:
    """Every typed storage error is a StorageError."""
    for cls in (StorageBusy, StorageFull, StorageCorrupt, StorageAccessError):
        assert issubclass(cls, StorageError)


def test_queues_sharing_a_file_are_isolated(tmp_path: Path) -> None:
    """Two names in one file see only their own queue, schedule, values and counters."""
    path = tmp_path / "shared.db"
    first, second = SqliteStorage("first", path), SqliteStorage("second", path)
    first.enqueue(b"f")
    first.add_to_schedule(b"fs", 1.0)
    first.put_data("k", b"fv")
    first.incr("c", 5)
    lease = first.reserve(10.0, 1.0)
    assert lease is not None
    first.dead_letter(lease.token, "test", 10.0)
    first.enqueue(b"f2")
    assert (second.queue_size(), second.schedule_size(), second.result_store_size()) == (0, 0, 0)
    assert second.reserve(10.0, 1.0) is None
    assert not second.ack(lease.token)
    assert second.incr("c") == 1
    assert list(second.dead_letters()) == []
    assert second.purge_dead_letters() == 0
    second.flush_queue()
    assert first.queue_size() == 1
    assert len(first.dead_letters()) == 1


def test_strict_fifo_must_be_chosen_when_the_file_is_created(tmp_path: Path) -> None:
    """strict_fifo=True on a file created without it is refused with an explanation."""
    path = tmp_path / "plain.db"
    SqliteStorage("q", path)
    with pytest.raises(ConfigurationError, match="strict_fifo"):
        SqliteStorage("q", path, strict_fifo=True)
    strict = SqliteStorage("q", tmp_path / "strict.db", strict_fifo=True)
    for item in (b"1", b"2"):
        strict.enqueue(item)
    assert strict.dequeue() == b"1"
    SqliteStorage("q", tmp_path / "strict.db", strict_fifo=True)  # reopening is fine


def test_each_thread_uses_its_own_connection(tmp_path: Path) -> None:
    """Threads writing at once do not share a connection (no ProgrammingError, no loss)."""
    storage = SqliteStorage("q", tmp_path / "threads.db")
    errors: list[BaseException] = []

    def produce(prefix: str) -> None:
        try:
            for index in range(50):
                storage.enqueue(f"{prefix}{index}".encode())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=produce, args=(p,)) for p in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert storage.queue_size() == 200


def test_close_then_reuse_reopens(tmp_path: Path) -> None:
    """close() releases connections; the next call opens a new one."""
    storage = SqliteStorage("q", tmp_path / "c.db")
    storage.enqueue(b"x")
    storage.close()
    storage.close()  # twice is harmless
    assert storage.dequeue() == b"x"


def test_wal_is_the_default_journal_mode(tmp_path: Path) -> None:
    """A new file is switched to WAL, so readers never wait for a writer."""
    path = tmp_path / "wal.db"
    SqliteStorage("q", path)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_huey_runs_tasks_and_stores_results(tmp_path: Path) -> None:
    """SqliteHuey forwards its storage parameters and works end to end."""
    huey = SqliteHuey("app", filename=tmp_path / "app.db", timeout=1.0, clock=MockClock())

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(1, 2)
    assert isinstance(huey.storage, SqliteStorage)
    assert huey.storage.filename == str(tmp_path / "app.db")
    assert huey.storage.timeout == 1.0
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    assert result.get() == 3


def test_sqlite_huey_without_results(tmp_path: Path) -> None:
    """SqliteHuey(results=False) returns None from task calls."""
    huey = SqliteHuey("app", results=False, filename=tmp_path / "app.db")

    @huey.task()
    def noop() -> None:
        return None

    assert noop() is None
    assert huey.pending_count() == 1


def test_bad_limits_and_priorities_are_refused(tmp_path: Path) -> None:
    """Listing limits and priorities are validated with ValueError."""
    storage = SqliteStorage("q", tmp_path / "v.db")
    with pytest.raises(ValueError, match="limit"):
        storage.enqueued_items(-1)
    with pytest.raises(ValueError, match="64 bits"):
        storage.enqueue(b"x", 2**70)
    with pytest.raises(ValueError, match="ttl"):
        storage.put_if_empty_ttl("k", b"v", 0)


def test_schedule_table_of_an_older_huey_gains_a_priority_column(tmp_path: Path) -> None:
    """A schedule table without ``priority`` is extended in place; its rows keep working."""
    path = tmp_path / "old.db"
    SqliteStorage("q", path).close()
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("DROP TABLE huey_schedule")
        db.execute(
            """CREATE TABLE huey_schedule (id INTEGER PRIMARY KEY, queue TEXT NOT NULL,
               data BLOB NOT NULL, timestamp REAL NOT NULL)"""
        )
        db.execute("INSERT INTO huey_schedule (queue, data, timestamp) VALUES ('q', x'6f6c64', 1)")
    storage = SqliteStorage("q", path)
    storage.add_to_schedule_with_priority(b"new", 2.0, 9)
    asked: list[bytes] = []

    def priority_of(data: bytes) -> int:
        asked.append(data)
        return 4

    assert list(storage.move_due(5.0, priority_of)) == [b"old", b"new"]
    assert asked == [b"old"]
    assert list(storage.enqueued_items()) == [b"new", b"old"]
    with pytest.raises(ValueError, match="64 bits"):
        storage.add_to_schedule_with_priority(b"x", 1.0, 2**70)


@pytest.mark.parametrize(
    ("options", "warning"),
    [
        ({}, "fsync=False"),
        ({"fsync": True, "journal_mode": "memory"}, "journal_mode=memory"),
        ({"fsync": True}, None),
    ],
    ids=["default", "memory-journal", "fsync"],
)
def test_the_consumer_is_told_what_a_power_loss_can_lose(
    tmp_path: Path, options: dict[str, Any], warning: str | None
) -> None:
    """Without fsync (or with a volatile journal) the storage says what can be lost."""
    storage = SqliteStorage("durable", tmp_path / "durable.db", **options)
    assert isinstance(storage, SupportsDurabilityReport)
    text = storage.persistence_warning()
    if warning is None:
        assert text is None
    else:
        assert text is not None
        assert warning in text
