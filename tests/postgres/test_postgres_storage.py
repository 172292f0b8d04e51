"""PostgresStorage beyond the contract: notifications, transactional enqueue, schema, options."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from huey import PostgresHuey
from huey.exceptions import ConfigurationError
from huey.protocols import Lease
from huey.storage._postgres_schema import (
    MAX_IDENTIFIER_BYTES,
    SCHEMA_VERSION,
    TABLES,
    channel_name,
    schema_sql,
)
from huey.storage.postgres import PostgresStorage

from .conftest import PgServer, StorageFactory

pytestmark = pytest.mark.postgres


def _in_thread(target: object) -> tuple[threading.Thread, list[object]]:
    got: list[object] = []

    def run() -> None:
        assert callable(target)
        got.append(target())

    thread = threading.Thread(target=run)
    thread.start()
    return thread, got


def _wait_listening(storage: PostgresStorage, dsn: str) -> None:
    """Until the storage's listening connection is up (it LISTENs on its channels)."""
    channel = channel_name(storage.table_prefix, storage.name, "r")
    deadline = time.monotonic() + 10
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            # The listening connection's last statement is its second LISTEN.
            found = conn.execute(
                b"SELECT count(*) FROM pg_stat_activity WHERE query = %s",
                (f'LISTEN "{channel}"',),
            ).fetchone()
            if found is not None and found[0] >= 1:
                return
            assert time.monotonic() < deadline, "the storage never listened"
            time.sleep(0.02)


def test_idle_reserve_is_woken_by_an_enqueue(make_storage: StorageFactory, pg_dsn: str) -> None:
    """A worker waiting in reserve() takes a new item as soon as it is enqueued (NOTIFY),
    not after its read_timeout."""
    waiting = make_storage(read_timeout=30)
    producer = make_storage(waiting.name, blocking=False)
    started = time.monotonic()
    thread, got = _in_thread(lambda: waiting.reserve(1000.0, 30.0))
    _wait_listening(waiting, pg_dsn)
    time.sleep(0.1)  # let it find the queue empty and wait
    producer.enqueue(b"wake up")
    thread.join(20)
    elapsed = time.monotonic() - started
    assert len(got) == 1
    lease = got[0]
    assert isinstance(lease, Lease)
    assert lease.data == b"wake up"
    assert elapsed < 15, "woken by the read_timeout (30 s), not by the notification"


def test_blocking_dequeue_waits_read_timeout_on_an_empty_queue(
    make_storage: StorageFactory,
) -> None:
    """With nothing to take, a blocking dequeue returns None after about read_timeout."""
    storage = make_storage(read_timeout=0.3)
    started = time.monotonic()
    assert storage.dequeue() is None
    assert time.monotonic() - started >= 0.3


def test_result_reader_is_woken_by_settle(make_storage: StorageFactory, pg_dsn: str) -> None:
    """wait_result() returns as soon as settle() stores the result."""
    storage = make_storage(read_timeout=30)
    storage.enqueue(b"job")
    lease = storage.reserve(1000.0, 30.0)
    assert lease is not None
    assert storage.wait_result("res", 0.01) is False
    _wait_listening(storage, pg_dsn)
    thread, got = _in_thread(lambda: storage.wait_result("res", 30))
    time.sleep(0.1)
    started = time.monotonic()
    assert storage.settle(lease.token, ("res", b"42"), ())
    thread.join(20)
    assert got == [True]
    assert time.monotonic() - started < 15
    assert storage.peek_data("res") == b"42"


def test_wait_result_sees_a_result_stored_before_it_waits(make_storage: StorageFactory) -> None:
    storage = make_storage()
    storage.put_result("early", b"1")
    assert storage.wait_result("early", 30) is True


def test_long_queue_names_get_short_distinct_channels(make_storage: StorageFactory) -> None:
    """Channel names are identifiers (<= 63 bytes): longer ones are cut deterministically."""
    long_a = "q" * 100 + "-a"
    long_b = "q" * 100 + "-b"
    channel_a = channel_name("huey", long_a, "q")
    assert len(channel_a.encode()) <= MAX_IDENTIFIER_BYTES
    assert channel_a == channel_name("huey", long_a, "q")
    assert channel_a != channel_name("huey", long_b, "q")
    assert channel_a != channel_name("huey", long_a, "r")
    unicode_name = "ü" * 80
    assert len(channel_name("huey", unicode_name, "q").encode()) <= MAX_IDENTIFIER_BYTES
    assert channel_name("huey", "short", "q") == "huey:q:short"
    # End to end: a waiting worker of a long-named queue is woken by its enqueue.
    storage = make_storage(long_a, read_timeout=30)
    storage.enqueue(b"x")
    assert storage.dequeue() == b"x"


def test_enqueue_resent_with_its_key_is_not_duplicated(
    make_storage: StorageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An enqueue resent after a lost reply carries the same key: the second insert is a
    no-op (the key is made once per call, on the client)."""
    storage = make_storage(blocking=False)
    monkeypatch.setattr("huey.storage.postgres._new_token", lambda: "fixed-key")
    storage.enqueue(b"once")
    storage.enqueue(b"once")
    assert storage.queue_size() == 1


def test_transactional_enqueue_commit_and_rollback(
    make_storage: StorageFactory, pg_dsn: str
) -> None:
    """Tasks enqueued in the application's transaction exist only if it commits."""
    storage = make_storage(blocking=False)
    with psycopg.connect(pg_dsn) as conn:
        conn.execute(b"CREATE TABLE IF NOT EXISTS orders (id int)")
        conn.commit()
        with storage.transaction(conn):
            conn.execute(b"INSERT INTO orders VALUES (1)")
            storage.enqueue(b"receipt-1")
            storage.add_to_schedule(b"reminder-1", 10.0)
            assert storage.queue_size() == 0, "visible before the commit"
            assert storage.schedule_size() == 0
        assert storage.queue_size() == 1
        assert storage.schedule_size() == 1

        def failing_order() -> None:
            with storage.transaction(conn):
                conn.execute(b"INSERT INTO orders VALUES (2)")
                storage.enqueue(b"receipt-2")
                raise RuntimeError("the order failed")

        with pytest.raises(RuntimeError):
            failing_order()
        # Inside the application's own transaction (a savepoint): its rollback discards it.
        conn.execute(b"INSERT INTO orders VALUES (3)")
        with storage.transaction(conn):
            storage.enqueue(b"receipt-3")
        conn.rollback()
        orders = conn.execute(b"SELECT id FROM orders ORDER BY id").fetchall()
        conn.execute(b"DROP TABLE orders")
        conn.commit()
    assert orders == [(1,)]
    assert storage.enqueued_items() == [b"receipt-1"]
    storage.enqueue(b"outside")  # the pool again, after the block
    assert storage.queue_size() == 2


def test_transactional_enqueue_notifies_only_on_commit(
    make_storage: StorageFactory, pg_dsn: str
) -> None:
    """The waiting worker is woken when the application commits, and finds the task."""
    waiting = make_storage(read_timeout=30)
    producer = make_storage(waiting.name, blocking=False)
    started = time.monotonic()
    thread, got = _in_thread(waiting.dequeue)
    _wait_listening(waiting, pg_dsn)
    with psycopg.connect(pg_dsn) as conn, producer.transaction(conn):
        producer.enqueue(b"committed")
        time.sleep(0.1)
        assert got == []  # not visible, not notified yet
    thread.join(20)
    assert got == [b"committed"]
    assert time.monotonic() - started < 15, "woken by the read_timeout, not the commit"


def test_postgres_huey_transaction_enqueues_tasks(pg_dsn: str) -> None:
    """``PostgresHuey.transaction``: a task call joins the transaction."""
    huey = PostgresHuey(f"tx-{time.monotonic_ns()}", dsn=pg_dsn, blocking=False)

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    try:
        with psycopg.connect(pg_dsn) as conn:

            def failing() -> None:
                with huey.transaction(conn):
                    add(1, 2)
                    raise ValueError("no")

            with pytest.raises(ValueError, match="no"):
                failing()
            assert huey.pending_count() == 0
            with huey.transaction(conn):
                result = add(2, 3)
            assert huey.pending_count() == 1
        task = huey.dequeue()
        assert task is not None
        huey.execute(task)
        assert result.get() == 5
    finally:
        huey.flush()
        storage = huey.storage
        assert isinstance(storage, PostgresStorage)
        storage.close()


def test_schema_is_versioned_and_can_be_made_by_hand(pg_dsn: str) -> None:
    """create_tables=False names the command; the printed SQL makes working tables; a
    newer schema version is refused."""
    prefix = f"hand_{time.monotonic_ns() % 10**9}"
    storage = PostgresStorage("q", pg_dsn, table_prefix=prefix, create_tables=False)
    with pytest.raises(ConfigurationError, match=r"python -m huey\.storage\.postgres --schema"):
        storage.enqueue(b"x")
    printed = subprocess.run(
        [sys.executable, "-m", "huey.storage.postgres", "--schema", "--table-prefix", prefix],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert printed == schema_sql(prefix)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(printed.encode())
        conn.execute(printed.encode())  # running it twice is harmless
        storage.enqueue(b"x")
        assert storage.dequeue() == b"x"
        storage.close()
        conn.execute(f"UPDATE {prefix}_schema SET version = {SCHEMA_VERSION + 1}".encode())
        newer = PostgresStorage("q", pg_dsn, table_prefix=prefix)
        with pytest.raises(ConfigurationError, match="newer than this huey"):
            newer.queue_size()
        newer.close()
        for table in TABLES:
            conn.execute(f"DROP TABLE {prefix}_{table}".encode())


def test_version_1_tables_are_upgraded(pg_dsn: str) -> None:
    """Tables of schema version 1 (before ``<prefix>_recent``): create_tables=False names
    the command (whose SQL upgrades them), the default upgrades them on first use."""
    prefix = f"old_{time.monotonic_ns() % 10**9}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(schema_sql(prefix).encode())
        conn.execute(f"DROP TABLE {prefix}_recent".encode())
        conn.execute(f"UPDATE {prefix}_schema SET version = 1".encode())
        by_hand = PostgresStorage("q", pg_dsn, table_prefix=prefix, create_tables=False)
        with pytest.raises(ConfigurationError, match="have schema version 1"):
            by_hand.enqueue(b"x")
        by_hand.close()
        storage = PostgresStorage("q", pg_dsn, table_prefix=prefix, blocking=False)
        storage.enqueue(b"x")
        assert storage.dequeue() == b"x"
        storage.close()
        version = conn.execute(f"SELECT version FROM {prefix}_schema".encode()).fetchone()
        assert version == (SCHEMA_VERSION,)
        for table in TABLES:
            conn.execute(f"DROP TABLE {prefix}_{table}".encode())


def test_expired_recent_keys_are_pruned_by_the_check_for_expired_leases(
    pg_dsn: str,
) -> None:
    """``<prefix>_recent`` forgets keys past their 30 seconds; live keys stay."""
    storage = PostgresStorage(f"recent-{time.monotonic_ns()}", pg_dsn, blocking=False)
    try:
        storage.enqueue(b"x")  # creates the tables and remembers the enqueue's key
        old, live = f"old-{time.monotonic_ns()}", f"live-{time.monotonic_ns()}"
        recent = "SELECT key FROM huey_recent WHERE key = ANY(%s) ORDER BY key"
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(
                b"INSERT INTO huey_recent (key, expires) VALUES (%s, 0), (%s, %s)",
                (old, live, time.time() + 3600),
            )
            assert storage.requeue_expired(time.time(), 3) == 0
            assert conn.execute(recent.encode(), ([old, live],)).fetchall() == [(live,)]
            conn.execute(b"DELETE FROM huey_recent WHERE key = %s", (live,))
    finally:
        storage.flush_all()
        storage.close()


def test_tables_are_created_once_by_concurrent_first_uses(pg_dsn: str) -> None:
    """Several processes' first uses at once (workers starting) all succeed."""
    prefix = f"race_{time.monotonic_ns() % 10**9}"
    code = (
        "import sys\n"
        "from huey.storage.postgres import PostgresStorage\n"
        f"s = PostgresStorage('q', {pg_dsn!r}, table_prefix={prefix!r}, blocking=False)\n"
        "s.enqueue(b'x')\n"
        "s.close()\n"
    )
    children = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    assert [child.wait(60) for child in children] == [0, 0, 0, 0]
    storage = PostgresStorage("q", pg_dsn, table_prefix=prefix, blocking=False)
    assert storage.queue_size() == 4
    storage.close()
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f"DROP TABLE {prefix}_{table}".encode())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table_prefix": "Bad-Prefix"}, "table_prefix"),
        ({"table_prefix": "x" * 60}, "at most"),
        ({"read_timeout": 0}, "read_timeout"),
        ({"lock_timeout": -1}, "lock_timeout"),
        ({"statement_timeout": 0}, "statement_timeout"),
        ({"max_connections": 0}, "max_connections"),
        ({"dsn": "host=x", "connection": "not a connection"}, "not both"),
        ({"connection": "not a connection"}, "ConnectionPool"),
        ({"dsn": "not a = valid = dsn"}, "connection parameters"),
    ],
)
def test_invalid_options_are_configuration_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        PostgresStorage("q", **kwargs)


def test_construction_does_not_connect() -> None:
    """Nothing is connected until first use (an app may import its huey anywhere)."""
    storage = PostgresStorage("q", "host=127.0.0.1 port=1 connect_timeout=1")
    assert "127.0.0.1:1" in repr(storage)


def test_a_given_connection_is_used_and_polls(pg_dsn: str) -> None:
    """connection= a psycopg Connection: the storage uses it (and cannot listen)."""
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        storage = PostgresStorage(f"given-{time.monotonic_ns()}", connection=conn)
        assert storage.blocking is False
        storage.enqueue(b"a")
        assert storage.dequeue() == b"a"
        storage.flush_all()
        storage.close()
        assert not conn.closed, "the caller's connection stays open"


def test_a_given_pool_is_used_and_can_listen(pg_dsn: str) -> None:
    """connection= a psycopg_pool pool (the application's): used for everything,
    listening included; closing the storage leaves the pool open."""
    pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
        pg_dsn, kwargs={"autocommit": True}, min_size=1, open=True
    )
    with pool:
        storage = PostgresStorage(f"pool-{time.monotonic_ns()}", connection=pool, read_timeout=5)
        assert storage.blocking is True
        storage.enqueue(b"a")
        assert storage.dequeue() == b"a"
        thread, got = _in_thread(storage.dequeue)
        time.sleep(0.2)
        storage.enqueue(b"b")
        thread.join(20)
        assert got == [b"b"]
        storage.flush_all()
        storage.close()
        assert not pool.closed


def test_persistence_warning_names_the_risky_setting(pg_server: PgServer) -> None:
    """The private server runs with fsync=off (for speed): the consumer would warn."""
    storage = PostgresStorage("q", pg_server.dsn, blocking=False)
    warning = storage.persistence_warning()
    storage.close()
    assert warning is not None
    assert "fsync=off" in warning
