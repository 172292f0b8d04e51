"""Result handles: read what a task returned (layer 2, over the engine's result store)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, cast, overload

from typing_extensions import TypeVar, override

from ._core import pipeline_stages
from ._engine import instance_key
from ._messages import error_from_wire
from ._task import Task
from .constants import EmptyData
from .exceptions import ResultTimeout
from .utils import Error

if TYPE_CHECKING:
    from ._api import Huey

__all__ = ("Result", "ResultGroup", "enqueue_with_handles")

R_co = TypeVar("R_co", covariant=True)

# What a handle has read: nothing yet, or the value (cached, since reads are destructive).
_NOT_READ = object()


class Result(Generic[R_co]):
    """Handle on the result of one enqueued task.

    Reads are destructive by default (the stored value is removed once read, so the
    result store does not grow); the value is cached on the handle. Pass
    ``preserve=True`` to leave it stored.
    """

    __slots__ = ("_cached", "_engine", "huey", "task")

    def __init__(self, huey: Huey[Any], task: Task[R_co]) -> None:
        self.huey: Huey[Any] = huey
        self.task: Task[R_co] = task
        self._engine = huey.engine
        self._cached: object = _NOT_READ

    @property
    def id(self) -> str:
        """The task's id."""
        return self.task.id

    @override
    def __repr__(self) -> str:
        return f"<Result: task {self.task.id}>"

    @overload
    def get(
        self,
        blocking: Literal[True],
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co: ...
    @overload
    def get(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co | None: ...
    def get(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co | None:
        """The task's return value, or ``None`` while it is not ready.

        A task with retries stores the error of each failed attempt that will be
        retried. A blocking ``get`` waits past such an error for the retry's outcome; a
        non-blocking one raises it, and a later ``get`` reads the store again (only a
        final value or a final error is cached on the handle).

        Args:
            blocking: wait until the result is available.
            timeout: with ``blocking``, give up after this many seconds.
            backoff: factor by which the polling interval grows.
            max_delay: longest polling interval, in seconds.
            revoke_on_timeout: revoke the task when the wait times out.
            preserve: leave the result in the store.

        Raises:
            TaskException: the task failed (for a non-blocking read: its latest attempt).
            ResultTimeout: ``blocking`` and ``timeout`` elapsed first (a
                :class:`~huey.exceptions.HueyException`).
        """
        value = self._read(blocking, timeout, backoff, max_delay, revoke_on_timeout, preserve)
        if value is EmptyData:
            return None
        # The stored value is what the task returned: its type is R by construction.
        return cast(R_co, self._engine.results.unpack(value))

    __call__ = get

    @overload
    def get_raw_result(
        self,
        blocking: Literal[True],
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co | Error: ...
    @overload
    def get_raw_result(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co | Error | None: ...
    def get_raw_result(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> R_co | Error | None:
        """Like :meth:`get`, but a failed task's error is returned instead of raised.

        The error comes as :class:`huey.utils.Error`, whose ``metadata`` is what
        :attr:`TaskException.metadata <huey.exceptions.TaskException.metadata>` would
        hold. The arguments, the caching and the waiting are :meth:`get`'s.

        Raises:
            ResultTimeout: ``blocking`` and ``timeout`` elapsed first.
        """
        value = self._read(blocking, timeout, backoff, max_delay, revoke_on_timeout, preserve)
        if value is EmptyData:
            return None
        error = error_from_wire(value)
        if error is not None:
            return Error(error.as_metadata())
        # The stored value is what the task returned: its type is R by construction.
        return cast(R_co, value)

    def _read(
        self,
        blocking: bool,
        timeout: float | None,
        backoff: float,
        max_delay: float,
        revoke_on_timeout: bool,
        preserve: bool,
    ) -> object:
        """The stored value (decoded, not unpacked) or ``EmptyData``; a final one is cached."""
        if self._cached is not _NOT_READ:
            return self._cached
        results = self._engine.results
        value = results.read(
            self.task.id,
            blocking=blocking,
            timeout=timeout,
            backoff=backoff,
            max_delay=max_delay,
            preserve=preserve,
        )
        if blocking and results.is_pending(value):
            if revoke_on_timeout:
                self.revoke()
            retrying = "" if value is EmptyData else " (its last attempt failed; a retry is due)"
            raise ResultTimeout(f"task {self.task.id} did not finish in {timeout}s{retrying}")
        if not results.is_pending(value):
            self._cached = value
        return value

    def is_ready(self, preserve: bool = False) -> bool:
        """Whether the final result is available (reads and caches it, as the original does).

        The error of an attempt that will be retried is not a final result. With
        ``preserve`` the value is left in the store.
        """
        if self._cached is not _NOT_READ:
            return True
        results = self._engine.results
        value = results.read(
            self.task.id,
            blocking=False,
            timeout=None,
            backoff=1.15,
            max_delay=1.0,
            preserve=preserve,
        )
        if results.is_pending(value):
            return False
        self._cached = value
        return True

    def reset(self) -> None:
        """Forget the cached value, so the next ``get`` reads the store again."""
        self._cached = _NOT_READ

    def revoke(self, revoke_once: bool = True) -> None:
        """Revoke this task instance (by default for one attempt)."""
        self._engine.revocations.put(instance_key(self.task.id), None, revoke_once)

    def restore(self) -> bool:
        """Remove this instance's revocation; whether one was found."""
        return self._engine.revocations.remove(instance_key(self.task.id))

    def is_revoked(self) -> bool:
        """Whether this instance or its whole task is revoked."""
        revocations = self._engine.revocations
        return revocations.any_applies(revocations.keys_of(self.task), self._engine.timestamp(None))

    def reschedule(
        self,
        eta: datetime | None = None,
        delay: float | None = None,
        expires: float | datetime | None = None,
        priority: int | None = None,
        preserve_pipeline: bool = True,
    ) -> Result[R_co]:
        """Revoke this instance and enqueue a copy with a new id; return its handle.

        Without ``eta`` or ``delay`` the copy runs as soon as a worker takes it. No check
        is made that the original has not already run. With ``preserve_pipeline`` (the
        default) the copy keeps the stages chained after this task (``then()``) and its
        error handler (``error()``); with ``False`` it runs alone.
        """
        # Build (and so validate) the copy before touching the original.
        copy = self._engine.enqueuer.copy_for_reschedule(
            self.task, eta=eta, delay=delay, expires=expires, priority=priority
        )
        if not preserve_pipeline:
            copy = replace(copy, on_complete=None, on_error=None)
        self.revoke(revoke_once=True)
        self._engine.enqueuer.enqueue(copy)
        return Result(self.huey, copy)


class ResultGroup(Generic[R_co]):
    """The results of a pipeline or of :meth:`TaskWrapper.map`, in order."""

    __slots__ = ("_results",)

    def __init__(self, results: list[Result[R_co]]) -> None:
        self._results = results

    @override
    def __repr__(self) -> str:
        return f"<ResultGroup: {len(self._results)} results>"

    @overload
    def get(
        self,
        blocking: Literal[True],
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> list[R_co]: ...
    @overload
    def get(
        self,
        blocking: Literal[False] = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> list[R_co | None]: ...
    @overload
    def get(
        self,
        blocking: bool,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> list[R_co] | list[R_co | None]: ...
    def get(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> list[R_co] | list[R_co | None]:
        """Call :meth:`Result.get` on each result, with the same arguments."""
        return [
            result.get(blocking, timeout, backoff, max_delay, revoke_on_timeout, preserve)
            for result in self._results
        ]

    __call__ = get

    def __getitem__(self, index: int) -> R_co:
        """Blocking read of one result."""
        return self._results[index].get(blocking=True)

    def __iter__(self) -> Iterator[Result[R_co]]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    def as_completed(self, backoff: float = 1.15, max_delay: float = 1.0) -> Iterator[R_co]:
        """Yield the values in the order the tasks finish.

        Raises:
            TaskException: when a failed task's turn comes.
        """
        pending = list(self._results)
        if not pending:
            return
        clock = pending[0].huey.engine.ports.clock
        delay = 0.01
        while pending:
            still_pending: list[Result[R_co]] = []
            for result in pending:
                if result.is_ready():
                    yield result.get(blocking=True)
                else:
                    still_pending.append(result)
            pending = still_pending
            if pending:
                clock.sleep(delay)
                delay = min(delay * backoff, max_delay)


def enqueue_with_handles(huey: Huey[Any], head: Task[Any]) -> Result[Any] | ResultGroup[Any] | None:
    """Enqueue a task or a pipeline (its head); return the handles the caller gets.

    Returns:
        A :class:`Result` for a single task, a :class:`ResultGroup` for a pipeline (one
        result per stage), ``None`` when the application stores no results.
    """
    engine = huey.engine
    engine.enqueuer.enqueue(head)
    if not engine.settings.results:
        return None
    if head.on_complete is None:  # a single task, the usual call
        return Result(huey, head)
    stages = pipeline_stages(head)
    if len(stages) == 1:
        return Result(huey, head)
    return ResultGroup([Result(huey, cast("Task[Any]", stage)) for stage in stages])
