"""When a task run starts and how it ends, told from huey's signals and hooks.

The metrics and the tracing integrations both need to bracket each run of a task: the
``executing`` signal opens it; the post-execute hook closes it (the function ran), and so
do ``interrupted`` (a shutdown cut it short) and ``canceled`` (a pre-execute hook, or the
task, cancelled it: no post-execute hook may follow). What is open is kept per thread
(per greenlet under gevent), by task id, so nested runs (immediate mode) stay apart.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Final, Protocol

from .._task import Task
from ..exceptions import RetryTask
from ..signals import (
    SIGNAL_CANCELED,
    SIGNAL_ERROR,
    SIGNAL_EXECUTING,
    SIGNAL_INTERRUPTED,
    SIGNAL_LOCKED,
    SIGNAL_RATE_LIMITED,
    SIGNAL_TIMEOUT,
    Signal,
)

if TYPE_CHECKING:
    from .._api import Huey

__all__ = ("RunObserver", "watch_runs")

# Signals emitted (before the post-execute hook) by a run that failed: they name its outcome.
_FAILURE_SIGNALS: Final[tuple[Signal, ...]] = (
    SIGNAL_ERROR,
    SIGNAL_TIMEOUT,
    SIGNAL_LOCKED,
    SIGNAL_RATE_LIMITED,
)
# Signals after which no post-execute hook follows: they close the run themselves.
_CLOSING_SIGNALS: Final[tuple[Signal, ...]] = (SIGNAL_CANCELED, SIGNAL_INTERRUPTED)


class RunObserver(Protocol):
    """Told when each run of a task starts and ends (in the thread that runs it)."""

    def run_started(self, task: Task[Any], /) -> None:
        """The task is about to run (``executing``)."""
        ...

    def run_ended(self, task: Task[Any], outcome: str, exception: BaseException | None, /) -> None:
        """The run ended.

        Args:
            task: the task.
            outcome: ``complete``, ``error``, ``timeout``, ``locked``, ``rate-limited``,
                ``retry`` (it raised ``RetryTask``), ``canceled`` or ``interrupted``.
            exception: what it raised, if anything.
        """
        ...


class _OpenRuns(threading.local):
    def __init__(self) -> None:
        # task id -> the failure signal seen so far (None: none yet)
        self.outcomes: dict[str, str | None] = {}


class _Watch:
    """The receivers and the hook that turn signals into ``run_started``/``run_ended``."""

    def __init__(self, observer: RunObserver) -> None:
        self.observer = observer
        self.open = _OpenRuns()

    def on_signal(self, signal: str, task: Task[Any], *extra: object) -> None:
        outcomes = self.open.outcomes
        if signal == SIGNAL_EXECUTING:
            outcomes[task.id] = None
            self.observer.run_started(task)
        elif task.id not in outcomes:
            return
        elif signal in _CLOSING_SIGNALS:
            del outcomes[task.id]
            exception = extra[0] if extra and isinstance(extra[0], BaseException) else None
            self.observer.run_ended(task, signal, exception)
        elif signal in _FAILURE_SIGNALS:
            outcomes[task.id] = signal

    def on_post_execute(self, task: Task[Any], value: object, exc: BaseException | None) -> None:
        del value
        if task.id not in self.open.outcomes:
            return
        outcome = self.open.outcomes.pop(task.id)
        if outcome is None and exc is None:
            outcome = "complete"
        elif outcome is None:
            outcome = "retry" if isinstance(exc, RetryTask) else "error"
        self.observer.run_ended(task, outcome, exc)


def watch_runs(huey: Huey[Any], observer: RunObserver, name: str) -> None:
    """Tell ``observer`` about every run of ``huey``'s tasks in this process and its forks.

    Args:
        huey: the application.
        observer: told when runs start and end.
        name: the name of the post-execute hook (unique per integration).
    """
    watch = _Watch(observer)
    huey.signal(SIGNAL_EXECUTING, *_FAILURE_SIGNALS, *_CLOSING_SIGNALS)(watch.on_signal)
    huey.post_execute(name)(watch.on_post_execute)
