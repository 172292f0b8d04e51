"""Throughput of PostgresHuey side by side with SqliteHuey and RedisHuey on this machine.

Run from the repository root (``make bench-postgres``)::

    $ .venv/bin/python -m benchmarks.bench_postgres [--tasks 2000] [--threads 4]

For each storage it measures, in tasks per second:

* ``enqueue``: one thread calls a task ``--tasks`` times (each call builds, serializes
  and stores one message);
* ``drain x1``: one thread takes and runs every task (reserve, execute, settle);
* ``drain xN``: ``--threads`` threads do the same, sharing the queue.

The servers are private ones the test fixtures know how to start (``initdb``/``postgres``
and ``redis-server`` on free ports, in temporary directories), each in two setups:

* ``durable``: every acknowledged write is on disk (PostgreSQL ``fsync=on``,
  ``synchronous_commit=on``; Redis ``appendfsync always``);
* ``relaxed``: the last second of writes may be lost on a crash (PostgreSQL
  ``synchronous_commit=off``; Redis ``appendfsync everysec``).

``HUEY_PG_DSN`` and ``REDIS_URL`` name existing servers instead (measured as they are
configured). A storage that cannot be had is reported and skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from huey import Huey, SqliteHuey
from huey._delivery import process_next

Factory = Callable[[str], Huey[Any]]


def _define(huey: Huey[Any]) -> Callable[[int], object]:
    @huey.task(name="bench.add")
    def add(value: int) -> int:
        return value + 1

    return add


def measure(make: Factory, tasks: int, threads: int) -> dict[str, float]:
    """Tasks per second for enqueue, one-thread drain and ``threads``-thread drain."""
    figures: dict[str, float] = {}
    for label, workers in (("drain x1", 1), (f"drain x{threads}", threads)):
        huey = make(f"bench-{os.getpid()}-{workers}")
        add = _define(huey)
        huey.flush()
        started = time.perf_counter()
        for index in range(tasks):
            add(index)
        figures.setdefault("enqueue", tasks / (time.perf_counter() - started))

        def drain(huey: Huey[Any] = huey) -> None:
            while process_next(huey).status != "empty":
                pass

        runners = [threading.Thread(target=drain) for _ in range(workers)]
        started = time.perf_counter()
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        figures[label] = tasks / (time.perf_counter() - started)
        assert huey.pending_count() == 0
        huey.flush()
        storage = huey.storage
        close = getattr(storage, "close", None)
        if callable(close):
            close()
    return figures


@contextlib.contextmanager
def postgres(*settings: str) -> Generator[Factory | None]:
    """A PostgresHuey factory on ``HUEY_PG_DSN`` or a private server (None if neither)."""
    try:
        from huey import PostgresHuey
    except ImportError:
        yield None
        return
    dsn = os.environ.get("HUEY_PG_DSN")
    server = None
    if dsn is None:
        from tests.postgres.conftest import PgServer

        try:
            server = PgServer(*settings)
            server.start()
        except (RuntimeError, OSError, AssertionError) as exc:
            print(f"postgres: no private server ({exc})")
            yield None
            return
        dsn = server.dsn
    try:
        yield lambda name: PostgresHuey(name, dsn=dsn, blocking=False)
    finally:
        if server is not None:
            server.remove()


@contextlib.contextmanager
def redis(*extra: str) -> Generator[Factory | None]:
    """A RedisHuey factory on ``REDIS_URL`` or a private server (None if neither)."""
    try:
        from huey import RedisHuey
    except ImportError:
        yield None
        return
    url = os.environ.get("REDIS_URL")
    server = None
    directory = None
    if url is None:
        from tests.redis.conftest import RedisServer

        directory = tempfile.TemporaryDirectory(prefix="huey-bench-redis-")
        try:
            server = RedisServer(Path(directory.name), *extra)
            server.start()
        except (RuntimeError, OSError, AssertionError) as exc:
            print(f"redis: no private server ({exc})")
            directory.cleanup()
            yield None
            return
        url = server.url
    try:
        yield lambda name: RedisHuey(name, url=url, blocking=False)
    finally:
        if server is not None:
            server.kill()
        if directory is not None:
            directory.cleanup()


@contextlib.contextmanager
def sqlite(fsync: bool) -> Generator[Factory | None]:
    """A SqliteHuey factory on a file in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="huey-bench-sqlite-") as directory:
        yield lambda name: SqliteHuey(name, filename=Path(directory) / "bench.db", fsync=fsync)


_SETUPS: tuple[tuple[str, Callable[[], contextlib.AbstractContextManager[Factory | None]]], ...] = (
    ("sqlite durable", lambda: sqlite(True)),
    ("sqlite relaxed", lambda: sqlite(False)),
    ("redis durable", lambda: redis("--appendfsync", "always")),
    ("redis relaxed", lambda: redis("--appendfsync", "everysec")),
    ("postgres durable", lambda: postgres("fsync=on", "synchronous_commit=on")),
    ("postgres relaxed", lambda: postgres("fsync=on", "synchronous_commit=off")),
)


def main(argv: list[str] | None = None) -> int:
    """Measure every storage that can be had; print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tasks", type=int, default=2000, help="tasks per round (2000)")
    parser.add_argument("--threads", type=int, default=4, help="threads of the wide drain (4)")
    args = parser.parse_args(argv)
    tasks, threads = int(args.tasks), int(args.threads)
    columns = ("enqueue", "drain x1", f"drain x{threads}")
    print(f"{tasks} tasks; tasks per second (higher is better)")
    print(f"{'storage':<18}" + "".join(f"{column:>12}" for column in columns))
    for label, provider in _SETUPS:
        with provider() as make:
            if make is None:
                print(f"{label:<18}{'(not available)':>12}")
                continue
            figures = measure(make, tasks, threads)
            print(f"{label:<18}" + "".join(f"{figures[column]:>12,.0f}" for column in columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
