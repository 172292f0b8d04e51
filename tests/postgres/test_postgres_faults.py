"""PostgreSQL faults: a server restart, locked tables, statement timeouts, bad credentials."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import psycopg
import pytest

from huey.exceptions import StorageBusy
from huey.storage.postgres import PostgresConnectionFailed, PostgresStorage

from .conftest import PASSWORD, PgServer, StorageFactory, dsn_with

pytestmark = pytest.mark.postgres


def test_unknown_user_is_one_clear_error_without_the_password(pg_dsn: str) -> None:
    secret = "no-such-pw-7f3a"
    storage = PostgresStorage("q", dsn_with(pg_dsn, user="no_such_huey_user", password=secret))
    with pytest.raises(PostgresConnectionFailed) as caught:
        storage.check_connection()
    message = str(caught.value)
    assert secret not in message
    assert "no_such_huey_user" in message
    assert message.startswith("PostgreSQL at postgresql://")
    assert "\n" not in message
    assert secret not in caught.value.storage
    storage.close()


def test_wrong_password_is_one_clear_error_without_the_password(pg_server: PgServer) -> None:
    wrong = "wrong-" + PASSWORD
    storage = PostgresStorage("q", dsn_with(pg_server.dsn, password=wrong))
    with pytest.raises(PostgresConnectionFailed, match="password authentication failed") as caught:
        storage.enqueue(b"x")
    assert wrong not in str(caught.value)
    assert PASSWORD not in str(caught.value)
    storage.close()


def _lock_table(dsn: str, table: str) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection whose open transaction holds ``table`` exclusively."""
    conn = psycopg.connect(dsn)
    conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE".encode())
    return conn


@pytest.mark.parametrize(
    "options",
    [(0.2, None), (30.0, 0.2)],
    ids=["lock_timeout", "statement_timeout"],
)
def test_locked_table_is_storage_busy_and_nothing_is_written(
    make_storage: StorageFactory, pg_dsn: str, options: tuple[float, float | None]
) -> None:
    """Another transaction holding the table: a typed StorageBusy after the timeout, no
    half-written task; once the lock goes, everything works."""
    lock_timeout, statement_timeout = options
    storage = make_storage(
        blocking=False, lock_timeout=lock_timeout, statement_timeout=statement_timeout
    )
    storage.enqueue(b"before")
    locker = _lock_table(pg_dsn, "huey_task")
    try:
        with pytest.raises(StorageBusy, match="nothing was written"):
            storage.enqueue(b"blocked")
        with pytest.raises(StorageBusy):
            storage.reserve(1000.0, 30.0)
    finally:
        locker.rollback()
        locker.close()
    storage.enqueue(b"after")
    assert storage.enqueued_items() == [b"before", b"after"]


def _wait_listening(dsn: str, count: int) -> None:
    deadline = time.monotonic() + 20
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            row = conn.execute(
                b"SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LISTEN %%' "
                b"AND datname = current_database()"
            ).fetchone()
            if row is not None and row[0] >= count:
                return
            assert time.monotonic() < deadline, "no listening connection"
            time.sleep(0.02)


def test_server_crash_keeps_everything_and_storages_reconnect(
    make_storage: StorageFactory, pg_server: PgServer, pg_dsn: str
) -> None:
    """After a crash and restart of the server: queued, leased, scheduled and stored data
    are all there; reads retry on a new connection at once; the listener reconnects."""
    storage = make_storage(read_timeout=30)
    producer = make_storage(storage.name, blocking=False)
    for item in (b"a", b"b", b"c"):
        producer.enqueue(item)
    lease = producer.reserve(1000.0, 60.0)
    assert lease is not None
    producer.add_to_schedule(b"later", 5000.0)
    producer.put_data("k", b"v")
    assert storage.dequeue() == b"b"  # starts the listener
    _wait_listening(pg_dsn, 1)

    pg_server.restart(signal.SIGQUIT)  # an immediate shutdown: crash recovery on start

    assert producer.enqueued_items() == [b"c"]  # a read retries on a fresh connection
    assert producer.leased_count() == 1
    assert producer.scheduled_items() == [b"later"]
    assert producer.peek_data("k") == b"v"
    assert producer.ack(lease.token)
    producer.enqueue(b"d")  # enqueue retries too (its key makes a resend harmless)
    assert producer.queue_size() == 2
    # The waiting storage's listener is back: a new item wakes it at once.
    assert storage.dequeue() == b"c"
    _wait_listening(pg_dsn, 1)
    got: list[bytes | None] = []
    thread = threading.Thread(target=lambda: got.append(storage.dequeue()))
    started = time.monotonic()
    assert producer.dequeue() == b"d"
    thread.start()
    time.sleep(0.1)
    producer.enqueue(b"e")
    thread.join(40)
    assert got == [b"e"]
    assert time.monotonic() - started < 15, "woken by read_timeout, not by the notification"
