"""A backend for Django's Tasks framework that runs tasks with huey.

Django 6's ``django.tasks`` (or the ``django-tasks`` backport on Django 5.2) defines
tasks with ``@task`` and enqueues them with ``.enqueue()``; with this backend they go
into ``huey.contrib.djhuey.HUEY`` and ``manage.py run_huey`` runs them::

    TASKS = {
        "default": {
            "BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend",
            "QUEUES": ["default"],
            "OPTIONS": {"ENQUEUE_ON_COMMIT": False},
        }
    }

Each enqueued call gets a record in huey's result store (key ``djt.<id>``): its
status, times, arguments, errors and return value, which ``get_result()`` reads from any
process. The call itself is a message of one huey task, ``djtasks.run``, carrying the
record's id (which is also the huey task id, so ``HUEY.revoke_by_id(result.id)``
works). Priorities map to huey's (higher first), ``run_after`` to the message's ``eta``.
A message delivered again after a worker died counts as another attempt.

A task huey drops without running it (revoked, expired, or cancelled by a
``pre_execute`` hook) gets the status ``FAILED``, which Django defines as "raised an
exception during execution, or was unable to start", with one error: a
:class:`TaskRevokedError`, :class:`TaskExpiredError` or :class:`TaskCanceledError`.

Options (``OPTIONS``): ``ENQUEUE_ON_COMMIT`` (default ``False``): write the record and
enqueue only when the current transaction commits, never on a rollback.
``EXPIRES`` (default ``None``): seconds (or a ``timedelta``) a task may wait once it is
due (at ``run_after``, else when enqueued); one still waiting then is dropped, not run.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import traceback
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar, cast

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from typing_extensions import override

from huey.api import Task as HueyTask
from huey.api import TaskOptions
from huey.contrib.djhuey import HUEY, close_db
from huey.signals import SIGNAL_CANCELED, SIGNAL_EXPIRED, SIGNAL_REVOKED, Signal

from ._tasks_api import (
    BaseTaskBackend,
    InvalidTaskError,
    Task,
    TaskContext,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task_enqueued,
    task_finished,
    task_started,
)

__all__ = (
    "RECORD_PREFIX",
    "TASK_NAME",
    "HueyBackend",
    "TaskCanceledError",
    "TaskDroppedError",
    "TaskExpiredError",
    "TaskNotImportableError",
    "TaskRecord",
    "TaskRevokedError",
    "run_task",
)

T = TypeVar("T")

RECORD_PREFIX: Final = "djt."
"""Records live in huey's result store under this prefix and the result id."""

TASK_NAME: Final = "djtasks.run"
"""The name of the one huey task that runs every Django task."""

_OPTIONS: Final = frozenset({"ENQUEUE_ON_COMMIT", "EXPIRES"})

_logger = logging.getLogger(__name__)


@dataclass(slots=True, kw_only=True)
class TaskRecord:
    """What huey keeps about one enqueued Django task (pickled into the result store).

    Attributes:
        id: the result id (and the huey task id).
        module_path: where the ``Task`` object is defined, ``package.module.name``.
        backend: the backend alias it was enqueued with.
        queue_name: its queue name.
        priority: its priority (-100 to 100, higher first).
        run_after: the earliest it runs.
        status: a ``TaskResultStatus`` value.
        args: positional arguments (JSON-shaped).
        kwargs: keyword arguments (JSON-shaped).
        enqueued_at: when it was enqueued.
        started_at: when its first attempt started.
        last_attempted_at: when its latest attempt started.
        finished_at: when it finished.
        worker_ids: one entry per attempt, the worker that made it.
        errors: ``(exception class path, traceback)`` of each failed attempt.
        return_value: what it returned (JSON-shaped), once successful.
    """

    id: str
    module_path: str
    backend: str
    queue_name: str
    priority: int
    run_after: datetime | None
    status: str
    args: list[object]
    kwargs: dict[str, object]
    enqueued_at: datetime | None = None
    started_at: datetime | None = None
    last_attempted_at: datetime | None = None
    finished_at: datetime | None = None
    worker_ids: list[str] = field(default_factory=list[str])
    errors: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    return_value: object = None


class TaskNotImportableError(ImportError):
    """The task of a record cannot be loaded in this process.

    Its module or name is gone (a deploy removed or renamed it), or the name is no
    longer a Django task. ``get_result()`` raises it; a worker records it as the
    failure of the run.

    Attributes:
        record: the stored record, with its status, errors and return value.
    """

    def __init__(self, record: TaskRecord, cause: Exception) -> None:
        super().__init__(
            f"Django task result {record.id} belongs to {record.module_path}, which cannot be"
            f" loaded as a Django task here ({type(cause).__name__}: {cause}); run this"
            " with the code that defines it (keep the task, or an alias, at that path), or"
            " read the stored record from this error's `record` attribute"
        )
        self.record = record


class TaskDroppedError(Exception):
    """Why huey dropped a Django task without running it (the result's error class)."""


class TaskRevokedError(TaskDroppedError):
    """The task was revoked (``HUEY.revoke_by_id(result.id)``) before it ran."""


class TaskExpiredError(TaskDroppedError):
    """The task waited past its ``EXPIRES`` and was not run."""


class TaskCanceledError(TaskDroppedError):
    """A ``pre_execute`` hook cancelled the task (``CancelExecution``)."""


_DROPPED: Final[dict[Signal, tuple[type[TaskDroppedError], str]]] = {
    SIGNAL_REVOKED: (TaskRevokedError, "revoked before it ran"),
    SIGNAL_EXPIRED: (TaskExpiredError, "expired: it waited past the backend's EXPIRES"),
    SIGNAL_CANCELED: (TaskCanceledError, "cancelled by a pre_execute hook"),
}


def _json_shaped(value: object, what: str) -> Any:
    """``value`` as it comes back from JSON (tuples become lists), or TypeError."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serializable: {exc}") from exc


def _load(result_id: str) -> TaskRecord | None:
    record = HUEY.get(RECORD_PREFIX + result_id, peek=True)
    return record if isinstance(record, TaskRecord) else None


def _save(record: TaskRecord) -> None:
    HUEY.put(RECORD_PREFIX + record.id, record)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _exception_path(exc: BaseException) -> str:
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"


def _task_of(record: TaskRecord) -> Task[Any, Any]:
    """The ``Task`` of ``record``, with the options it was enqueued with.

    Raises:
        TaskNotImportableError: its path does not import, or is not a Django task.
    """
    try:
        found: object = import_string(record.module_path)
    except Exception as exc:  # ImportError, or whatever importing its module raised
        raise TaskNotImportableError(record, exc) from exc
    # Not narrowed with isinstance(): that leaves the task's type parameters unknown.
    is_task = isinstance(found, Task)
    if not is_task:
        cause = TypeError(f"not a Django task but {found!r}")
        raise TaskNotImportableError(record, cause) from cause
    # Quoted: Django 6's Task and TaskResult are not subscriptable at run time.
    task = cast("Task[Any, Any]", found)
    return task.using(
        priority=record.priority,
        queue_name=record.queue_name,
        run_after=record.run_after,
        backend=record.backend,
    )


def _result_of(record: TaskRecord, task: Task[Any, Any]) -> TaskResult[Any]:
    result: TaskResult[Any] = TaskResult(
        task=task,
        id=record.id,
        status=TaskResultStatus(record.status),
        enqueued_at=record.enqueued_at,
        started_at=record.started_at,
        finished_at=record.finished_at,
        last_attempted_at=record.last_attempted_at,
        args=list(record.args),
        kwargs=dict(record.kwargs),
        backend=record.backend,
        errors=[
            TaskError(exception_class_path=path, traceback=text) for path, text in record.errors
        ],
        worker_ids=list(record.worker_ids),
    )
    # The dataclass is frozen and has no public way to set the value, as in Django's own
    # backends.
    object.__setattr__(result, "_return_value", record.return_value)
    return result


def run_task(result_id: str) -> None:
    """Run the Django task of record ``result_id`` (the body of ``djtasks.run``).

    The outcome goes into the record: ``SUCCESSFUL`` with the return value, or
    ``FAILED`` with the exception's class and traceback (also when the task cannot be
    imported here, so no record stays ``RUNNING``). Django's ``task_started`` and
    ``task_finished`` signals are sent around it.
    """
    record = _load(result_id)
    if record is None:
        _logger.error("no record of Django task result %s: nothing to run", result_id)
        return
    now = timezone.now()
    record.status = TaskResultStatus.RUNNING.value
    record.started_at = record.started_at or now
    record.last_attempted_at = now
    record.worker_ids.append(_worker_id())
    _save(record)
    try:
        task = _task_of(record)
    except TaskNotImportableError as exc:  # e.g. a worker running code without this task
        _logger.exception("cannot load Django task %s (%s)", record.module_path, record.id)
        _record_failure(record, exc)
        return
    backend_class = type(task.get_backend())
    result = _result_of(record, task)
    task_started.send(sender=backend_class, task_result=result)  # pyright: ignore[reportUnknownMemberType] - Signal.send's return type is partly untyped in django-stubs
    try:
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *record.args, **record.kwargs)
        else:
            value = task.call(*record.args, **record.kwargs)
        record.return_value = _json_shaped(value, "a task's return value")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a task's failure, whatever it is, is its outcome
        _logger.exception("Django task %s (%s) failed", record.module_path, record.id)
        _record_failure(record, exc)
    else:
        record.status = TaskResultStatus.SUCCESSFUL.value
        record.finished_at = timezone.now()
        _save(record)
    task_finished.send(sender=backend_class, task_result=_result_of(record, task))  # pyright: ignore[reportUnknownMemberType] - as above


def _record_failure(record: TaskRecord, exc: BaseException) -> None:
    record.errors.append((_exception_path(exc), "".join(traceback.format_exception(exc))))
    record.status = TaskResultStatus.FAILED.value
    record.finished_at = timezone.now()
    _save(record)


_UNFINISHED: Final = frozenset({TaskResultStatus.READY.value, TaskResultStatus.RUNNING.value})


def _record_drop(signal: Signal, message: HueyTask[Any]) -> None:
    """Fail the record of a ``djtasks.run`` message huey dropped instead of running.

    Without this the record would say ``READY`` forever. Django's ``task_finished`` is
    sent as when a run fails (unless the task cannot be loaded here).
    """
    if message.name != TASK_NAME:
        return
    record = _load(message.id)
    if record is None or record.status not in _UNFINISHED:
        return
    kind, reason = _DROPPED[signal]
    _record_failure(record, kind(f"huey dropped Django task {record.module_path}: {reason}"))
    try:
        task = _task_of(record)
    except TaskNotImportableError:
        return
    task_finished.send(sender=type(task.get_backend()), task_result=_result_of(record, task))  # pyright: ignore[reportUnknownMemberType] - as in run_task


def _expires_option(alias: str, value: object) -> float | timedelta | None:
    """``OPTIONS["EXPIRES"]`` checked: ``None``, or positive seconds or ``timedelta``.

    Raises:
        ImproperlyConfigured: any other value.
    """
    if value is None:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        seconds = -1.0
    if not seconds > 0:  # also refuses NaN
        raise ImproperlyConfigured(
            f"TASKS[{alias!r}]['OPTIONS']['EXPIRES'] must be a number of seconds or a"
            f" timedelta, greater than 0, or None; got {value!r}"
        )
    return value if isinstance(value, timedelta) else seconds


# The task and the drop receiver are registered when the backend is first used (or
# run_huey sees it in settings.TASKS).
_run_task = HUEY.task(name=TASK_NAME)(close_db(run_task))
HUEY.signal(*_DROPPED)(_record_drop)


class HueyBackend(BaseTaskBackend):
    """Django Tasks backend: tasks run under ``manage.py run_huey``.

    Supports ``run_after``, priorities (when huey's storage has them), async task
    functions and ``get_result()`` from any process.

    Attributes:
        enqueue_on_commit: ``OPTIONS["ENQUEUE_ON_COMMIT"]``.
        expires: ``OPTIONS["EXPIRES"]``, the time a due task may wait (``None``: no limit).

    Raises:
        ImproperlyConfigured: an unknown key in ``OPTIONS``, or a bad value.
    """

    supports_defer = True
    supports_async_task = True
    supports_get_result = True

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)  # pyright: ignore[reportUnknownMemberType] - params is a bare dict in django-tasks
        options = cast(Mapping[str, object], self.options)
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ImproperlyConfigured(
                f"TASKS[{alias!r}]['OPTIONS']: unknown option(s) {', '.join(unknown)};"
                f" known: {', '.join(sorted(_OPTIONS))}"
            )
        on_commit = options.get("ENQUEUE_ON_COMMIT", False)
        if not isinstance(on_commit, bool):
            raise ImproperlyConfigured(
                f"TASKS[{alias!r}]['OPTIONS']['ENQUEUE_ON_COMMIT'] must be True or False,"
                f" got {on_commit!r}"
            )
        self.enqueue_on_commit = on_commit
        self.expires: float | timedelta | None = _expires_option(alias, options.get("EXPIRES"))
        # Whether huey's storage orders by priority (the Redis storages without it do not).
        self.supports_priority: bool = bool(getattr(HUEY.storage, "priority", False))

    @override
    def enqueue(
        self, task: Task[Any, T], args: Sequence[object], kwargs: Mapping[str, object]
    ) -> TaskResult[T]:
        """Record the call and enqueue it into huey.

        Raises:
            InvalidTaskError: the task does not suit this backend (Django's checks), or
                its arguments are not JSON-serializable.
        """
        self.validate_task(task)  # pyright: ignore[reportUnknownMemberType] - Task's parameters are unknown in django-tasks' signature
        try:
            shaped_args: list[object] = _json_shaped(list(args), "a task's arguments")
            shaped_kwargs: dict[str, object] = _json_shaped(dict(kwargs), "a task's arguments")
        except TypeError as exc:
            raise InvalidTaskError(str(exc)) from exc
        record = TaskRecord(
            id=uuid.uuid4().hex,
            module_path=task.module_path,
            backend=self.alias,
            queue_name=task.queue_name,
            priority=task.priority,
            run_after=task.run_after,
            status=TaskResultStatus.READY.value,
            args=shaped_args,
            kwargs=shaped_kwargs,
        )

        def send() -> None:
            record.enqueued_at = timezone.now()
            _save(record)
            options: TaskOptions = {"id": record.id}
            if record.run_after is not None:
                options["eta"] = record.run_after
            if self.supports_priority:
                options["priority"] = record.priority
            if self.expires is not None:
                options["expires"] = self.expires
            _run_task.with_options(**options)(record.id)
            task_enqueued.send(sender=type(self), task_result=_result_of(record, task))  # pyright: ignore[reportUnknownMemberType] - as in run_task

        if self.enqueue_on_commit:
            transaction.on_commit(send)
        else:
            send()
        # In immediate mode the task has run by now: report what the record says.
        return cast("TaskResult[T]", _result_of(_load(record.id) or record, task))

    @override
    def get_result(self, result_id: str) -> TaskResult[Any]:
        """The result of an enqueued task, read from huey's result store.

        Raises:
            TaskResultDoesNotExist: no task was enqueued with this id (or it was
                enqueued on commit and the transaction has not committed).
            TaskNotImportableError: the record's task cannot be loaded in this process
                (its ``record`` attribute still holds the stored status and errors).
        """
        record = _load(result_id)
        if record is None:
            raise TaskResultDoesNotExist(result_id)
        return _result_of(record, _task_of(record))
