"""huey for Django: the ``HUEY`` setting, task decorators, ``manage.py run_huey``.

Add ``"huey.contrib.djhuey"`` to ``INSTALLED_APPS``, configure ``settings.HUEY`` and
decorate functions in your apps' ``tasks.py``::

    from huey.contrib.djhuey import db_task, on_commit_task, task

    @task()
    def add(a: int, b: int) -> int:
        return a + b

    @db_task()
    def archive(order_id: int) -> None:
        Order.objects.filter(pk=order_id).update(archived=True)

``manage.py run_huey`` runs the consumer. :data:`HUEY` is the application's
:class:`~huey.Huey`; the module-level names are its methods, so they keep their types:
a decorated function is a :class:`~huey.TaskWrapper` whose calls are checked against the
function's parameters. Its results mode is read from the settings at run time, so task
calls are typed ``Result[R] | None`` (``None`` with ``"results": False``).

See the "Django" page of the documentation for the settings.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final, Generic, TypeVar, cast

from django.conf import settings
from django.db import close_old_connections, transaction
from typing_extensions import ParamSpec, override

from huey import Huey, Result, TaskWrapper
from huey.api import PeriodicTaskWrapper

from ._settings import read_huey_setting

if TYPE_CHECKING:
    from huey.consumer_options import ConsumerConfig

__all__ = (
    "HUEY",
    "OnCommitTaskWrapper",
    "close_db",
    "consumer_defaults",
    "db_periodic_task",
    "db_task",
    "disconnect_signal",
    "enqueue",
    "is_revoked",
    "lock_task",
    "on_commit_task",
    "on_shutdown",
    "on_startup",
    "pending",
    "periodic_task",
    "post_execute",
    "pre_execute",
    "restore",
    "restore_all",
    "restore_by_id",
    "result",
    "revoke",
    "revoke_all",
    "revoke_by_id",
    "scheduled",
    "signal",
    "task",
)

P = ParamSpec("P")
R = TypeVar("R")
H_co = TypeVar("H_co", covariant=True)

_SETTING = read_huey_setting(
    getattr(settings, "HUEY", None),
    debug=bool(settings.DEBUG),
    databases=getattr(settings, "DATABASES", None),
)

HUEY: Huey[bool] = _SETTING.huey
"""The application's Huey, built from ``settings.HUEY`` when Django starts."""


def consumer_defaults() -> ConsumerConfig:
    """``run_huey``'s defaults: ``settings.HUEY["consumer"]``, checked."""
    return _SETTING.consumer


task: Final = HUEY.task
periodic_task: Final = HUEY.periodic_task
lock_task: Final = HUEY.lock_task
enqueue: Final = HUEY.enqueue
restore: Final = HUEY.restore
restore_all: Final = HUEY.restore_all
restore_by_id: Final = HUEY.restore_by_id
revoke: Final = HUEY.revoke
revoke_all: Final = HUEY.revoke_all
revoke_by_id: Final = HUEY.revoke_by_id
is_revoked: Final = HUEY.is_revoked
result: Final = HUEY.result
scheduled: Final = HUEY.scheduled
pending: Final = HUEY.pending
on_startup: Final = HUEY.on_startup
on_shutdown: Final = HUEY.on_shutdown
pre_execute: Final = HUEY.pre_execute
post_execute: Final = HUEY.post_execute
signal: Final = HUEY.signal
disconnect_signal: Final = HUEY.disconnect_signal


def close_db(fn: Callable[P, R]) -> Callable[P, R]:
    """Close stale database connections before and after ``fn`` runs.

    A consumer's worker keeps its connections between tasks; Django closes a connection
    at the end of a request once it is past ``CONN_MAX_AGE`` or broken, and this does
    the same around a task. In immediate mode the task runs inside the caller (a request,
    a test), whose connections are left alone.
    """

    @functools.wraps(fn)
    def with_fresh_connections(*args: P.args, **kwargs: P.kwargs) -> R:
        if HUEY.immediate:
            return fn(*args, **kwargs)
        close_old_connections()
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return with_fresh_connections


def db_task(
    retries: int = 0,
    retry_delay: float = 0,
    retry_backoff: float = 1.0,
    priority: int | None = None,
    context: bool = False,
    name: str | None = None,
    expires: float | timedelta | datetime | None = None,
    timeout: float | None = None,
) -> Callable[[Callable[P, R]], TaskWrapper[P, R, Result[R] | None]]:
    """Like :func:`task`, for a function that uses the database (see :func:`close_db`)."""
    decorator = HUEY.task(
        retries, retry_delay, retry_backoff, priority, context, name, expires, timeout
    )

    def register(fn: Callable[P, R]) -> TaskWrapper[P, R, Result[R] | None]:
        return decorator(close_db(fn))

    return register


def db_periodic_task(
    validate_datetime: Callable[[datetime], bool],
    retries: int = 0,
    retry_delay: float = 0,
    retry_backoff: float = 1.0,
    priority: int | None = None,
    context: bool = False,
    name: str | None = None,
    expires: float | timedelta | datetime | None = None,
    timeout: float | None = None,
) -> Callable[[Callable[[], R]], PeriodicTaskWrapper[R, Result[R] | None]]:
    """Like :func:`periodic_task`, for a function that uses the database."""
    decorator = HUEY.periodic_task(
        validate_datetime,
        retries,
        retry_delay,
        retry_backoff,
        priority,
        context,
        name,
        expires,
        timeout,
    )

    def register(fn: Callable[[], R]) -> PeriodicTaskWrapper[R, Result[R] | None]:
        return decorator(close_db(fn))

    return register


class OnCommitTaskWrapper(TaskWrapper[P, R, H_co], Generic[P, R, H_co]):
    """A task whose call is enqueued when the current transaction commits.

    Calling it returns the result handle at once; the task is enqueued by
    ``transaction.on_commit`` (right away outside a transaction) and never if the
    transaction rolls back, so a worker never looks for rows that are not there.
    :meth:`schedule`, :meth:`s` and :meth:`call_local` are a task's usual ones.
    """

    @override
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> H_co:
        message = self.s(*args, **kwargs)
        huey = self.huey

        def enqueue_now() -> None:
            huey.enqueue(message)

        transaction.on_commit(enqueue_now)
        return cast(H_co, Result(huey, message) if huey.results else None)


def on_commit_task(
    retries: int = 0,
    retry_delay: float = 0,
    retry_backoff: float = 1.0,
    priority: int | None = None,
    context: bool = False,
    name: str | None = None,
    expires: float | timedelta | datetime | None = None,
    timeout: float | None = None,
) -> Callable[[Callable[P, R]], OnCommitTaskWrapper[P, R, Result[R] | None]]:
    """Like :func:`db_task`, but a call is enqueued only when its transaction commits.

    Example::

        @on_commit_task()
        def send_welcome(user_id: int) -> None: ...

        with transaction.atomic():
            user = User.objects.create(username="ada")
            send_welcome(user.pk)  # enqueued after the commit; never on a rollback
    """
    decorator = db_task(
        retries, retry_delay, retry_backoff, priority, context, name, expires, timeout
    )

    def register(fn: Callable[P, R]) -> OnCommitTaskWrapper[P, R, Result[R] | None]:
        registered = decorator(fn)
        return OnCommitTaskWrapper(registered.huey, registered.func, registered.settings)

    return register
