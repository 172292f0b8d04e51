"""Result handles: read what a task returned (I/O shell over the result store)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Literal, cast, overload

from typing_extensions import TypeVar, override

from .constants import EmptyData
from .exceptions import ResultTimeout

if TYPE_CHECKING:
    from ._api import Huey
    from ._task import Task

__all__ = ("Result", "ResultGroup")

R_co = TypeVar("R_co", covariant=True)

# What a handle has read: nothing yet, or the value (cached, since reads are destructive).
_NOT_READ = object()


class Result(Generic[R_co]):
    """Handle on the result of one enqueued task.

    Reads are destructive by default (the stored value is removed once read, so the
    result store does not grow); the value is cached on the handle. Pass
    ``preserve=True`` to leave it stored.
    """

    __slots__ = ("_cached", "huey", "task")

    def __init__(self, huey: Huey[Any], task: Task[R_co]) -> None:
        self.huey: Huey[Any] = huey
        self.task: Task[R_co] = task
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

        Args:
            blocking: wait until the result is available.
            timeout: with ``blocking``, give up after this many seconds.
            backoff: factor by which the polling interval grows.
            max_delay: longest polling interval, in seconds.
            revoke_on_timeout: revoke the task when the wait times out.
            preserve: leave the result in the store.

        Raises:
            TaskException: the task failed.
            ResultTimeout: ``blocking`` and ``timeout`` elapsed first (a
                :class:`~huey.exceptions.HueyException`).
        """
        if self._cached is _NOT_READ:
            raw = self.huey._read_result(  # pyright: ignore[reportPrivateUsage]  # internal API between huey modules
                self.task.id,
                blocking=blocking,
                timeout=timeout,
                backoff=backoff,
                max_delay=max_delay,
                preserve=preserve,
            )
            if raw is EmptyData:
                if blocking:
                    if revoke_on_timeout:
                        self.revoke()
                    raise ResultTimeout(f"task {self.task.id} did not finish in {timeout}s")
                return None
            self._cached = raw
        # The stored value is what the task returned: its type is R by construction.
        return cast(R_co, self.huey._unpack_result(self._cached))  # pyright: ignore[reportPrivateUsage]  # internal API between huey modules

    __call__ = get

    def is_ready(self) -> bool:
        """Whether the result is available (reads and caches it, as the original does)."""
        if self._cached is not _NOT_READ:
            return True
        raw = self.huey._read_result(  # pyright: ignore[reportPrivateUsage]  # internal API between huey modules
            self.task.id, blocking=False, timeout=None, backoff=1.15, max_delay=1.0, preserve=False
        )
        if raw is EmptyData:
            return False
        self._cached = raw
        return True

    def reset(self) -> None:
        """Forget the cached value, so the next ``get`` reads the store again."""
        self._cached = _NOT_READ

    def revoke(self, revoke_once: bool = True) -> None:
        """Revoke this task instance (by default for one attempt)."""
        self.huey.revoke_by_id(self.task.id, revoke_once=revoke_once)

    def restore(self) -> bool:
        """Remove this instance's revocation; whether one was found."""
        return self.huey.restore_by_id(self.task.id)

    def is_revoked(self) -> bool:
        """Whether this instance or its whole task is revoked."""
        return self.huey.is_revoked(self.task)

    def reschedule(
        self,
        eta: datetime | None = None,
        delay: float | None = None,
        expires: float | datetime | None = None,
        priority: int | None = None,
    ) -> Result[R_co]:
        """Revoke this instance and enqueue a copy with a new id; return its handle.

        Without ``eta`` or ``delay`` the copy runs as soon as a worker takes it. No check
        is made that the original has not already run.
        """
        # Build (and so validate) the copy before touching the original.
        copy = self.huey._copy_for_reschedule(  # pyright: ignore[reportPrivateUsage]  # internal API between huey modules
            self.task, eta=eta, delay=delay, expires=expires, priority=priority
        )
        self.revoke(revoke_once=True)
        self.huey._enqueue_message(copy)  # pyright: ignore[reportPrivateUsage]  # internal API between huey modules
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
        huey = pending[0].huey
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
                huey.clock.sleep(delay)
                delay = min(delay * backoff, max_delay)
