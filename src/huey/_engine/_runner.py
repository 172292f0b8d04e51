"""Running one task: ask the core what to do, call the function, carry out the effects.

:meth:`Runner.run` is the whole life of one delivery of a task inside a worker (or in
immediate mode, inside the caller). It returns what happened, in the core's own terms:
:class:`~huey._core.Defer` (not due: scheduled), :class:`~huey._core.Drop` (revoked,
expired, or cancelled by a pre-execute hook), :class:`~huey._core.Success` or
:class:`~huey._core.Failure` (the function ran). The order of effects is the core's:
the result is written (to the sink) before the post-execute hooks and signals run.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeAlias, cast

from .. import _core
from .._core import Defer, Drop, Failure, Outcome, Success
from .._deadline import deadline_scope, time_remaining
from .._localtime import epoch_of
from .._messages import ErrorInfo
from .._task import Task
from .._timeutil import delay_to_seconds
from ..exceptions import (
    CancelExecution,
    ConfigurationError,
    RateLimitExceeded,
    RetryTask,
    TaskLockedException,
    TaskTimeout,
    UnknownTaskError,
)
from ..signals import (
    SIGNAL_CANCELED,
    SIGNAL_EXECUTING,
    SIGNAL_INTERRUPTED,
    SIGNAL_LOCKED,
    SIGNAL_RATE_LIMITED,
    SIGNAL_TIMEOUT,
)
from ._chords import Chords
from ._codec import Codec
from ._events import Events
from ._ports import Ports
from ._registry import Registry, TaskEntry
from ._results import ResultSink
from ._revocations import Revocations
from ._settings import Settings

__all__ = ("ErrorBuilder", "RunOutcome", "Runner", "default_error_result")

logger = logging.getLogger("huey")

RunOutcome: TypeAlias = Defer | Drop | Success | Failure
"""What one run of a task came to."""

ErrorBuilder: TypeAlias = Callable[[Task[Any], BaseException], Mapping[str, object]]
"""Builds the metadata stored for a failed task from the task and its exception
(``Huey.build_error_result``)."""


def default_error_result(task: Task[Any], exception: BaseException) -> dict[str, object]:
    """The error metadata the original huey stores for ``task`` failing with ``exception``.

    ``error`` (the exception's ``repr``; a re-raised sub-task's
    :class:`~huey.exceptions.TaskException` keeps the sub-task's error text),
    ``retries`` (left when it failed), ``traceback`` and ``task_id``.
    """
    return {
        "error": _core.error_text(exception),
        "retries": task.retries,
        "traceback": "".join(traceback.format_exception(exception)),
        "task_id": task.id,
    }


class Runner:
    """Runs tasks of the registry and records their outcome through a sink.

    Args:
        settings: results options.
        ports: the storage in use and the clock.
        codec: encodes results and errors.
        registry: the task functions.
        events: signals and hooks.
        revocations: the revocation flags.
        enqueue: enqueues follow-up messages (retries, pipeline stages, error handlers).
        schedule: puts a task that is not due yet in the schedule.
        error_builder: builds the metadata stored for a failure (default
            :func:`default_error_result`); if it raises, or returns what cannot be
            stored, the default record is stored and the problem logged.
        chords: records the outcomes of chord members.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        ports: Ports,
        codec: Codec,
        registry: Registry,
        events: Events,
        revocations: Revocations,
        enqueue: Callable[[Task[Any]], None],
        schedule: Callable[[Task[Any]], None],
        error_builder: ErrorBuilder = default_error_result,
        chords: Chords,
    ) -> None:
        self.settings = settings
        self.ports = ports
        self.codec = codec
        self.registry = registry
        self.events = events
        self.revocations = revocations
        self.enqueue = enqueue
        self.schedule = schedule
        self.error_builder = error_builder
        self.chords = chords

    def run(
        self,
        task: Task[Any],
        now: float,
        flags: Sequence[bytes | None] | None,
        sink: ResultSink,
    ) -> RunOutcome:
        """Run ``task`` at ``now`` and record its outcome through ``sink``.

        Args:
            task: the task.
            now: the time of the run (UTC epoch seconds).
            flags: the task's two revocation flags when already read with the message
                (instance, then task; ``None`` for no flag), else ``None``.
            sink: where results, errors and flag removals go.

        Raises:
            UnknownTaskError: ``task`` names a task that is not registered.
            ValueError: ``flags`` does not hold exactly two flags.
        """
        if flags is not None and len(flags) != 2:
            raise ValueError(f"revocations must hold 2 flags (instance, task), got {len(flags)}")
        entry = self.registry.get(task.name)
        if entry is None:
            raise UnknownTaskError(task.name)
        revoked = _core.is_due(task, now) and self.revocations.consume(task, now, flags)
        decision = _core.decide(task, now, revoked=revoked)
        if isinstance(decision, Defer):
            self.schedule(task)
            return decision
        if isinstance(decision, Drop):
            self._apply(task, _core.dropped(task, decision.signal), sink)
            return decision
        self.events.emit(SIGNAL_EXECUTING, task)
        try:
            self.events.run_pre_execute(task)
        except CancelExecution:
            self._apply(task, _core.dropped(task, SIGNAL_CANCELED), sink)
            return Drop(SIGNAL_CANCELED)
        outcome = self._call(entry, task)
        periodic = entry.settings.periodic
        if not periodic:
            sink.discard(task.revoke_id)
        effects = _core.settle(
            task,
            outcome,
            self.ports.clock.time(),
            store_results=self.settings.results and not periodic,
            store_none=self.settings.store_none,
            store_intermediate_errors=self.settings.store_intermediate_errors,
        )
        self._apply(task, effects, sink, outcome)
        return outcome

    def _call(self, entry: TaskEntry, task: Task[Any]) -> Outcome:
        kwargs = dict(task.kwargs)
        if entry.settings.context:
            kwargs["task"] = task
        try:
            # The deadline makes task.check_timeout() work wherever the task runs: a
            # worker, huey.execute() or immediate mode.
            with deadline_scope(task.timeout):
                # An async task's coroutine runs here; its exceptions reach the clauses
                # below as a plain function's do.
                return Success(self.complete(entry.func(*task.args, **kwargs)))
        except TaskLockedException as exc:
            logger.warning("task %s not run: %s", task.id, exc)
            return Failure(exception=exc, signal=SIGNAL_LOCKED)
        except RateLimitExceeded as exc:
            # Not an error, so no traceback. exc.retry forces a retry at the next window
            # that uses none of the task's retries; otherwise it retries only if it has
            # retries left. The core stores the exception only when no retry follows.
            logger.info("task %s (%s) not run: %s", task.name, task.id, exc)
            return Failure(
                exception=exc,
                signal=SIGNAL_RATE_LIMITED,
                retry=True if exc.retry else None,
                retry_eta=self.ports.clock.time() + exc.delay,
            )
        except RetryTask as exc:
            try:
                eta = self._retry_eta(exc)
            except (TypeError, ValueError) as bad:
                # A RetryTask with an unusable eta/delay is a bug in the task: report it
                # like any other error instead of letting it escape the worker.
                logger.exception("task %s (%s) raised an invalid RetryTask", task.name, task.id)
                return Failure(exception=bad, traceback=traceback.format_exc())
            return Failure(exception=exc, signal=None, retry=True, retry_eta=eta, store=False)
        except CancelExecution as exc:
            # Stored like an error (so a reader gets a TaskException instead of waiting
            # for ever); when a retry follows, the core's store_intermediate_errors rule
            # decides.
            return Failure(exception=exc, signal=SIGNAL_CANCELED, retry=exc.retry)
        except TaskTimeout as exc:
            return Failure(exception=exc, signal=SIGNAL_TIMEOUT, traceback=traceback.format_exc())
        except KeyboardInterrupt as exc:
            return Failure(exception=exc, signal=SIGNAL_INTERRUPTED, store=False)
        except asyncio.CancelledError as exc:
            # Only an async task can raise it (something it awaited was cancelled): a
            # failure like any other, not a reason to stop the worker.
            logger.exception("task %s (%s) was cancelled", task.name, task.id)
            return Failure(exception=exc, traceback=traceback.format_exc())
        except Exception as exc:
            logger.exception("task %s (%s) failed", task.name, task.id)
            return Failure(exception=exc, traceback=traceback.format_exc())

    @staticmethod
    def complete(value: object) -> object:
        """What a task function's return ``value`` comes to.

        An ``async def`` task returns a coroutine: it runs to completion on this
        thread's event loop, which stays open for the thread's next async task, and its
        result is returned. Anything else is returned as it is.
        """
        if isinstance(value, Coroutine):
            return _run_coroutine(cast("Coroutine[Any, Any, object]", value))
        return value

    @staticmethod
    def close_loop() -> None:
        """Close this thread's event loop for async tasks, if it has one.

        A consumer worker calls it when it stops; the loops of other threads are closed
        when the interpreter exits.
        """
        _close_thread_loop()

    def _retry_eta(self, exc: RetryTask) -> float | None:
        if exc.eta is not None:
            return epoch_of(exc.eta, what="RetryTask eta")
        if exc.delay is not None:
            return self.ports.clock.time() + delay_to_seconds(exc.delay, what="RetryTask delay")
        return None

    def _apply(
        self,
        task: Task[Any],
        effects: Sequence[_core.Effect],
        sink: ResultSink,
        outcome: Outcome | None = None,
    ) -> None:
        """Carry out ``effects`` in order; ``outcome`` is the run's, when the task ran."""
        built: Mapping[str, object] | None = None
        for effect in effects:
            match effect:
                case _core.StoreResult(task_id, value):
                    sink.store_result(task_id, self.codec.encode_result(task, value))
                case _core.StoreError(task_id, info):
                    exception = outcome.exception if isinstance(outcome, Failure) else None
                    if exception is not None and built is None:
                        built = self._build_error(task, exception)
                    sink.store_result(task_id, self._encode_error(task, info, built))
                case _core.PostExecute(value, exception):
                    self.events.run_post_execute(task, value, exception)
                case _core.Emit(signal, exception):
                    extra = () if exception is None or signal != "error" else (exception,)
                    self.events.emit(signal, task, *extra)
                case _core.Enqueue(message):
                    self.enqueue(cast("Task[Any]", message))
                case _core.ReportToChord(chord, member_outcome):
                    self.chords.report(chord, member_outcome, task.id)

    def _build_error(self, task: Task[Any], exception: BaseException) -> Mapping[str, object]:
        """The builder's metadata for this failure, once per run (``{}``: it failed)."""
        try:
            return _checked_metadata(self.error_builder(task, exception))
        except Exception:
            logger.exception("building the error of %s (%s) failed", task.name, task.id)
            return {}

    def _encode_error(
        self, task: Task[Any], info: ErrorInfo, built: Mapping[str, object] | None
    ) -> bytes:
        if built:
            try:
                return self.codec.encode_error(info.with_metadata(built))
            except Exception:
                logger.exception(
                    "the error built for %s (%s) cannot be stored; storing the default",
                    task.name,
                    task.id,
                )
        return self.codec.encode_error(info)


def _checked_metadata(built: object) -> Mapping[str, object]:
    """What an error builder returned, if it is a mapping with string keys.

    Raises:
        TypeError: it is not (an override is user code, maybe untyped).
    """
    if not isinstance(built, Mapping):
        raise TypeError(f"it returned {type(built).__name__}, not a mapping")
    mapping = cast("Mapping[object, object]", built)
    if not all(isinstance(key, str) for key in mapping):
        raise TypeError(f"its keys must be strings, got {list(mapping)!r:.80}")
    return cast("Mapping[str, object]", mapping)


# --- async tasks: one event loop per thread -------------------------------------------
#
# A coroutine task runs on an event loop that belongs to the running thread and stays
# open between tasks, so clients bound to a loop (connection pools) can be reused from
# one task to the next. A worker closes its loop when it stops; the loops of other
# threads (immediate mode, huey.execute()) are closed at exit. A process forked from
# one gets loops of its own: an inherited loop shares its selector with the parent.


class _ThreadLoop(threading.local):
    """This thread's runner for coroutine tasks, created on first use."""

    runner: asyncio.Runner | None = None
    pid: int = 0


_thread_loop = _ThreadLoop()
# Open runners, by the pid that made them. No lock: single dict operations are atomic,
# and a lock held by another thread at fork() would stay locked in the child.
_open_loops: dict[asyncio.Runner, int] = {}


def _this_thread_runner() -> asyncio.Runner:
    held = _thread_loop
    pid = os.getpid()
    if held.runner is None or held.pid != pid:
        # A new event loop, not set as the thread's current loop: asyncio's own
        # get_event_loop() outside tasks is left as the application set it.
        runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        _open_loops[runner] = pid
        held.runner, held.pid = runner, pid
    return held.runner


def _close_thread_loop() -> None:
    """Close the calling thread's event loop for coroutine tasks, if it has one."""
    held = _thread_loop
    runner, held.runner = held.runner, None
    if runner is None or held.pid != os.getpid():
        return
    _open_loops.pop(runner, None)
    runner.close()


@atexit.register
def _close_open_loops() -> None:
    # Kept referenced until now so that no loop is garbage-collected unclosed; a loop a
    # daemon thread is still running is left alone.
    runners = [runner for runner, pid in list(_open_loops.items()) if pid == os.getpid()]
    _open_loops.clear()
    for runner in runners:
        try:
            if not runner.get_loop().is_running():
                runner.close()
        except Exception:  # exiting: a loop that cannot close cleanly is not worth a traceback
            logger.debug("could not close an event loop of async tasks", exc_info=True)


def _run_coroutine(coro: Coroutine[Any, Any, object]) -> object:
    """Run an async task's coroutine to completion and return its result.

    It runs on this thread's event loop, under the running task's timeout (see
    :mod:`huey._deadline`) if it has one: past it, the coroutine is cancelled and
    :class:`~huey.exceptions.TaskTimeout` raised. Its exceptions propagate unchanged.

    Under gevent (greenlet workers) it refuses with
    :class:`~huey.exceptions.ConfigurationError`: greenlets share one OS thread, and
    a thread runs one event loop at a time.

    Called inside a running event loop (immediate mode in async code, an async task
    calling another one in immediate mode), the coroutine cannot run on that loop: the
    caller is synchronous and would have to block the very loop the coroutine needs. It
    runs on a fresh event loop in a helper thread instead, while the caller waits as for
    any task in immediate mode.
    """
    if _gevent_patched_threads():
        coro.close()
        raise ConfigurationError(
            "async def tasks cannot run where gevent patched threading (greenlet "
            "workers): every greenlet shares one OS thread, which can run only one "
            "asyncio event loop at a time; run async tasks on thread or process workers"
        )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_on(_this_thread_runner(), coro, time_remaining())
    return _run_in_helper_thread(coro)


def _gevent_patched_threads() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    is_patched: object = getattr(monkey, "is_module_patched", None)
    return callable(is_patched) and bool(is_patched("threading"))


def _run_on(
    runner: asyncio.Runner,
    coro: Coroutine[Any, Any, object],
    timeout: float | None,
    context: contextvars.Context | None = None,
) -> object:
    main: list[asyncio.Task[object]] = []
    try:
        return runner.run(_bounded(coro, timeout, main), context=context)
    finally:
        # An exception raised into the loop from outside (a process worker's SIGALRM
        # timeout, SIGTERM) leaves the task pending: cancel it, so it cannot resume
        # during the next task on this loop.
        if main and not main[0].done():
            main[0].cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                # What it comes to does not matter: the exception above propagates.
                runner.get_loop().run_until_complete(main[0])
        coro.close()  # if it never started (no-op once it finished)


async def _bounded(
    coro: Coroutine[Any, Any, object],
    timeout: float | None,
    main: list[asyncio.Task[object]],
) -> object:
    current = asyncio.current_task()
    if current is not None:
        main.append(current)
    if timeout is None:
        return await coro
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            return await coro
    except TimeoutError:
        if scope.expired():  # not a TimeoutError of the task's own
            raise TaskTimeout("async task ran past its timeout and was cancelled") from None
        raise


def _run_in_helper_thread(coro: Coroutine[Any, Any, object]) -> object:
    remaining = time_remaining()
    context = contextvars.copy_context()
    outcome: list[object] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            with (
                deadline_scope(remaining),
                asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner,
            ):
                outcome.append(_run_on(runner, coro, remaining, context))
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    helper = threading.Thread(target=target, name="huey-async-task", daemon=True)
    helper.start()
    helper.join()
    if failure:
        raise failure[0]
    return outcome[0]
