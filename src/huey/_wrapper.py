"""Task wrappers: what ``@huey.task()`` returns (layer 2, built on the engine).

Calling a :class:`TaskWrapper` builds a :class:`~huey.api.Task` and enqueues it; the
wrapper keeps the function's signature (``ParamSpec``), so wrong arguments are type
errors and results are typed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, cast, overload

from typing_extensions import ParamSpec, TypeVar, Unpack, override

from ._engine import task_key
from ._localtime import epoch_of
from ._result import Result, ResultGroup, enqueue_with_handles
from ._task import Task, TaskOptions, TaskSettings

if TYPE_CHECKING:
    from ._api import Huey

__all__ = ("ConfiguredTask", "PeriodicTaskWrapper", "TaskWrapper", "register_function")

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True, default=Any)
H_co = TypeVar("H_co", covariant=True, default="Result[R_co]")


class TaskWrapper(Generic[P, R_co, H_co]):
    """A task function registered with a :class:`~huey.Huey`.

    Calling it enqueues the call and returns ``H`` (a :class:`~huey.Result` ``[R]`` when
    results are stored, ``None`` with ``Huey(results=False)``).
    """

    def __init__(self, huey: Huey[Any], func: Callable[P, R_co], settings: TaskSettings) -> None:
        self.huey = huey
        self._engine = huey.engine
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
        return cast(H_co, enqueue_with_handles(self.huey, self.s(*args, **kwargs)))

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
        return self._engine.enqueuer.build(self.settings, tuple(args), dict(kwargs), options)

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
        return cast(H_co, enqueue_with_handles(self.huey, task))

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
        for task in tasks:
            self._engine.enqueuer.enqueue(task)
        if not self._engine.settings.results:
            return None
        return ResultGroup([Result(self.huey, task) for task in tasks])

    def revoke(self, revoke_until: datetime | None = None, revoke_once: bool = False) -> None:
        """Stop every instance of this task from running (see ``restore``)."""
        until = None if revoke_until is None else epoch_of(revoke_until, what="revoke_until")
        self._engine.revocations.put(task_key(self.name), until, revoke_once)

    def restore(self) -> bool:
        """Undo :meth:`revoke`; whether a revocation was found."""
        return self._engine.revocations.remove(task_key(self.name))

    def is_revoked(self, timestamp: datetime | None = None) -> bool:
        """Whether this task is revoked (at ``timestamp``, default now)."""
        return self._engine.revocations.applies(
            task_key(self.name), self._engine.timestamp(timestamp)
        )

    def unregister(self) -> bool:
        """Remove the task from its huey's registry."""
        return self._engine.registry.unregister(self.name)


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
        return cast(H_co, enqueue_with_handles(self._wrapper.huey, self.s(*args, **kwargs)))

    def s(self, *args: P.args, **kwargs: P.kwargs) -> Task[R_co]:
        """A :class:`Task` for a call with the options, not yet enqueued."""
        return self._wrapper.unchecked_s(args, kwargs, **self._options)


def register_function(
    huey: Huey[Any],
    fn: Callable[..., Any],
    options: Mapping[str, object],
    validate: Callable[[datetime], bool] | None,
) -> TaskWrapper[Any, Any, Any]:
    """Register ``fn`` with ``huey`` and wrap it (what the task decorators do).

    Args:
        huey: the application.
        fn: the function (a :class:`TaskWrapper` is unwrapped).
        options: the decorator's keyword arguments.
        validate: for a periodic task, its ``validate_datetime``.

    Raises:
        ConfigurationError, ValueError: see :meth:`huey._engine.Registry.register`.
    """
    if isinstance(fn, TaskWrapper):
        fn = fn.func
    entry = huey.engine.registry.register(fn, options, validate)
    if validate is None:
        return TaskWrapper(huey, fn, entry.settings)
    return PeriodicTaskWrapper(huey, fn, entry.settings, validate)
