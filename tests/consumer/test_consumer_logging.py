"""What the consumer logs: a start and a finish line per task, the start-up report.

The worker runs one message per ``loop()`` in-process; durations come from the
application's :class:`MockClock`, so the lines are exact and nothing sleeps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import pytest
from typing_extensions import override

from huey import BlackHoleHuey, Huey, MemoryHuey, Result
from huey.consumer import Consumer, check_options
from huey.consumer._environment import PipeFlag, ThreadEnvironment
from huey.consumer._worker import Scheduler, Worker
from huey.exceptions import (
    CancelExecution,
    RateLimitExceeded,
    RetryTask,
    StorageError,
    TaskLockedException,
    TaskTimeout,
)
from huey.storage import BlackHoleStorage, FileStorage, MemoryStorage, SqliteStorage
from tests.conftest import START, MockClock
from tests.storage.base_only import BaseOnlyStorage

TASKS = "huey.consumer.tasks"


def _run_one(app: Huey[Any], caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Let a worker take one message; return what it logged on the task logger."""
    flag = PipeFlag()
    flag.set()  # an idle poll returns at once
    worker = Worker(app, check_options(), ThreadEnvironment(), flag, "w")
    with caplog.at_level(logging.INFO, logger=TASKS):
        worker.loop()
    return [record for record in caplog.records if record.name == TASKS]


def test_a_task_gets_a_start_line_and_a_finish_line_with_its_duration(
    clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """One INFO line when the worker starts the task, one when done, timed by the clock."""
    app = MemoryHuey("lines", clock=clock)

    @app.task()
    def slow_add(a: int, b: int) -> int:
        clock.advance(1.5)
        return a + b

    result = slow_add(1, 2)
    records = _run_one(app, caplog)
    name, task_id = slow_add.name, result.id
    assert [record.getMessage() for record in records] == [
        f"executing {name} ({task_id})",
        f"finished {name} ({task_id}) in 1.500s: succeeded",
    ]
    assert [record.levelno for record in records] == [logging.INFO, logging.INFO]
    assert result.get() == 3


def _raises(exc: BaseException, **task_options: Any) -> Callable[[MockClock], Huey[Any]]:
    def build(clock: MockClock) -> Huey[Any]:
        app = MemoryHuey("outcomes", clock=clock)

        @app.task(**task_options)
        def job() -> None:
            raise exc

        job()
        return app

    return build


def _revoked(clock: MockClock) -> Huey[Any]:
    app = MemoryHuey("outcomes", clock=clock)

    @app.task()
    def job() -> None:
        return None

    job().revoke()
    return app


def _expired(clock: MockClock) -> Huey[Any]:
    app = MemoryHuey("outcomes", clock=clock)

    @app.task(expires=10)
    def job() -> None:
        return None

    job()
    clock.advance(20)
    return app


def _cancelled_by_hook(clock: MockClock) -> Huey[Any]:
    app = MemoryHuey("outcomes", clock=clock)

    @app.pre_execute()
    def refuse(task: object) -> None:
        raise CancelExecution("not today")

    @app.task()
    def job() -> None:
        return None

    job()
    return app


def _not_due(clock: MockClock) -> Huey[Any]:
    app = MemoryHuey("outcomes", clock=clock)

    @app.task()
    def job() -> None:
        return None

    job.schedule(delay=10)
    # Moved to the queue ahead of time (a producer's clock running fast, say).
    Scheduler(app, check_options(periodic=False), PipeFlag()).move_due(START + 10)
    return app


def _interrupted(
    delivery: Literal["at-least-once", "at-most-once"],
) -> Callable[[MockClock], Huey[Any]]:
    def build(clock: MockClock) -> Huey[Any]:
        app = Huey("outcomes", clock=clock, storage=MemoryStorage("outcomes"), delivery=delivery)

        @app.task()
        def job() -> None:
            raise KeyboardInterrupt  # what a process worker's SIGTERM raises in the task

        job()
        return app

    return build


OUTCOMES: dict[str, tuple[Callable[[MockClock], Huey[Any]], str, int]] = {
    "error": (_raises(ValueError("boom")), "failed: ValueError('boom')", logging.INFO),
    "error-retried": (
        _raises(ValueError("boom"), retries=2),
        "failed, retrying: ValueError('boom')",
        logging.INFO,
    ),
    "retry-task": (
        _raises(RetryTask("again")),
        "retrying as the task asked: RetryTask('again')",
        logging.INFO,
    ),
    "locked": (
        _raises(TaskLockedException("held")),
        "locked: TaskLockedException('held')",
        logging.INFO,
    ),
    "rate-limited": (
        _raises(RateLimitExceeded("api", 30.0)),
        "rate-limited, retrying: RateLimitExceeded('api', 30.0, True)",
        logging.INFO,
    ),
    "rate-limited-failed": (
        _raises(RateLimitExceeded("api", 30.0, retry=False)),
        "rate-limited: RateLimitExceeded('api', 30.0, False)",
        logging.INFO,
    ),
    "cancelled": (
        _raises(CancelExecution("no", retry=False)),
        "cancelled: CancelExecution('no')",
        logging.INFO,
    ),
    "timeout": (_raises(TaskTimeout("slow")), "timed out: TaskTimeout('slow')", logging.WARNING),
    "revoked": (_revoked, "revoked, not run", logging.INFO),
    "expired": (_expired, "expired, not run", logging.INFO),
    "hook-cancel": (_cancelled_by_hook, "cancelled by a pre-execute hook, not run", logging.INFO),
    "not-due": (_not_due, "not due, scheduled for 2026-01-01 00:00:10 UTC", logging.INFO),
    "interrupted-leased": (
        _interrupted("at-least-once"),
        "interrupted, its message is back in the queue",
        logging.INFO,
    ),
    "interrupted-popped": (
        _interrupted("at-most-once"),
        "interrupted, its message is lost (at-most-once delivery)",
        logging.INFO,
    ),
}


@pytest.mark.parametrize("case", sorted(OUTCOMES))
def test_the_finish_line_says_what_came_of_the_task(
    case: str, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Failures, retries, drops, deferrals and interruptions each have their wording."""
    build, expected, level = OUTCOMES[case]
    app = build(clock)
    records = _run_one(app, caplog)
    assert len(records) == 2, [record.getMessage() for record in records]
    start, finish = records
    assert start.getMessage().startswith("executing ")
    assert finish.getMessage().startswith("finished ")
    assert finish.getMessage().endswith(f" in 0.000s: {expected}")
    assert finish.levelno == level


class _RefusingStorage(MemoryStorage):
    """Acknowledgements are refused, as when the lease went to another worker."""

    @override
    def ack(self, token: str, /) -> bool:
        return False

    @override
    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        return False


class _BrokenAckStorage(MemoryStorage):
    """Acknowledging fails, as when the server went away during the task."""

    @override
    def ack(self, token: str, /) -> bool:
        raise StorageError("connection reset", storage="broken")

    @override
    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        raise StorageError("connection reset", storage="broken")


class _BrokenResultsStorage(MemoryStorage):
    """Storing a result fails (outside a settle: at-most-once delivery writes through)."""

    @override
    def put_data(self, key: str, value: bytes, /) -> None:
        raise StorageError("disk full", storage="broken")


def _app_on(
    storage: MemoryStorage,
    clock: MockClock,
    delivery: Literal["at-least-once", "at-most-once"] = "at-least-once",
) -> tuple[Huey[Any], Result[int]]:
    app = Huey("edge", clock=clock, storage=storage, delivery=delivery)

    @app.task()
    def one() -> int:
        return 1

    result = one()
    assert result is not None
    return app, result


def test_a_refused_acknowledgement_is_part_of_the_finish_line(
    clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A task whose lease was lost says it may run again."""
    app, _ = _app_on(_RefusingStorage("edge"), clock)
    finish = _run_one(app, caplog)[-1].getMessage()
    assert finish.endswith(
        ": succeeded; lease lost, the acknowledgement was refused (it may run again)"
    )


def test_a_storage_failure_while_settling_still_closes_the_pair(
    clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The finish line names the failure; the worker's outage log reports it too."""
    app, result = _app_on(_BrokenAckStorage("edge"), clock)
    records = _run_one(app, caplog)
    assert records[-1].getMessage() == (
        f"finished {result.task.name} ({result.id}) in 0.000s: "
        "not settled, StorageError('connection reset')"
    )
    assert "storage failed" in caplog.text


def test_an_outcome_that_could_not_be_recorded_says_so(
    clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """When storing the result fails, the finish line points at the logged error."""
    app, _ = _app_on(_BrokenResultsStorage("edge"), clock, "at-most-once")
    finish = _run_one(app, caplog)[-1].getMessage()
    assert finish.endswith(": not recorded, storing its outcome failed (see the error above)")


def test_task_lines_follow_the_logger_level(
    clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """At WARNING (``-q``, or a level set on huey.consumer.tasks) the lines are not logged."""
    app = MemoryHuey("quiet", clock=clock)

    @app.task()
    def job() -> int:
        return 1

    job()
    worker = Worker(app, check_options(), ThreadEnvironment(), PipeFlag(), "w")
    with caplog.at_level(logging.WARNING, logger=TASKS):
        worker.loop()
    assert [record for record in caplog.records if record.name == TASKS] == []


# --- start-up ----------------------------------------------------------------------


def _startup_log(app: Huey[Any], caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    consumer = Consumer(app, periodic=False, initial_delay=0.01, max_delay=0.02)
    with caplog.at_level(logging.INFO, logger="huey.consumer"):
        consumer.start()
        consumer.stop(graceful=True)
    return [record for record in caplog.records if record.name == "huey.consumer"]


def _startup_line(records: list[logging.LogRecord]) -> str:
    lines = [r.getMessage() for r in records if r.getMessage().startswith("huey consumer ")]
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: MemoryHuey("mode"), "delivery at-least-once (leases of 30s);"),
        (
            lambda: MemoryHuey("mode", delivery="at-most-once"),
            "delivery at-most-once (as configured);",
        ),
        (
            lambda: Huey("mode", storage=BaseOnlyStorage("mode")),
            "delivery at-most-once: at-least-once was asked for, but BaseOnlyStorage has no "
            "leases, so a task whose worker dies while running it is lost;",
        ),
    ],
    ids=["leased", "asked-at-most-once", "fallback"],
)
def test_startup_line_reports_the_delivery_mode_in_effect(
    make: Callable[[], Huey[Any]], expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A storage without leases delivers at-most-once whatever was asked; the line says so."""
    assert expected in _startup_line(_startup_log(make(), caplog))


def test_a_consumer_on_a_memory_storage_warns_it_serves_its_own_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """MemoryHuey's consumer sees only tasks enqueued by its own process: a warning says so."""
    records = _startup_log(MemoryHuey("local"), caplog)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "only runs tasks enqueued by this very process" in warnings[0]


def test_a_consumer_on_a_black_hole_warns_it_will_never_run_a_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """BlackHoleHuey discards everything; its consumer says so (and delivers at-most-once)."""
    records = _startup_log(BlackHoleHuey("void"), caplog)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert warnings == [
        "BlackHoleStorage discards every task it is given: this consumer will never run one"
    ]
    assert "BlackHoleStorage has no leases" in _startup_line(records)


def test_the_process_local_warning_goes_by_storage_type(tmp_path: Path) -> None:
    """Shared storages get no warning; a memory storage under process workers gets more."""
    from huey.consumer._consumer import process_local_warning

    assert (
        process_local_warning(SqliteStorage("s", filename=str(tmp_path / "q.db")), "thread") is None
    )
    assert process_local_warning(FileStorage("f", path=str(tmp_path / "files")), "thread") is None
    assert process_local_warning(BaseOnlyStorage("b"), "thread") is None
    assert process_local_warning(BlackHoleStorage("v"), "process") is not None
    threads = process_local_warning(MemoryStorage("m"), "thread")
    processes = process_local_warning(MemoryStorage("m"), "process")
    assert threads is not None
    assert processes is not None
    assert processes.startswith(threads)
    assert "runs once per worker" in processes


def test_a_huge_exception_message_is_cut_in_the_finish_line(
    clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception carrying megabytes (a response body, a task's arguments) gives a
    finish line of a few dozen characters; the logged traceback has the whole of it."""
    app = _raises(ValueError("x" * 1_000_000))(clock)
    finish = _run_one(app, caplog)[-1].getMessage()
    assert "failed: ValueError('xxx" in finish
    assert len(finish) < 300
