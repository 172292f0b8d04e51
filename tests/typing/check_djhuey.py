"""Typing contract: ``huey.contrib.djhuey``'s decorators keep the task's signature.

Expected-error lines carry ``# type: ignore[code]  # pyright: ignore[rule]`` (see
check_tasks.py); ``rejected_*`` functions are never called. The results mode of
``djhuey.HUEY`` comes from the settings at run time, so calls are ``Result[R] | None``.
"""

from __future__ import annotations

from typing import assert_type

from huey import Huey, Result, TaskWrapper, crontab
from huey.api import PeriodicTaskWrapper
from tests.django.in_process import configure

configure()

from huey.contrib.djhuey import (  # noqa: E402  (needs the settings configured above)
    HUEY,
    OnCommitTaskWrapper,
    db_periodic_task,
    db_task,
    on_commit_task,
    task,
)


@task()
def add(a: int, b: int) -> int:
    return a + b


@db_task(retries=2)
def archive(order_id: int) -> str:
    return f"archived {order_id}"


@on_commit_task()
def notify(user_id: int) -> None:
    del user_id


@db_periodic_task(crontab(minute="0"))
def nightly() -> int:
    return 1


def check_signatures() -> None:
    """Each decorator gives a TaskWrapper of the function's parameters and return type."""
    assert_type(HUEY, Huey[bool])
    adder: TaskWrapper[[int, int], int, Result[int] | None] = add
    archiver: TaskWrapper[[int], str, Result[str] | None] = archive
    notifier: OnCommitTaskWrapper[[int], None, Result[None] | None] = notify
    assert_type(add(1, 2), Result[int] | None)
    assert_type(archive.s(3).id, str)
    assert_type(notify.call_local(1), None)
    assert (adder, archiver, notifier) == (add, archive, notify)
    periodic: PeriodicTaskWrapper[int, Result[int] | None] = nightly
    assert periodic is nightly
    assert archive.call_local(3) == "archived 3"
    assert isinstance(notify, TaskWrapper)


def rejected_wrong_arguments() -> None:
    archive("seven")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    notify(1, 2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    add(1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def rejected_result_without_narrowing() -> None:
    handle = archive(7)
    handle.get()  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]


def check_tasks_backend_errors() -> None:
    """The Tasks backend's errors: a dropped task's kind, an unloadable task's record."""
    from datetime import timedelta

    from huey.contrib.djhuey.tasks_backend import (
        HueyBackend,
        TaskDroppedError,
        TaskNotImportableError,
        TaskRecord,
        TaskRevokedError,
    )

    backend = HueyBackend("typed", {"OPTIONS": {"EXPIRES": 5}})
    assert_type(backend.expires, float | timedelta | None)
    dropped: type[TaskDroppedError] = TaskRevokedError
    record = TaskRecord(
        id="x", module_path="a.b", backend="typed", queue_name="default", priority=0,
        run_after=None, status="READY", args=[], kwargs={},
    )  # fmt: skip
    error: ImportError = TaskNotImportableError(record, ModuleNotFoundError("a"))
    assert isinstance(error, TaskNotImportableError)
    assert_type(error.record, TaskRecord)
    assert (error.record.status, dropped.__name__) == ("READY", "TaskRevokedError")


def rejected_incomplete_record() -> None:
    from huey.contrib.djhuey.tasks_backend import TaskNotImportableError, TaskRecord

    record = TaskRecord(  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
        id="x", module_path="a.b"
    )
    TaskNotImportableError(record)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
