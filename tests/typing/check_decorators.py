"""Typing contract: periodic_task, crontab, lock_task, context_task and context=True.

Expected-error lines carry ``# type: ignore[code]  # pyright: ignore[rule]`` (see
check_tasks.py); ``rejected_*`` functions are never called.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Self, assert_type

from huey import MemoryHuey, Result, Task, TaskWrapper, crontab
from huey.api import PeriodicTaskWrapper, TaskLock

huey = MemoryHuey("typing-decorators", immediate=True)


@huey.periodic_task(crontab(minute="0", hour="3"))
def nightly() -> int:
    """A periodic task: no required parameters."""
    return 1


@huey.periodic_task(lambda dt: dt.minute % 5 == 0)
def every_five_minutes(verbose: bool = False) -> None:
    """A periodic task whose validator is a lambda (``dt`` is inferred as datetime)."""


@huey.task()
@huey.lock_task("reports")
def generate_report(day: str, force: bool = False) -> str:
    """A locked task keeps its signature."""
    return f"report {day} force={force}"


class Connection:
    """A stand-in for a database connection."""

    def rows(self, table: str) -> int:
        """Count rows."""
        return len(table)


class Pool:
    """A re-usable context manager handing out a :class:`Connection`."""

    def __enter__(self) -> Connection:
        return Connection()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class Timer:
    """A re-usable context manager entered as itself."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


@huey.context_task(Pool(), as_argument=True)
def count_rows(conn: Connection, table: str) -> int:
    """The connection is injected: callers pass only ``table``."""
    return conn.rows(table)


@huey.context_task(Timer())
def timed(seconds: float) -> float:
    """A task run inside ``with Timer()``; the signature is unchanged."""
    return seconds


@huey.task(context=True)
def with_ctx(x: int, *, task: Task[int] | None = None) -> int:
    """Receives the running task as ``task=``; callers need not pass it."""
    assert task is not None
    return x + task.retries


def check_periodic() -> None:
    """Periodic tasks are zero-argument task wrappers; ``crontab()`` is a validator."""
    assert_type(nightly, PeriodicTaskWrapper[int, Result[int]])
    assert_type(nightly(), Result[int])
    assert_type(nightly.s(), Task[int])
    validate: Callable[[datetime], bool] = crontab(minute="*/15")
    assert validate(datetime(2026, 1, 1, 10, 30))
    assert_type(every_five_minutes.call_local(), None)


def check_lock_task() -> None:
    """``lock_task`` as decorator keeps the signature; as context manager it is itself."""
    checked: TaskWrapper[[str, bool], str] = generate_report
    assert_type(generate_report("2026-01-01", force=True), Result[str])
    assert_type(checked("2026-01-01", False), Result[str])
    lock = huey.lock_task("manual")
    assert_type(lock, TaskLock)
    with lock as held:
        assert_type(held, TaskLock)
    assert generate_report("2026-01-01").get(blocking=True) == "report 2026-01-01 force=False"


def check_context_task() -> None:
    """``as_argument=True`` removes the first parameter from the caller's signature."""
    rows: TaskWrapper[[str], int] = count_rows
    assert_type(count_rows("users"), Result[int])
    assert_type(rows.s("users"), Task[int])
    assert count_rows("users").get(blocking=True) == 5
    assert_type(timed(1.5), Result[float])
    assert_type(with_ctx(1), Result[int])
    assert with_ctx(1).get(blocking=True) == 1


def rejected_periodic() -> None:
    """A periodic task cannot have required parameters (never called)."""

    # Two overloads (async and plain) fit this decorator: basedpyright reports the failed
    # call under either rule, depending on which one is suppressed (see docs/typed-usage.rst).
    @huey.periodic_task(crontab())  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
    def needs_argument(x: int) -> int:
        return x

    # mypy reports a lambda returning the wrong type under two codes.
    huey.periodic_task(lambda dt: dt.hour)  # type: ignore[arg-type, return-value]  # pyright: ignore[reportArgumentType]
    nightly(1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def rejected_lock_task() -> None:
    """The locked task's parameters are still checked (never called)."""
    generate_report(20260101)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    generate_report("2026-01-01", forse=True)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def rejected_context_task() -> None:
    """Callers do not pass the injected value; the function must take it (never called)."""
    count_rows(Connection())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

    @huey.context_task(Pool(), as_argument=True)  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
    def wrong_first(table: str) -> int:
        return len(table)

    with_ctx("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
