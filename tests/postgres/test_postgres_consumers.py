"""Real ``huey_consumer`` processes sharing one PostgreSQL database."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import psycopg
import pytest

from huey import PostgresHuey
from huey.storage.postgres import PostgresStorage

from .conftest import PgServer, dsn_with

pytestmark = [pytest.mark.postgres, pytest.mark.integration, pytest.mark.slow]

APP = """
import os
import time

import psycopg

from huey import PostgresHuey

DSN = os.environ["HUEY_TEST_DSN"]
huey = PostgresHuey(os.environ["HUEY_TEST_NAME"], dsn=DSN, lease_timeout=2, read_timeout=0.5)


@huey.task(name="app.record", retries=5, retry_delay=0.2)
def record(index: int) -> None:
    time.sleep(0.02)  # some work, so that the server crashes mid-run
    # The effect: one row per execution, with the process that ran it.
    with psycopg.connect(DSN, autocommit=True, connect_timeout=2) as conn:
        conn.execute("INSERT INTO effects (idx, pid) VALUES (%s, %s)", (index, os.getpid()))
"""


class Consumers:
    """Consumer processes of the app in ``directory`` (stopped at the end)."""

    def __init__(self, directory: Path, dsn: str, name: str) -> None:
        (directory / "app.py").write_text(APP)
        self.directory = directory
        self.env = {
            **os.environ,
            "PYTHONPATH": str(directory),
            "HUEY_TEST_DSN": dsn,
            "HUEY_TEST_NAME": name,
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *worker_types: str) -> None:
        """One consumer (two workers) per worker type given."""
        for worker_type in worker_types:
            log = open(self.directory / f"consumer-{len(self.processes)}.log", "wb")  # noqa: SIM115
            command = [sys.executable, "-m", "huey", "app.huey", "-w", "2", "-k", worker_type]
            command += ["-m", "0.5", "-S"]
            self.processes.append(
                subprocess.Popen(command, env=self.env, cwd=self.directory, stderr=log)
            )
            log.close()

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:]
            for path in sorted(self.directory.glob("consumer-*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


class Effects:
    """The ``effects`` table the app's task writes to (one row per execution)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def _rows(self, query: bytes) -> list[tuple[int, int]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return [(int(row[0]), int(row[1])) for row in conn.execute(query).fetchall()]

    def counts(self) -> dict[int, int]:
        """Executions per task index."""
        return dict(self._rows(b"SELECT idx, count(*) FROM effects GROUP BY idx"))

    def pids(self) -> set[int]:
        """The processes that ran tasks."""
        return {pid for pid, _ in self._rows(b"SELECT DISTINCT pid, 0 FROM effects")}

    def listening(self) -> int:
        """How many connections of the database LISTEN (one per consumer process)."""
        rows = self._rows(
            b"SELECT count(*), 0 FROM pg_stat_activity WHERE query LIKE 'LISTEN %%' "
            b"AND datname = current_database()"
        )
        return rows[0][0]


@pytest.fixture
def effects(pg_dsn: str) -> Iterator[Effects]:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(b"DROP TABLE IF EXISTS effects")
        conn.execute(b"CREATE TABLE effects (idx int NOT NULL, pid int NOT NULL)")
    yield Effects(pg_dsn)
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(b"DROP TABLE IF EXISTS effects")


def _wait_for(condition: object, what: str, consumers: Consumers, seconds: float = 60) -> None:
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while not condition():
        for process in consumers.processes:
            assert process.poll() is None, f"a consumer exited:\n{consumers.logs()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{consumers.logs()}"
        time.sleep(0.05)


@contextlib.contextmanager
def _producer(dsn: str, name: str) -> Generator[tuple[PostgresStorage, Callable[[int], object]]]:
    """The app's queue seen from the test: its storage and the task to enqueue."""
    huey = PostgresHuey(name, dsn=dsn, blocking=False)

    @huey.task(name="app.record", retries=5, retry_delay=0.2)
    def record(index: int) -> None:
        raise AssertionError("runs in the consumers only")

    storage = huey.storage
    assert isinstance(storage, PostgresStorage)
    try:
        yield storage, record
    finally:
        huey.flush()
        storage.close()


def _wait_acknowledged(storage: PostgresStorage, consumers: Consumers) -> None:
    _wait_for(
        lambda: (storage.queue_size(), storage.leased_count()) == (0, 0),
        "every task to be acknowledged",
        consumers,
    )


def test_two_consumer_processes_run_every_task_once(
    pg_dsn: str, tmp_path: Path, effects: Effects
) -> None:
    """Two huey_consumer processes on one database: every task runs exactly once, and
    both consumers take a share (SKIP LOCKED, woken by NOTIFY). One has thread workers,
    the other process workers, forked after the consumer connected: each child opens
    its own pool."""
    name = f"two-consumers-{time.monotonic_ns()}"
    consumers = Consumers(tmp_path, pg_dsn, name)
    with _producer(pg_dsn, name) as (storage, record):
        try:
            consumers.start("thread", "process")
            # One listener per process: the thread consumer and the two forked workers.
            _wait_for(lambda: effects.listening() >= 3, "every consumer to listen", consumers)
            for index in range(200):
                record(index)
            _wait_for(lambda: len(effects.counts()) == 200, "every task to run", consumers)
            _wait_acknowledged(storage, consumers)
            assert effects.counts() == dict.fromkeys(range(200), 1)
            assert len(effects.pids()) >= 2, "one process did all the work"
        finally:
            consumers.stop()


def test_consumers_survive_a_server_crash_and_lose_nothing(
    pg_server: PgServer, pg_dsn: str, tmp_path: Path, effects: Effects
) -> None:
    """The server crashes (immediate shutdown) and restarts mid-run: the consumers
    reconnect by themselves and every enqueued task runs (at least once)."""
    name = f"crash-{time.monotonic_ns()}"
    consumers = Consumers(tmp_path, pg_dsn, name)
    with _producer(pg_dsn, name) as (storage, record):
        try:
            for index in range(300):
                record(index)
            consumers.start("thread", "thread")
            _wait_for(lambda: len(effects.counts()) >= 30, "the first tasks", consumers)
            pg_server.restart(signal.SIGQUIT)
            assert len(effects.counts()) < 300, "every task ran before the crash"
            _wait_for(lambda: len(effects.counts()) == 300, "every task after the crash", consumers)
            _wait_acknowledged(storage, consumers)
            assert set(effects.counts()) == set(range(300))
        finally:
            consumers.stop()


def test_consumer_with_wrong_credentials_exits_with_one_line(pg_dsn: str, tmp_path: Path) -> None:
    """huey_consumer checks the connection at start: status 2, one line, no password."""
    secret = "not-the-password-93"
    dsn = dsn_with(pg_dsn, user="no_such_huey_user", password=secret)
    consumers = Consumers(tmp_path, dsn, "bad-credentials")
    completed = subprocess.run(
        [sys.executable, "-m", "huey", "app.huey"],
        env=consumers.env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 2, completed.stderr
    assert secret not in completed.stderr
    assert "no_such_huey_user" in completed.stderr
