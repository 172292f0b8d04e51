"""Task messages as the application sees them: :class:`Task` and typed pipelines.

A :class:`Task` is the pure core's immutable :class:`~huey._messages.Message` with the
typed pipeline builders (``then``, ``error``) and the original huey's conveniences.
:class:`~huey.api.TaskWrapper` (``huey._wrapper``) builds them from typed calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, Generic, TypedDict, cast, overload

from typing_extensions import ParamSpec, TypeVar, override

from ._core import append_stage
from ._deadline import check_timeout, time_remaining
from ._limits import bounded_repr
from ._messages import Message

if TYPE_CHECKING:
    from ._wrapper import TaskWrapper

__all__ = (
    "Pipeline",
    "Task",
    "TaskOptions",
    "TaskSettings",
)

P = ParamSpec("P")
P2 = ParamSpec("P2")
R = TypeVar("R")
R2 = TypeVar("R2")
U = TypeVar("U")
Rt = TypeVar("Rt")
A1 = TypeVar("A1")
A2 = TypeVar("A2")
A3 = TypeVar("A3")
R_co = TypeVar("R_co", covariant=True, default=Any)
U_co = TypeVar("U_co", covariant=True)
Rt_co = TypeVar("Rt_co", covariant=True)


class TaskOptions(TypedDict, total=False):
    """Per-call options accepted by :meth:`TaskWrapper.with_options`.

    Attributes:
        eta: when to run (a naive datetime is local time).
        delay: seconds (or a ``timedelta``) to wait before running.
        priority: higher runs first.
        retries: retries on failure.
        retry_delay: seconds between retries.
        retry_backoff: factor applied to ``retry_delay`` after each retry.
        expires: seconds (or ``timedelta``, or an absolute datetime) after which the
            task is dropped instead of run.
        timeout: seconds the task may run.
        id: the task id to use instead of a random one.
    """

    eta: datetime
    delay: float | timedelta
    priority: int
    retries: int
    retry_delay: float
    retry_backoff: float
    expires: float | timedelta | datetime
    timeout: float
    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskSettings:
    """The defaults a task was decorated with."""

    name: str
    retries: int = 0
    retry_delay: float = 0.0
    retry_backoff: float = 1.0
    priority: int = 0
    expires: float | timedelta | datetime | None = None
    timeout: float | None = None
    context: bool = False
    periodic: bool = False


class _Chain(Generic[U_co, Rt_co]):
    """Pipeline building, typed: ``U`` is the union of stage results, ``Rt`` the last one.

    A :class:`Task` ``[R]`` is a ``_Chain[R, R]``. Arguments bound in ``then()`` are
    placed *before* the parent's value at run time, so bind extra arguments by keyword
    for an exact check (see the typed-usage docs).
    """

    __slots__ = ()

    @overload
    def then(
        self: _Chain[U, None],
        task: TaskWrapper[P2, R2, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> Pipeline[U | R2, R2]: ...
    @overload
    def then(
        self: _Chain[U, tuple[A1, A2, A3]],
        task: TaskWrapper[Concatenate[A1, A2, A3, P2], R2, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> Pipeline[U | R2, R2]: ...
    @overload
    def then(
        self: _Chain[U, tuple[A1, A2]],
        task: TaskWrapper[Concatenate[A1, A2, P2], R2, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> Pipeline[U | R2, R2]: ...
    @overload
    def then(
        self: _Chain[U, tuple[A1]],
        task: TaskWrapper[Concatenate[A1, P2], R2, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> Pipeline[U | R2, R2]: ...
    @overload
    def then(
        self: _Chain[U, dict[str, Any]],
        task: TaskWrapper[..., R2, Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Pipeline[U | R2, R2]: ...
    @overload
    def then(
        self: _Chain[U, Rt],
        task: TaskWrapper[Concatenate[Rt, P2], R2, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> Pipeline[U | R2, R2]: ...
    @overload
    def then(
        self: _Chain[U, Any], task: Task[R2], /, *args: Any, **kwargs: Any
    ) -> Pipeline[U | R2, R2]: ...
    def then(
        self: _Chain[Any, Any],
        task: TaskWrapper[Any, Any, Any] | Task[Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Pipeline[Any, Any]:
        """Run ``task`` after this pipeline's last stage, with that stage's return value.

        The value is passed as huey always has: appended to ``args`` (after any bound
        here), spread if it is a tuple, merged into ``kwargs`` if it is a dict. With a
        :class:`Task` (from ``.s()``), ``args`` are added after its own arguments and
        ``kwargs`` merged into its own, as the original huey does.

        Returns:
            A new head task for the extended pipeline (messages are immutable, so use the
            return value).
        """
        assert isinstance(self, Task)
        if isinstance(task, Task):
            stage: Task[Any] = task
            if args or kwargs:
                stage = replace(task, args=task.args + args, kwargs={**task.kwargs, **kwargs})
        else:
            stage = task.unchecked_s(args, kwargs)
        head: Task[Any] = append_stage(self, stage)
        return cast("Pipeline[Any, Any]", cast(object, head))

    def _with_error_handler(
        self, task: TaskWrapper[..., Any, Any], args: tuple[object, ...], kwargs: dict[str, Any]
    ) -> Task[Any]:
        """A copy of this head with ``task`` run on its final failure (see ``error``)."""
        assert isinstance(self, Task)
        head: Task[Any] = self
        handler = task.unchecked_s(args, kwargs)
        if head.on_error is not None:
            handler = append_stage(cast("Task[Any]", head.on_error), handler)
        return replace(head, on_error=handler)


class Pipeline(_Chain[U_co, Rt_co]):
    """Static type of a pipeline built with :meth:`Task.then` (never instantiated).

    At run time a pipeline is its head :class:`Task`; ``huey.enqueue(pipeline)`` returns
    a :class:`~huey.ResultGroup` whose values have type ``U``.
    """

    __slots__ = ()

    def error(
        self,
        task: TaskWrapper[Concatenate[Exception, P2], Any, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> Pipeline[U_co, Rt_co]:
        """Run ``task`` with the exception if the pipeline finally fails.

        Returns:
            A new head with the handler attached (still a pipeline).
        """
        head = self._with_error_handler(task, args, kwargs)
        return cast("Pipeline[U_co, Rt_co]", cast(object, head))


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Task(Message, _Chain[R_co, R_co]):
    """One invocation of a task function, ready to enqueue (immutable).

    Build one with :meth:`TaskWrapper.s`; enqueue it with :meth:`huey.Huey.enqueue`.
    ``R`` is the function's return type.
    """

    @property
    def data(self) -> tuple[tuple[object, ...], Mapping[str, object]]:
        """``(args, kwargs)``, as the original huey exposes them."""
        return self.args, self.kwargs

    @override
    def __repr__(self) -> str:
        # Tasks end up in log lines; their arguments may be huge or nested deeply
        # enough to make a full repr() fill the log or raise RecursionError.
        return (
            f"{type(self).__name__}({self.name}: {self.id}, args={bounded_repr(self.args)}, "
            f"kwargs={bounded_repr(dict(self.kwargs))})"
        )

    def error(
        self,
        task: TaskWrapper[Concatenate[Exception, P2], Any, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> Task[R_co]:
        """Run ``task`` with the exception if this task finally fails.

        Returns:
            A new task with the handler attached.
        """
        return self._with_error_handler(task, args, kwargs)

    # The cooperative timeout check of the original huey, for tasks run by thread
    # workers (process and greenlet workers interrupt an overrunning task themselves).
    # Call these on the running task (``context=True``); the deadline belongs to the
    # worker running it, so outside a consumer there is none.

    @property
    def time_remaining(self) -> float | None:
        """Seconds left before this running task's ``timeout``; ``None`` without one."""
        return time_remaining()

    @property
    def is_timed_out(self) -> bool:
        """Whether this running task has used up its ``timeout``."""
        remaining = self.time_remaining
        return remaining is not None and remaining <= 0

    def check_timeout(self) -> None:
        """Raise :class:`~huey.exceptions.TaskTimeout` if the task used up its ``timeout``."""
        check_timeout()
