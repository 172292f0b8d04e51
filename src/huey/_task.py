"""Tasks and task wrappers: the typed face of huey (façade over the pure core).

``@huey.task()`` turns a function into a :class:`TaskWrapper`; calling it enqueues a
:class:`Task` and returns a :class:`~huey.Result`. Both keep the function's signature
(``ParamSpec``), so wrong arguments are type errors and results are typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, Generic, TypedDict, cast, overload

from typing_extensions import ParamSpec, TypeVar, Unpack, override

from ._core import append_stage
from ._messages import Message

if TYPE_CHECKING:
    from ._api import Huey
    from ._result import Result, ResultGroup

__all__ = (
    "ConfiguredTask",
    "PeriodicTaskWrapper",
    "Pipeline",
    "Task",
    "TaskOptions",
    "TaskSettings",
    "TaskWrapper",
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
H_co = TypeVar("H_co", covariant=True, default="Result[R_co]")


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
    def then(self: _Chain[U, Any], task: Task[R2], /) -> Pipeline[U | R2, R2]: ...
    def then(
        self: _Chain[Any, Any],
        task: TaskWrapper[Any, Any, Any] | Task[Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Pipeline[Any, Any]:
        """Run ``task`` after this pipeline's last stage, with that stage's return value.

        The value is passed as huey always has: appended to ``args`` (after any bound
        here), spread if it is a tuple, merged into ``kwargs`` if it is a dict.

        Returns:
            A new head task for the extended pipeline (messages are immutable, so use the
            return value).
        """
        assert isinstance(self, Task)
        stage = task if isinstance(task, Task) else task.unchecked_s(args, kwargs)
        head: Task[Any] = append_stage(self, stage)
        return cast("Pipeline[Any, Any]", cast(object, head))

    def error(
        self,
        task: TaskWrapper[Concatenate[Exception, P2], Any, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> Task[U_co]:
        """Run ``task`` with the exception if this task finally fails.

        Returns:
            A new task with the handler attached.
        """
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

    # The cooperative timeout check of the original huey, for tasks run by thread
    # workers (process and greenlet workers interrupt an overrunning task themselves).
    # Call these on the running task (``context=True``); the deadline belongs to the
    # worker running it, so outside a consumer there is none.

    @property
    def time_remaining(self) -> float | None:
        """Seconds left before this running task's ``timeout``; ``None`` without one."""
        from .consumer import time_remaining  # deferred: the consumer imports this module

        return time_remaining()

    @property
    def is_timed_out(self) -> bool:
        """Whether this running task has used up its ``timeout``."""
        remaining = self.time_remaining
        return remaining is not None and remaining <= 0

    def check_timeout(self) -> None:
        """Raise :class:`~huey.exceptions.TaskTimeout` if the task used up its ``timeout``."""
        from .consumer import check_timeout  # deferred: the consumer imports this module

        check_timeout()


class TaskWrapper(Generic[P, R_co, H_co]):
    """A task function registered with a :class:`~huey.Huey`.

    Calling it enqueues the call and returns ``H`` (a :class:`~huey.Result` ``[R]`` when
    results are stored, ``None`` with ``Huey(results=False)``).
    """

    def __init__(self, huey: Huey[Any], func: Callable[P, R_co], settings: TaskSettings) -> None:
        self.huey = huey
        self._func = func
        self.settings = settings
        self.__doc__ = func.__doc__
        self.__wrapped__ = func

    @property
    def func(self) -> Callable[P, R_co]:
        """The decorated function."""
        return self._func

    @property
    def name(self) -> str:
        """The name the task is registered under."""
        return self.settings.name

    @property
    def retries(self) -> int:
        """Default retries."""
        return self.settings.retries

    @property
    def retry_delay(self) -> float:
        """Default retry delay, in seconds."""
        return self.settings.retry_delay

    @property
    def context(self) -> bool:
        """Whether the function receives the running :class:`Task` as ``task=``."""
        return self.settings.context

    @override
    def __repr__(self) -> str:
        return f"<TaskWrapper {self.name}>"

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> H_co:
        """Enqueue a call of the function; return its result handle."""
        return cast(H_co, self.huey.enqueue(self.s(*args, **kwargs)))

    def s(self, *args: P.args, **kwargs: P.kwargs) -> Task[R_co]:
        """A :class:`Task` for a call of the function, not yet enqueued."""
        return self.unchecked_s(args, kwargs)

    def unchecked_s(
        self, args: tuple[object, ...], kwargs: Mapping[str, object], /, **options: Any
    ) -> Task[R_co]:
        """Like :meth:`s` with the arguments as a tuple and a dict (not type-checked).

        Used where a ``ParamSpec`` cannot express the call, as in :meth:`Task.then`.
        Keyword ``options`` are those of :class:`TaskOptions`.
        """
        return self.huey._build_task(self, tuple(args), dict(kwargs), cast(TaskOptions, options))  # pyright: ignore[reportPrivateUsage]  # internal API between huey modules

    def call_local(self, *args: P.args, **kwargs: P.kwargs) -> R_co:
        """Call the function directly, in this process."""
        return self._func(*args, **kwargs)

    def schedule(
        self,
        args: tuple[Any, ...] | list[Any] | float | timedelta | datetime | None = None,
        kwargs: Mapping[str, Any] | None = None,
        eta: datetime | None = None,
        delay: float | timedelta | None = None,
        *,
        priority: int | None = None,
        retries: int | None = None,
        retry_delay: float | None = None,
        retry_backoff: float | None = None,
        expires: float | timedelta | datetime | None = None,
        timeout: float | None = None,
        id: str | None = None,
    ) -> H_co:
        """Enqueue a call to run at ``eta`` or after ``delay`` seconds.

        ``args`` and ``kwargs`` are not type-checked against the function: prefer
        ``task.with_options(delay=...)(...)``, which is. As in the original huey, a task
        without arguments may be scheduled with the time alone: ``ping.schedule(60)``
        (a delay in seconds or a ``timedelta``) or ``ping.schedule(some_datetime)``.
        """
        if isinstance(args, bool):
            raise TypeError(f"schedule() takes the arguments as a tuple, got {args!r}")
        if isinstance(args, datetime):
            args, eta = None, args
        elif isinstance(args, timedelta | int | float):
            args, delay = None, args
        options: dict[str, object] = {
            "eta": eta,
            "delay": delay,
            "priority": priority,
            "retries": retries,
            "retry_delay": retry_delay,
            "retry_backoff": retry_backoff,
            "expires": expires,
            "timeout": timeout,
            "id": id,
        }
        chosen = {key: value for key, value in options.items() if value is not None}
        task = self.unchecked_s(tuple(args or ()), dict(kwargs or {}), **chosen)
        return cast(H_co, self.huey.enqueue(task))

    def with_options(self, **options: Unpack[TaskOptions]) -> ConfiguredTask[P, R_co, H_co]:
        """The same task with per-call options, checked by the type checker.

        Example::

            add.with_options(delay=10, priority=5)(1, 2)
            pipeline = add.with_options(retries=3).s(1, 2).then(add, b=3)
        """
        return ConfiguredTask(self, options)

    @overload
    def map(self: TaskWrapper[Any, R, None], it: Iterable[Any], /) -> None: ...
    @overload
    def map(self: TaskWrapper[Any, R, Result[R]], it: Iterable[Any], /) -> ResultGroup[R]: ...
    @overload
    def map(
        self: TaskWrapper[Any, R, Result[R] | None], it: Iterable[Any], /
    ) -> ResultGroup[R] | None: ...
    def map(self, it: Iterable[Any], /) -> ResultGroup[Any] | None:
        """Enqueue one call per item (a tuple item is spread as positional arguments)."""
        tasks = [
            self.unchecked_s(item if isinstance(item, tuple) else (item,), {})  # pyright: ignore[reportUnknownArgumentType]  # isinstance() leaves the item types unknown
            for item in it
        ]
        return self.huey._enqueue_many(tasks)  # pyright: ignore[reportPrivateUsage]  # internal API between huey modules

    def revoke(self, revoke_until: datetime | None = None, revoke_once: bool = False) -> None:
        """Stop every instance of this task from running (see ``restore``)."""
        self.huey.revoke_all(self, revoke_until=revoke_until, revoke_once=revoke_once)

    def restore(self) -> bool:
        """Undo :meth:`revoke`; whether a revocation was found."""
        return self.huey.restore_all(self)

    def is_revoked(self, timestamp: datetime | None = None) -> bool:
        """Whether this task is revoked (at ``timestamp``, default now)."""
        return self.huey._is_name_revoked(self.name, timestamp)  # pyright: ignore[reportPrivateUsage]  # internal API between huey modules

    def unregister(self) -> bool:
        """Remove the task from its huey's registry."""
        return self.huey._unregister(self)  # pyright: ignore[reportPrivateUsage]  # internal API between huey modules


class PeriodicTaskWrapper(TaskWrapper[[], R_co, H_co]):
    """A task the consumer enqueues whenever ``validate_datetime`` accepts the minute."""

    def __init__(
        self,
        huey: Huey[Any],
        func: Callable[[], R_co],
        settings: TaskSettings,
        validate_datetime: Callable[[datetime], bool],
    ) -> None:
        super().__init__(huey, func, settings)
        self.validate_datetime = validate_datetime


class ConfiguredTask(Generic[P, R_co, H_co]):
    """A task with per-call options, from :meth:`TaskWrapper.with_options`."""

    __slots__ = ("_options", "_wrapper")

    def __init__(self, wrapper: TaskWrapper[P, R_co, H_co], options: TaskOptions) -> None:
        self._wrapper = wrapper
        self._options = options

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> H_co:
        """Enqueue a call with the options; return its result handle."""
        return cast(H_co, self._wrapper.huey.enqueue(self.s(*args, **kwargs)))

    def s(self, *args: P.args, **kwargs: P.kwargs) -> Task[R_co]:
        """A :class:`Task` for a call with the options, not yet enqueued."""
        return self._wrapper.unchecked_s(args, kwargs, **self._options)
