"""The running task's deadline: a per-thread value the worker sets around each run.

A leaf module so that both the task API (``Task.check_timeout``) and the consumer (which
sets the deadline) can use it without importing each other.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager

from .exceptions import TaskTimeout

__all__ = ("check_timeout", "deadline_scope", "time_remaining")

_deadline = threading.local()


def _current_deadline() -> float | None:
    value: object = getattr(_deadline, "value", None)
    return value if isinstance(value, float) else None


def time_remaining() -> float | None:
    """Seconds left before the running task's ``timeout`` (``None``: no timeout).

    Call it from inside a task. Thread workers cannot interrupt a task that overruns its
    timeout; long tasks check their budget with this or :func:`check_timeout`.
    """
    deadline = _current_deadline()
    return None if deadline is None else deadline - time.monotonic()


def check_timeout() -> None:
    """Raise :class:`~huey.exceptions.TaskTimeout` if the running task used up its timeout.

    The cooperative check for thread workers (process and greenlet workers enforce
    timeouts themselves); harmless anywhere else.

    Raises:
        TaskTimeout: the task's ``timeout`` has passed.
    """
    remaining = time_remaining()
    if remaining is not None and remaining <= 0:
        raise TaskTimeout(f"task ran past its timeout ({-remaining:.3f}s over)")


class _DeadlineScope:
    """Sets this thread's deadline for a ``with`` block, then restores the previous one.

    A class rather than a generator-based context manager: it wraps every task run, and
    costs a third as much.
    """

    __slots__ = ("_previous", "_seconds")

    def __init__(self, seconds: float | None) -> None:
        self._seconds = seconds
        self._previous: float | None = None

    def __enter__(self) -> None:
        self._previous = _current_deadline()
        seconds = self._seconds
        _deadline.value = None if seconds is None else time.monotonic() + seconds

    def __exit__(self, *exc_info: object) -> None:
        _deadline.value = self._previous


def deadline_scope(seconds: float | None) -> AbstractContextManager[None]:
    """Set this thread's deadline to ``seconds`` from now for the ``with`` block."""
    return _DeadlineScope(seconds)
