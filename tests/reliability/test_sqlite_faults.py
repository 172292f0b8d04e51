"""Scenario 9: SQLite locked by a foreign transaction, full, and read-only.

Producers get a typed error at once (nothing half-written), a running consumer backs
off and recovers by itself, and the file passes ``PRAGMA integrity_check`` afterwards.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from huey import Huey
from huey.exceptions import StorageAccessError, StorageBusy, StorageFull
from huey.storage import SqliteStorage

from .harness import App, keys, record, wait_until

pytestmark = pytest.mark.integration


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _finish(app: App) -> None:
    for consumer in app.consumers:
        consumer.signal(signal.SIGINT)
    for consumer in app.consumers:
        assert consumer.wait(30) is not None, "a consumer did not stop on SIGINT"


def test_a_foreign_exclusive_lock(tmp_path: Path) -> None:
    """Producers get StorageBusy; the consumer backs off, then drains the queue."""
    database = tmp_path / "locked.db"
    app = App(tmp_path, str(database), env={"RELIABILITY_BUSY": "0.2"})
    producer = SqliteStorage("battery", database, timeout=0.2)
    work = keys("l", 20)
    # Tasks long enough that the lock is taken while the consumer still has work to
    # settle: an idle consumer only reads, which WAL allows beside an exclusive lock.
    for key in work[:10]:
        app.ids[key] = app.work(key, 300).id
    consumer = app.consumer("-w", "2")
    wait_until(lambda: len(app.ledger.starts()) > 0, 30, "the first task to start")
    foreign = sqlite3.connect(database, isolation_level=None)
    foreign.execute("BEGIN EXCLUSIVE")
    try:
        wait_until(lambda: "storage failed" in consumer.log_text(), 30, "the consumer to back off")
        with pytest.raises(StorageBusy, match="locked"):
            producer.enqueue(b"refused")
        time.sleep(0.5)  # the lock is held for well over twice the busy timeout
        foreign.execute("ROLLBACK")
        for key in work[10:]:
            app.ids[key] = app.work(key, 0).id
        wait_until(lambda: app.ledger.ended() >= set(work), 30, "every task after the lock")
        log = consumer.log_text()
        _finish(app)
    finally:
        foreign.close()
        app.stop_all()
    counters = app.counters(work)
    record("sqlite-locked", **counters.as_dict())
    assert "storage is back" in log
    assert counters.lost == 0
    assert app.huey.pending_count() == 0
    assert _integrity(database) == "ok"


def test_a_full_database(tmp_path: Path) -> None:
    """A producer capped by max_page_count gets StorageFull; what it stored still runs."""
    database = tmp_path / "full.db"
    app = App(tmp_path, str(database))
    pages = int(sqlite3.connect(database).execute("PRAGMA page_count").fetchone()[0])
    capped = SqliteStorage("battery", database, pragmas={"max_page_count": pages + 4})
    producer: Huey[Any] = Huey("battery", storage=capped)

    @producer.task(name="work")
    def work(key: str, ms: int) -> str:  # run by the consumer's own "work"
        return key

    accepted: list[str] = []

    def fill() -> None:
        for index in range(10_000):
            key = f"f{index}-" + "x" * 500
            work(key, 0)
            accepted.append(key)

    with pytest.raises(StorageFull, match="full"):
        fill()
    assert accepted, "some enqueues fit before the cap"
    consumer = app.consumer("-w", "2")
    try:
        wait_until(lambda: app.ledger.ended() >= set(accepted), 30, "the accepted tasks to run")
        assert consumer.alive()
        _finish(app)
    finally:
        app.stop_all()
    record("sqlite-full", accepted=len(accepted), **app.counters(accepted).as_dict())
    assert app.huey.pending_count() == 0
    assert _integrity(database) == "ok"


def test_a_read_only_database(tmp_path: Path) -> None:
    """A producer on a read-only connection gets StorageAccessError; nothing is written."""
    database = tmp_path / "ro.db"
    app = App(tmp_path, str(database))
    app.work("before", 0)
    read_only = SqliteStorage("battery", f"file:{database}?mode=ro", uri=True)
    with pytest.raises(StorageAccessError):
        read_only.enqueue(b"refused")
    assert app.huey.pending_count() == 1
    assert _integrity(database) == "ok"
