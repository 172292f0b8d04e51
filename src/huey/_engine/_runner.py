"""Running one task: ask the core what to do, call the function, carry out the effects.

:meth:`Runner.run` is the whole life of one delivery of a task inside a worker (or in
immediate mode, inside the caller). It returns what happened, in the core's own terms:
:class:`~huey._core.Defer` (not due: scheduled), :class:`~huey._core.Drop` (revoked,
expired, or cancelled by a pre-execute hook), :class:`~huey._core.Success` or
:class:`~huey._core.Failure` (the function ran). The order of effects is the core's:
the result is written (to the sink) before the post-execute hooks and signals run.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias, cast

from .. import _core
from .._core import Defer, Drop, Failure, Outcome, Success
from .._deadline import deadline_scope
from .._localtime import epoch_of
from .._messages import ErrorInfo
from .._task import Task
from .._timeutil import delay_to_seconds
from ..exceptions import (
    CancelExecution,
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
            self.events.emit(decision.signal, task)
            return decision
        self.events.emit(SIGNAL_EXECUTING, task)
        try:
            self.events.run_pre_execute(task)
        except CancelExecution:
            self.events.emit(SIGNAL_CANCELED, task)
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
                return Success(entry.func(*task.args, **kwargs))
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
            # Stored when no retry follows, so a reader gets a TaskException instead of
            # waiting for ever (the core does not store it when a retry follows).
            return Failure(exception=exc, signal=SIGNAL_CANCELED, retry=exc.retry)
        except TaskTimeout as exc:
            return Failure(exception=exc, signal=SIGNAL_TIMEOUT, traceback=traceback.format_exc())
        except KeyboardInterrupt as exc:
            return Failure(exception=exc, signal=SIGNAL_INTERRUPTED, store=False)
        except Exception as exc:
            logger.exception("task %s (%s) failed", task.name, task.id)
            return Failure(exception=exc, traceback=traceback.format_exc())

    def _retry_eta(self, exc: RetryTask) -> float | None:
        if exc.eta is not None:
            return epoch_of(exc.eta, what="RetryTask eta")
        if exc.delay is not None:
            return self.ports.clock.time() + delay_to_seconds(exc.delay, what="RetryTask delay")
        return None

    def _apply(
        self, task: Task[Any], effects: Sequence[_core.Effect], sink: ResultSink, outcome: Outcome
    ) -> None:
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
