"""Scenario 2 on PostgreSQL: the server crashed and restarted while a producer and consumers run.

Each outage is an *immediate* shutdown (SIGQUIT to the postmaster, what ``pg_ctl stop -m
immediate`` sends: every backend quits at once without a checkpoint, and the next start
runs crash recovery). Every enqueue that returned must run; an enqueue the server could
not take raises :class:`~huey.storage.postgres.PostgresConnectionFailed` (never a silent
drop); the consumers ride the outages out without being restarted.
"""

from __future__ import annotations

import functools
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

import huey.storage.postgres as postgres_module
from huey.storage.postgres import PostgresConnectionFailed, PostgresStorage
from tests.postgres_server import PgEnvironment, PgServer

from .conftest import pg_url
from .harness import (
    DEEP,
    SEEDS,
    App,
    Producer,
    check_outage_run,
    drain_and_stop,
    ride_outages,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TASKS = 2000 if DEEP else 300
RESTARTS = 6 if DEEP else 2


@pytest.mark.parametrize("seed", SEEDS)
def test_postgres_crashes_lose_no_acknowledged_enqueue(
    tmp_path: Path, private_pg: PgServer, seed: int
) -> None:
    """lost = 0 for acknowledged enqueues; typed errors; consumers never restarted."""
    rng = random.Random(seed)
    app = App(tmp_path, pg_url(private_pg.dsn), lease=2.0)
    consumers = [app.consumer("-w", "4"), app.consumer("-w", "4", "-k", "process")]
    producer = Producer(app, TASKS, rng).start()
    outages: list[float] = []
    try:
        crash = functools.partial(private_pg.stop, signal.SIGQUIT)
        outages = ride_outages(consumers, rng, RESTARTS, crash, private_pg.start)
        producer.join(120)
        # One more outage, longer than the connection pool's wait for a connection.
        private_pg.stop(signal.SIGQUIT)
        with pytest.raises(PostgresConnectionFailed, match="PostgreSQL at postgresql://"):
            app.work("during-outage", 0)
        private_pg.start()
        rode_out = drain_and_stop(app, producer, consumers)
    finally:
        producer.stop()
        app.stop_all()
    check_outage_run(
        app,
        producer,
        "postgres-restart",
        PostgresConnectionFailed,
        rode_out,
        seed=seed,
        tasks=TASKS,
        restarts=RESTARTS,
        outages_s=outages,
    )


def _lose_reply_once(
    monkeypatch: pytest.MonkeyPatch, statement: str, meanwhile: Callable[[], None] = lambda: None
) -> list[str]:
    """Make the first run of ``statement`` apply, then lose its connection (as a server
    crash right after the commit does), with ``meanwhile`` happening before the loss is
    seen. Returns a list that holds the statement once that happened."""
    run_statement = postgres_module._rows  # pyright: ignore[reportPrivateUsage]  # the function the fault wraps
    cut: list[str] = []

    def reply_lost_once(conn: Any, query: str, params: Any = ()) -> Any:
        rows = run_statement(conn, query, params)
        if query == statement and not cut:
            cut.append(query)
            meanwhile()
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return rows

    monkeypatch.setattr(postgres_module, "_rows", reply_lost_once)
    return cut


def test_a_settle_resent_after_its_reply_was_lost_is_not_reported_stale(
    battery_pg: PgEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server applies a settle, the connection dies before the reply: the resent
    settle must recognise the first one's success (what Redis's idempotent scripts do)."""
    storage = PostgresStorage("resent-settle", battery_pg.dsn)
    try:
        storage.enqueue(b"task")
        lease = storage.reserve(time.time(), 30.0)
        assert lease is not None
        cut = _lose_reply_once(monkeypatch, storage._sql.settle)  # pyright: ignore[reportPrivateUsage]  # the statement under test
        settled = storage.settle(lease.token, ("result-key", b"value"), ())
        assert cut, "the first settle ran and its reply was lost"
        assert storage.leased_count() == 0
        assert storage.peek_data("result-key") == b"value"
        assert settled, "the settle was applied once; it is not stale"
    finally:
        storage.flush_all()
        storage.close()


def test_an_enqueue_resent_after_its_task_ran_is_not_stored_again(
    battery_pg: PgEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server applies an enqueue and crashes before the reply; once it is back, a
    consumer runs the task before the producer's resend gets a connection: the resend
    must not store the task a second time."""
    producer = PostgresStorage("resent-enqueue", battery_pg.dsn)
    consumer = PostgresStorage("resent-enqueue", battery_pg.dsn, blocking=False)

    def consume() -> None:
        lease = consumer.reserve(time.time(), 30.0)
        assert lease is not None
        assert consumer.ack(lease.token)

    try:
        cut = _lose_reply_once(monkeypatch, producer._sql.enqueue, consume)  # pyright: ignore[reportPrivateUsage]  # the statement under test
        producer.enqueue(b"task")
        assert cut, "the first enqueue ran, the task ran, then the reply was lost"
        assert producer.queue_size() == 0, "the task, already run, was stored again"
    finally:
        producer.flush_all()
        producer.close()
        consumer.close()
