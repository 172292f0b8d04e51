"""Consumer pieces in-process: options, the scheduler, the worker loop, a threaded run."""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from typing_extensions import override

from huey import Huey, MemoryHuey, Task, TaskWrapper, crontab
from huey._deadline import deadline_scope
from huey.consumer import Consumer, check_options, check_timeout, time_remaining
from huey.consumer._environment import PipeFlag, ThreadEnvironment
from huey.consumer._worker import Scheduler, Worker
from huey.exceptions import ConfigurationError, StorageError, TaskTimeout
from huey.protocols import Consumer as ConsumerProtocol
from huey.protocols import Lease, Storage, SupportsScheduleTransfer
from huey.storage import FileStorage, MemoryStorage, SqliteStorage
from tests.conftest import START, MockClock
from tests.scheduler_scenarios import check_moves_each_task_when_due
from tests.storage.base_only import BaseOnlyStorage


def _every_minute(moment: datetime) -> bool:
    del moment
    return True


def _add(app: Huey) -> TaskWrapper[[int, int], int]:
    """The ``add`` task that :func:`_make_app` registered, as a wrapper."""
    entry = app.engine.registry.get("add")
    assert entry is not None
    return TaskWrapper(app, cast("Callable[[int, int], int]", entry.func), entry.settings)


def _make_app(clock: MockClock, storage: MemoryStorage | None = None) -> Huey:
    app = Huey("units", clock=clock, storage=storage or MemoryStorage("units"))

    @app.periodic_task(_every_minute, name="tick")
    def tick() -> None:
        return None

    @app.periodic_task(crontab(minute="*/5"), name="five")
    def five() -> None:
        return None

    @app.task(name="add")
    def add(a: int, b: int) -> int:
        return a + b

    return app


def _pending_names(app: Huey) -> list[str]:
    return sorted(task.name.rsplit(".", 1)[-1] for task in app.pending())


# --- options ---------------------------------------------------------------------


def test_defaults_are_the_original_consumers() -> None:
    """The default options match the original huey consumer's."""
    options = check_options()
    assert (options.workers, options.worker_type, options.periodic) == (1, "thread", True)
    assert (options.initial_delay, options.backoff, options.max_delay) == (0.1, 1.15, 10.0)
    assert (options.scheduler_interval, options.health_check_interval) == (1, 10.0)
    assert options.check_worker_health is True
    assert (options.flush_locks, options.extra_locks, options.max_tasks) == (False, (), None)
    assert (options.shutdown_timeout, options.graceful_signal) == (None, "INT")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, "workers"),
        ({"workers": True}, "workers"),
        ({"worker_type": "fiber"}, "worker_type"),
        ({"scheduler_interval": 7}, "divide 60"),
        ({"scheduler_interval": 120}, "between 1 and 60"),
        ({"backoff": 0.5}, "backoff"),
        ({"initial_delay": 0}, "initial_delay"),
        ({"initial_delay": 5.0, "max_delay": 1.0}, "max_delay"),
        ({"max_tasks": 10, "check_worker_health": False}, "health check"),
        ({"graceful_signal": "HUP"}, "graceful_signal"),
        ({"shutdown_timeout": -1}, "shutdown_timeout"),
        ({"extra_locks": 5}, "extra_locks"),
        ({"wrokers": 2}, "unknown consumer option"),
    ],
)
def test_bad_options_raise_configuration_error(options: dict[str, object], message: str) -> None:
    """Each invalid option is refused with a message naming it."""
    with pytest.raises(ConfigurationError, match=message):
        check_options(**options)


def test_option_normalisation() -> None:
    """Aliases and comma-separated lock names are normalised; extra locks imply a flush."""
    options = check_options(worker_type="gevent", extra_locks="a, b,", graceful_signal="sigterm")
    assert options.worker_type == "greenlet"
    assert options.extra_locks == ("a", "b")
    assert options.flush_locks is True
    assert options.graceful_signal == "TERM"


def test_greenlet_without_gevent_is_a_clear_error(clock: MockClock) -> None:
    """Asking for greenlet workers without gevent installed names the missing package."""
    if importlib.util.find_spec("gevent") is None:
        with pytest.raises(ConfigurationError, match="pip install gevent"):
            Consumer(_make_app(clock), worker_type="greenlet")
    else:  # pragma: no cover - only where gevent is installed
        assert Consumer(_make_app(clock), worker_type="greenlet").options.worker_type == "greenlet"


def test_immediate_mode_huey_is_refused(clock: MockClock) -> None:
    """A consumer for a Huey in immediate mode is a configuration error."""
    app = _make_app(clock)
    app.immediate = True
    with pytest.raises(ConfigurationError, match="immediate"):
        app.create_consumer()


def test_create_consumer_passes_options(clock: MockClock) -> None:
    """huey.create_consumer(**options) builds a Consumer with those options."""
    consumer = _make_app(clock).create_consumer(workers=3, periodic=False)
    assert isinstance(consumer, Consumer)
    assert (consumer.options.workers, consumer.options.periodic) == (3, False)


# --- scheduler -------------------------------------------------------------------


def test_periodic_tasks_run_once_per_minute(clock: MockClock) -> None:
    """Iterating every second for three minutes enqueues each periodic run once."""
    app = _make_app(clock)
    scheduler = Scheduler(app, check_options(), PipeFlag())
    for _ in range(180):
        scheduler.loop()
        clock.advance(1)
    # START is minute 0 (divisible by 5): tick runs for minutes 0, 1, 2; five for 0.
    assert _pending_names(app) == ["five", "tick", "tick", "tick"]


def test_periodic_check_is_aligned_to_the_minute(clock: MockClock) -> None:
    """Starting mid-minute, the next check happens as soon as the next minute begins."""
    clock.advance(30)
    app = _make_app(clock)
    scheduler = Scheduler(app, check_options(), PipeFlag())
    scheduler.loop()
    assert scheduler.last_minute == START
    clock.advance(29.5)
    scheduler.loop()
    assert scheduler.last_minute == START
    clock.advance(1)
    scheduler.loop()
    assert scheduler.last_minute == START + 60


def test_two_consumers_enqueue_each_periodic_run_once(clock: MockClock) -> None:
    """Two schedulers sharing a storage enqueue every periodic run once between them."""
    storage = MemoryStorage("units")
    first = Scheduler(_make_app(clock, storage), check_options(), PipeFlag())
    second = Scheduler(_make_app(clock, storage), check_options(), PipeFlag())
    for _ in range(125):
        first.loop()
        second.loop()
        clock.advance(1)
    assert _pending_names(_make_app(clock, storage)) == ["five", "tick", "tick", "tick"]


def test_stalled_scheduler_catches_up_missed_minutes(
    clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """After a 3-minute stall the missed minutes run; after hours only the cap does."""
    app = _make_app(clock)
    scheduler = Scheduler(app, check_options(), PipeFlag())
    scheduler.loop()
    clock.advance(3 * 60)
    scheduler.loop()
    assert _pending_names(app).count("tick") == 4
    clock.advance(5 * 3600)
    with caplog.at_level(logging.WARNING, logger="huey.consumer"):
        scheduler.loop()
    assert "skipped" in caplog.text
    assert _pending_names(app).count("tick") == 4 + 16


def test_scheduler_moves_due_tasks(clock: MockClock) -> None:
    """A task scheduled for later reaches the queue once it is due."""
    app = _make_app(clock)
    scheduler = Scheduler(app, check_options(periodic=False), PipeFlag())
    add = _add(app)
    add.schedule((1, 2), delay=10)
    scheduler.loop()
    assert app.pending_count() == 0
    clock.advance(10)
    scheduler.loop()
    assert app.pending_count() == 1
    assert app.scheduled_count() == 0


class _FlakyStorage(MemoryStorage):
    """A memory storage whose reads fail while ``down`` is set."""

    down = False

    @override
    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        if self.down:
            raise StorageError("database is locked", storage="flaky")
        return super().read_schedule(timestamp)

    @override
    def move_due(
        self, timestamp: float, priority_of: Callable[[bytes], int | None], /
    ) -> Sequence[bytes]:
        if self.down:
            raise StorageError("database is locked", storage="flaky")
        return super().move_due(timestamp, priority_of)


def _errors_of(caplog: pytest.LogCaptureFixture, prefix: str) -> list[str]:
    """Error messages of one loop (threads left by other tests may log too)."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR and record.getMessage().startswith(prefix)
    ]


def test_storage_outage_is_logged_once_and_recovery_is_logged(
    clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A scheduler facing a failing storage logs one error, then one recovery message."""
    storage = _FlakyStorage("units")
    app = _make_app(clock, storage)
    scheduler = Scheduler(app, check_options(periodic=False), PipeFlag())
    storage.down = True
    with caplog.at_level(logging.DEBUG, logger="huey.consumer"):
        for _ in range(5):
            scheduler.loop()
        storage.down = False
        scheduler.loop()
    errors = _errors_of(caplog, "scheduler:")
    assert len(errors) == 1
    assert "database is locked" in errors[0]
    assert "storage is back after 5 failed attempts" in caplog.text


# --- worker ----------------------------------------------------------------------


def test_worker_runs_a_task_and_recycles_after_max_tasks(clock: MockClock) -> None:
    """A worker runs queued tasks and asks to be recycled after max_tasks."""
    app = _make_app(clock)
    add = _add(app)
    results = [app.enqueue(add.s(i, i)) for i in range(3)]
    worker = Worker(app, check_options(max_tasks=2), ThreadEnvironment(), PipeFlag(), "w")
    assert worker.loop() is True
    assert worker.loop() is False
    assert worker.recycled
    assert [result.get() for result in results] == [0, 2, None]


def test_idle_worker_backs_off_on_the_stop_flag() -> None:
    """An idle worker's polling pause grows by backoff up to max_delay."""
    app = MemoryHuey("idle")
    flag = PipeFlag()
    flag.set()  # waits return at once
    options = check_options(initial_delay=0.1, backoff=2.0, max_delay=0.3)
    worker = Worker(app, options, ThreadEnvironment(), flag, "w")
    delays: list[float] = []
    for _ in range(4):
        worker.loop()
        delays.append(worker.delay)
    assert delays == [0.2, 0.3, 0.3, 0.3]


def test_cooperative_timeout_check() -> None:
    """check_timeout raises once the running task's timeout has passed (thread workers).

    The deadline is the runner's (``deadline_scope`` around each run), not the
    environment's: a thread environment cannot interrupt a task.
    """
    assert time_remaining() is None
    check_timeout()
    with ThreadEnvironment().timeout(0.001):
        assert time_remaining() is None
    with deadline_scope(0.001):
        remaining = time_remaining()
        assert remaining is not None
        assert remaining <= 0.001
        time.sleep(0.002)  # a real deadline, measured on the monotonic clock
        with pytest.raises(TaskTimeout):
            check_timeout()
    assert time_remaining() is None


def test_task_exposes_the_cooperative_timeout_check() -> None:
    """Task.time_remaining / is_timed_out / check_timeout follow the running task's deadline."""
    task: Task[int] = Task(id="t", name="n")

    def timed_out() -> bool:  # a call, so checkers do not narrow the property
        return task.is_timed_out

    assert task.time_remaining is None
    assert not timed_out()
    task.check_timeout()
    with deadline_scope(0.001):
        time.sleep(0.002)  # a real deadline, measured on the monotonic clock
        assert timed_out()
        with pytest.raises(TaskTimeout):
            task.check_timeout()
    assert task.time_remaining is None


def test_pipe_flag_wakes_waiters() -> None:
    """Setting the flag from another thread wakes a waiter at once."""
    flag = PipeFlag()
    assert not flag.is_set()
    timer = threading.Timer(0.05, flag.set)
    timer.start()
    started = time.monotonic()
    assert flag.wait(5.0)
    assert time.monotonic() - started < 2.0
    assert flag.is_set()
    flag.close()


# --- whole consumer, in-process ----------------------------------------------------


def test_threaded_consumer_runs_tasks_and_stops_gracefully() -> None:
    """start() runs queued tasks on worker threads; stop(graceful=True) waits for them."""
    app = MemoryHuey("threaded")

    @app.task()
    def double(x: int) -> int:
        return 2 * x

    results = [double(i) for i in range(20)]
    consumer = app.create_consumer(workers=2, initial_delay=0.01, max_delay=0.05)
    consumer.start()
    try:
        values = [result.get(blocking=True, timeout=10) for result in results]
    finally:
        consumer.stop(graceful=True)
    assert values == [2 * i for i in range(20)]
    assert not any(slot.runner.is_alive() for slot in consumer.workers)


_TRANSFER_STORAGES: dict[str, Callable[[Path], Storage]] = {
    "memory": lambda path: MemoryStorage("atomic"),
    "sqlite": lambda path: SqliteStorage("atomic", path / "q.db"),
    "file": lambda path: FileStorage("atomic", path / "files"),
}


@pytest.mark.parametrize("kind", sorted(_TRANSFER_STORAGES))
def test_scheduler_moves_due_tasks_atomically_keeping_priority(
    clock: MockClock, tmp_path: Path, kind: str
) -> None:
    """Due tasks move in one atomic step on every storage, keep their priority, and announce."""
    storage = _TRANSFER_STORAGES[kind](tmp_path)
    assert isinstance(storage, SupportsScheduleTransfer)
    app = Huey("atomic", clock=clock, storage=storage)
    enqueued: list[str] = []

    @app.task(name="job")
    def job(tag: str) -> str:
        return tag

    @app.signal("enqueued")
    def on_enqueued(signal: str, task: Task[Any]) -> None:
        del signal
        enqueued.append(str(task.args[0]))

    job.with_options(delay=5)("low")
    job.with_options(delay=5, priority=10)("high")
    scheduler = Scheduler(app, check_options(periodic=False), PipeFlag())
    clock.advance(5)
    assert scheduler.move_due(clock.time()) == 2
    assert app.scheduled_count() == 0
    assert [task.args[0] for task in app.pending()] == ["high", "low"]
    assert sorted(enqueued[-2:]) == ["high", "low"]


@pytest.mark.parametrize("kind", sorted(_TRANSFER_STORAGES))
def test_scheduler_asks_the_message_for_items_scheduled_without_priority(
    clock: MockClock, tmp_path: Path, kind: str
) -> None:
    """Items put in the schedule without a stored priority get the task's own priority."""
    storage = _TRANSFER_STORAGES[kind](tmp_path)
    app = Huey("atomic", clock=clock, storage=storage)

    @app.task(name="job")
    def job(tag: str) -> str:
        return tag

    # As an older huey did: plain add_to_schedule, the priority only inside the message.
    storage.add_to_schedule(app.serialize_task(job.s("low")), clock.time())
    urgent = job.with_options(priority=7).s("urgent")
    storage.add_to_schedule(app.serialize_task(urgent), clock.time())
    scheduler = Scheduler(app, check_options(periodic=False), PipeFlag())
    assert scheduler.move_due(clock.time()) == 2
    assert [queued.args[0] for queued in app.pending()] == ["urgent", "low"]


def test_scheduler_without_transfer_still_moves_due_tasks(clock: MockClock) -> None:
    """A storage without SupportsScheduleTransfer gets the read-then-enqueue fallback."""
    storage = BaseOnlyStorage()
    assert not isinstance(storage, SupportsScheduleTransfer)
    app = Huey("fallback", clock=clock, storage=storage)

    @app.task(name="job")
    def job(tag: str) -> str:
        return tag

    job.with_options(delay=5)("later")
    scheduler = Scheduler(app, check_options(periodic=False), PipeFlag())
    assert scheduler.move_due(clock.time()) == 0
    clock.advance(5)
    assert scheduler.move_due(clock.time()) == 1
    assert [queued.args[0] for queued in app.pending()] == ["later"]


def test_failed_transfer_leaves_the_schedule_intact(clock: MockClock, tmp_path: Path) -> None:
    """If the move fails half-way, every item is still in the schedule and none queued."""
    storage = SqliteStorage("atomic", tmp_path / "q.db")
    storage.add_to_schedule(b"first", START)
    storage.add_to_schedule(b"second", START)
    priorities = iter([0, 2**80])  # the second one cannot be stored
    with pytest.raises(ValueError, match="64 bits"):
        storage.move_due(START, lambda data: next(priorities))
    assert storage.schedule_size() == 2
    assert storage.queue_size() == 0


def test_thread_worker_reports_a_task_that_overran_its_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A thread worker cannot stop a task at its timeout, so it logs the overrun."""
    app = MemoryHuey("overrun")

    @app.task(timeout=0.001)
    def slow() -> str:
        time.sleep(0.01)  # real work outlasting a real (monotonic) timeout
        return "late"

    result = slow()
    worker = Worker(app, check_options(), ThreadEnvironment(), PipeFlag(), "w")
    with caplog.at_level(logging.WARNING, logger="huey.consumer"):
        worker.loop()
    assert result.get() == "late"
    assert "past its timeout" in caplog.text


class _DownStorage(MemoryStorage):
    """A memory storage whose leases fail while ``down`` is set."""

    down = True

    @override
    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        if self.down:
            raise StorageError("server unreachable", storage="down")
        return super().reserve(now, lease_seconds)


def test_worker_survives_a_storage_outage_and_logs_it_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A worker facing a failing storage logs once, backs off, and runs tasks once it is back."""
    storage = _DownStorage("outage")
    app = Huey("outage", storage=storage)

    @app.task()
    def echo(x: int) -> int:
        return x

    result = echo(7)
    flag = PipeFlag()
    flag.set()  # back-off waits return at once
    worker = Worker(app, check_options(max_delay=0.5), ThreadEnvironment(), flag, "w")
    with caplog.at_level(logging.DEBUG, logger="huey.consumer"):
        for _ in range(4):
            assert worker.loop() is True
        assert worker.outage.delay == 0.5
        storage.down = False
        worker.loop()
    assert result.get() == 7
    errors = _errors_of(caplog, "w:")
    assert len(errors) == 1
    assert "server unreachable" in errors[0]
    assert "storage is back after 4 failed attempts" in caplog.text


def test_hooks_run_in_every_worker_and_recycled_workers_are_replaced() -> None:
    """Startup/shutdown hooks run per worker; a worker done with max_tasks is replaced."""
    app = MemoryHuey("hooks")
    started: list[str] = []
    stopped: list[str] = []

    @app.on_startup()
    def on_start() -> None:
        started.append(threading.current_thread().name)

    @app.on_shutdown()
    def on_stop() -> None:
        stopped.append(threading.current_thread().name)

    @app.task()
    def noop(x: int) -> int:
        return x

    consumer = app.create_consumer(
        workers=2, max_tasks=1, initial_delay=0.01, max_delay=0.02, periodic=False
    )
    consumer.start()
    try:
        results = [noop(i) for i in range(2)]
        assert sorted(r.get(blocking=True, timeout=10) for r in results) == [0, 1]
        deadline = time.monotonic() + 10
        while any(slot.runner.is_alive() for slot in consumer.workers):
            assert time.monotonic() < deadline, "recycled workers did not end"
            time.sleep(0.01)
        consumer.check_health()
        assert [slot.runner.name for slot in consumer.workers] == ["worker-3", "worker-4"]
        assert noop(5).get(blocking=True, timeout=10) == 5
    finally:
        consumer.stop(graceful=True)
    assert sorted(started) == ["worker-1", "worker-2", "worker-3", "worker-4"]
    assert sorted(stopped) == sorted(started)


def test_consumer_satisfies_the_consumer_protocol(clock: MockClock) -> None:
    """Consumer is a huey.protocols.Consumer (checked statically by the assignment)."""
    consumer: ConsumerProtocol = _make_app(clock).create_consumer()
    consumer.start()
    consumer.stop(graceful=True)
    assert isinstance(consumer, Consumer)
    assert all(not slot.runner.is_alive() for slot in consumer.workers)


def test_sqlite_scheduler_moves_each_task_when_due_between_beats(tmp_path: Path) -> None:
    """On SQLite the scheduler looks at the earliest due item (at least every 50 ms)
    instead of waiting for its next beat."""
    storage = SqliteStorage("due", filename=str(tmp_path / "due.db"))
    check_moves_each_task_when_due(storage)
    assert storage.next_due() is None
    storage.close()
