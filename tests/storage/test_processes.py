"""Real processes on one SQLite file: concurrent producers and consumers, and SIGKILL."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import textwrap
import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from huey import SqliteHuey
from huey import _delivery as delivery
from huey.storage import FileStorage, SqliteStorage
from huey.testing import MockClock

pytestmark = pytest.mark.integration

_fork = multiprocessing.get_context("fork")

PRODUCERS = 2
CONSUMERS = 3
PER_PRODUCER = 150


def _produce(storage: SqliteStorage | FileStorage, prefix: str) -> None:
    for index in range(PER_PRODUCER):
        storage.enqueue(f"{prefix}-{index}".encode(), index % 3)


def _consume(
    storage: SqliteStorage | FileStorage, leased: bool, done: Event, out: Queue[list[bytes]]
) -> None:
    got: list[bytes] = []
    while True:
        if leased:
            lease = storage.reserve(time.time(), 60.0)
            data = None if lease is None else lease.data
            if lease is not None and not storage.ack(lease.token):
                raise AssertionError("a fresh lease was refused")
        else:
            data = storage.dequeue()
        if data is not None:
            got.append(data)
        elif done.is_set():
            break
        else:
            time.sleep(0.002)
    out.put(got)


@pytest.mark.parametrize("kind", ["sqlite", "file"])
@pytest.mark.parametrize("leased", [True, False], ids=["reserve-ack", "dequeue"])
def test_concurrent_processes_deliver_every_message_once(
    tmp_path: Path, leased: bool, kind: str
) -> None:
    """Producers and consumers in separate processes: every message delivered exactly once."""
    storage: SqliteStorage | FileStorage
    if kind == "sqlite":
        storage = SqliteStorage("shared", tmp_path / "mp.db")
    else:
        storage = FileStorage("shared", tmp_path / "mp")
    storage.enqueue(b"opened-in-parent")  # the parent's connection must not cross the fork
    done = _fork.Event()
    out: Queue[list[bytes]] = _fork.Queue()
    consumers = [
        _fork.Process(target=_consume, args=(storage, leased, done, out)) for _ in range(CONSUMERS)
    ]
    producers = [
        _fork.Process(target=_produce, args=(storage, f"p{index}")) for index in range(PRODUCERS)
    ]
    for process in consumers + producers:
        process.start()
    for process in producers:
        process.join(30)
        assert process.exitcode == 0
    done.set()
    batches = [out.get(timeout=30) for _ in consumers]
    for process in consumers:
        process.join(30)
        assert process.exitcode == 0
    delivered = [item for batch in batches for item in batch]
    expected = [b"opened-in-parent"] + [
        f"p{producer}-{index}".encode()
        for producer in range(PRODUCERS)
        for index in range(PER_PRODUCER)
    ]
    assert len(delivered) == len(expected)
    assert sorted(delivered) == sorted(expected)
    assert storage.queue_size() == 0
    assert storage.requeue_expired(time.time() + 3600, 5) == 0


_WORKER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path

    from huey import SqliteHuey
    from huey import _delivery

    huey = SqliteHuey("killable", filename=sys.argv[1], lease_timeout=30.0)

    @huey.task(name="job")
    def job(x: int) -> int:
        Path(sys.argv[2]).write_text("running")
        time.sleep(60)
        return -1

    _delivery.process_next(huey)
    """
)


def test_task_of_a_sigkilled_worker_completes_after_the_lease_expires(tmp_path: Path) -> None:
    """A worker killed mid-task loses nothing: after the lease expires another completes it."""
    database, marker, script = tmp_path / "kill.db", tmp_path / "running", tmp_path / "worker.py"
    script.write_text(_WORKER)
    clock = MockClock(start=time.time())
    huey = SqliteHuey("killable", filename=database, lease_timeout=30.0, clock=clock)

    @huey.task(name="job")
    def job(x: int) -> int:
        return 2 * x

    result = job(21)
    worker = subprocess.Popen([sys.executable, str(script), str(database), str(marker)])
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert worker.poll() is None, "the worker exited before running the task"
            assert time.monotonic() < deadline, "the worker never started the task"
            time.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert huey.pending_count() == 0  # still leased by the dead worker
    assert delivery.process_next(huey).status == "empty"
    assert delivery.requeue_expired(huey) == 0  # the lease has not expired yet
    clock.now = time.time() + 31.0
    assert delivery.requeue_expired(huey) == 1
    report = delivery.process_next(huey)
    assert report.status == "completed"
    assert report.lease is not None
    assert report.lease.deliveries == 2
    assert result.get() == 42
