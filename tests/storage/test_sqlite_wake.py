"""SqliteStorage wakes waiting workers and result readers on a commit, without polling.

The tests check the mechanism, never a speed: a waiter given a long ``read_timeout``
(far beyond any machine's hiccup) must return with the item, which only a wake-up
can explain; the waits that find nothing must end.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest
from typing_extensions import override

from huey import SqliteHuey
from huey.protocols import Lease, SupportsBlockingDequeue, SupportsResultNotification
from huey.storage import SqliteStorage

LONG = 60.0
"""A wait that must never run out in these tests: returning before it means woken."""


def _watchers(path: Path) -> int:
    """The watch threads of the storages on ``path`` (each test has a file of its own)."""
    name = f"huey-sqlite-watch {path}"
    return sum(1 for thread in threading.enumerate() if thread.name == name)


class _Waiter(threading.Thread):
    """Runs ``call`` in a thread; ``result`` and ``seconds`` once it returned."""

    def __init__(self, call: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.call = call
        self.result: object = None
        self.seconds: float = -1.0

    @override
    def run(self) -> None:
        started = time.monotonic()
        self.result = self.call()
        self.seconds = time.monotonic() - started


def _start_waiting(call: Callable[[], object], path: Path) -> _Waiter:
    """Start ``call`` and return once it waits (the watch thread of ``path`` runs)."""
    waiter = _Waiter(call)
    waiter.start()
    deadline = time.monotonic() + LONG
    while not _watchers(path) and waiter.is_alive():
        assert time.monotonic() < deadline, "the waiter never started waiting"
        time.sleep(0.001)
    return waiter


def _finish(waiter: _Waiter) -> object:
    waiter.join(LONG)
    assert not waiter.is_alive(), "the waiter was not woken"
    assert waiter.seconds < LONG
    return waiter.result


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "wake.db"


def test_sqlite_storage_blocks_and_notifies_by_default(path: Path) -> None:
    """The consumer does not poll it, and Result.get waits for the result's commit."""
    storage = SqliteStorage("q", path)
    assert isinstance(storage, SupportsBlockingDequeue)
    assert storage.blocking
    assert isinstance(storage, SupportsResultNotification)
    assert storage.notify_result


def test_a_waiting_reserve_returns_when_another_connection_commits(path: Path) -> None:
    """A commit by another connection (as another process makes) wakes a waiting worker.

    Nothing in this process tells the waiter: it notices ``PRAGMA data_version``.
    """
    waiting = SqliteStorage("q", path, read_timeout=LONG)
    waiter = _start_waiting(lambda: waiting.reserve(1000.0, 30.0), path)
    with closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("INSERT INTO huey_task (queue, data) VALUES ('q', x'6d7367')")
    lease = _finish(waiter)
    assert isinstance(lease, Lease)
    assert lease.data == b"msg"
    assert lease.deadline >= 1000.0 + 30.0  # moved by the seconds waited
    waiting.close()


def test_an_enqueue_in_the_same_process_wakes_a_waiting_dequeue(path: Path) -> None:
    """The storage's own commit wakes its waiters directly, without data_version.

    The watch looks at data_version only once an hour here, so only the direct
    notification can wake the waiter in time.
    """
    storage = SqliteStorage("q", path, read_timeout=LONG, poll_interval=3600)
    waiter = _start_waiting(storage.dequeue, path)
    storage.enqueue(b"job")
    assert _finish(waiter) == b"job"
    storage.close()


def test_a_result_reader_wakes_when_the_result_is_stored(path: Path) -> None:
    """wait_result returns once another connection stores the key, not before."""
    reader = SqliteStorage("q", path)
    writer = SqliteStorage("q", path, blocking=False)
    waiter = _start_waiting(lambda: reader.wait_result("r", LONG), path)
    writer.put_data("other", b"x")  # a commit, but not the awaited key
    writer.put_result("r", b"42")
    assert _finish(waiter) is True
    assert reader.peek_data("r") == b"42"
    reader.close()


def test_blocked_result_get_returns_the_result_stored_by_a_consumer(path: Path) -> None:
    """Result.get(blocking=True) through SqliteHuey, with a worker thread running."""
    huey = SqliteHuey("wake", filename=str(path))

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    consumer = huey.create_consumer(workers=1)
    consumer.start()
    try:
        assert add(1, 2).get(blocking=True, timeout=LONG) == 3
    finally:
        consumer.stop(graceful=True)


def _reserve_in_child(
    storage: SqliteStorage, ready: Event, out: multiprocessing.Queue[tuple[bytes | None, float]]
) -> None:
    ready.set()
    started = time.monotonic()
    lease = storage.reserve(1000.0, 30.0)
    out.put((None if lease is None else lease.data, time.monotonic() - started))


def test_a_forked_child_is_woken_by_another_process(path: Path) -> None:
    """After fork() the child watches the file itself (the parent's watch thread is gone).

    The parent waits first, so its watch thread runs when it forks; the child then
    waits for an item that a connection outside it commits.
    """
    storage = SqliteStorage("q", path, read_timeout=0.01)
    assert storage.dequeue() is None  # the parent's watch thread now runs
    storage.read_timeout = LONG
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue[tuple[bytes | None, float]] = context.Queue()
    ready = context.Event()
    child = context.Process(target=_reserve_in_child, args=(storage, ready, out), daemon=True)
    child.start()
    try:
        assert ready.wait(LONG)
        time.sleep(0.05)  # lets the child start waiting (if not, it finds the item at once)
        with closing(sqlite3.connect(path, isolation_level=None)) as other:
            other.execute("INSERT INTO huey_task (queue, data) VALUES ('q', x'6d7367')")
        data, seconds = out.get(timeout=2 * LONG)
        assert data == b"msg"
        assert seconds < LONG, "woken by the commit, not by the end of read_timeout"
    finally:
        child.join(LONG)
        if child.is_alive():
            child.kill()
    assert child.exitcode == 0
    storage.close()


def test_waits_that_find_nothing_end(path: Path) -> None:
    """A blocking dequeue, reserve and result wait are bounded."""
    storage = SqliteStorage("q", path, read_timeout=0.01)
    assert storage.dequeue() is None
    assert storage.reserve(1000.0, 30.0) is None
    assert storage.wait_result("missing", 0.01) is False
    storage.close()


def test_without_blocking_an_empty_queue_answers_at_once(path: Path) -> None:
    """blocking=False: one look, no watch thread started."""
    storage = SqliteStorage("q", path, blocking=False, read_timeout=LONG)
    assert storage.dequeue() is None
    assert storage.reserve(1000.0, 30.0) is None
    assert _watchers(path) == 0


def test_close_ends_the_watch_thread_and_a_later_wait_restarts_it(path: Path) -> None:
    """close() stops the watch (and its connection); the storage keeps working."""
    storage = SqliteStorage("q", path, read_timeout=LONG)
    for item in (b"first", b"second"):
        waiter = _start_waiting(storage.dequeue, path)
        storage.enqueue(item)
        assert _finish(waiter) == item
        storage.close()
        deadline = time.monotonic() + LONG
        while _watchers(path):
            assert time.monotonic() < deadline, "the watch thread did not end"
            time.sleep(0.001)
