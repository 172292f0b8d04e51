"""Task wrappers: what ``@huey.task()`` returns (layer 2, built on the engine).

Calling a :class:`TaskWrapper` builds a :class:`~huey.api.Task` and enqueues it; the
wrapper keeps the function's signature (``ParamSpec``), so wrong arguments are type
errors and results are typed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, cast, overload

from typing_extensions import ParamSpec, TypeVar, Unpack, override

from ._engine import task_key
from ._localtime import epoch_of
from ._result import Result, ResultGroup, enqueue_with_handles
from ._task import Task, TaskOptions, TaskSettings
from .exceptions import UnknownTaskError

if TYPE_CHECKING:
    from ._api import Huey

__all__ = ("ConfiguredTask", "PeriodicTaskWrapper", "TaskWrapper", "register_function")

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True, default=Any)
H_co = TypeVar("H_co", covariant=True, default="Result[R_co]")

_OPTION_NAMES = frozenset(TaskOptions.__annotations__)


class TaskWrapper(Generic[P, R_co, H_co]):
    """A task function registered with a :class:`~huey.Huey`.

    Calling it enqueues the call and returns ``H`` (a :class:`~huey.Result` ``[R]`` when
    results are stored, ``None`` with ``Huey(results=False)``).
    """

    def __init__(self, huey: Huey[Any], func: Callable[P, R_co], settings: TaskSettings) -> None:
        self.huey = huey
        self._engine = huey.engine
        self.signature: inspect.Signature | None = _call_signature(func, settings.context)
        """What callers pass (``None`` when the function cannot be introspected)."""
        self.plain_arity: int | None = _plain_arity(self.signature)
        """How many arguments the function takes, when they are all plain positional
        ones without defaults (a call of that many positional arguments binds; ``None``
        otherwise), derived from :attr:`signature`."""
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
        """A :class:`Task` for a call of the function, not yet enqueued.

        Raises:
            TypeError: the arguments do not fit the function (also from untyped code).
            UnknownTaskError: the task was unregistered.
        """
        return _build(self, args, kwargs, {})

    def unchecked_s(
        self, args: tuple[object, ...], kwargs: Mapping[str, object], /, **options: Any
    ) -> Task[R_co]:
        """Like :meth:`s` with the arguments as a tuple and a dict (not type-checked).

        Used where a ``ParamSpec`` cannot express the call, as in :meth:`Task.then`, whose
        stage receives the previous stage's value later: the arguments are checked as a
        partial call (no unknown keyword, not too many positional arguments). Keyword
        ``options`` are those of :class:`TaskOptions`.
        """
        return _build(self, args, kwargs, options, partial=True)

    def call_local(self, *args: P.args, **kwargs: P.kwargs) -> R_co:
        """Call the function directly, in this process.

        For an ``async def`` task the coroutine is run to completion, as a worker would,
        and its result returned (in async code, ``await task.func(...)`` instead).
        """
        return cast(R_co, self._engine.runner.complete(self._func(*args, **kwargs)))

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
        _check_schedule_arguments(args, timed=eta is not None or delay is not None)
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
        task = _build(self, tuple(args or ()), dict(kwargs or {}), chosen)
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
            _build(self, item if isinstance(item, tuple) else (item,), {}, {})  # pyright: ignore[reportUnknownArgumentType]  # isinstance() leaves the item types unknown
            for item in it
        ]
        self._engine.enqueuer.enqueue_many(tasks)
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

    def is_revoked(self, timestamp: datetime | None = None, peek: bool = True) -> bool:
        """Whether this task is revoked (at ``timestamp``, default now).

        With ``peek=False`` the check uses up a ``revoke_once`` revocation (and removes a
        lapsed ``revoke_until``), as a run does.
        """
        return self._engine.revocations.any_applies(
            (task_key(self.name),), self._engine.timestamp(timestamp), consume=not peek
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
        return _build(self._wrapper, args, kwargs, self._options)


def _build(
    wrapper: TaskWrapper[Any, R, Any],
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    options: Mapping[str, object],
    *,
    partial: bool = False,
) -> Task[R]:
    """A task for a call of ``wrapper``, checked: what would fail in the worker fails here.

    Raises:
        UnknownTaskError: the task was unregistered.
        TypeError: the arguments do not fit the function (``partial``: as a partial call,
            for a pipeline stage that gets the previous stage's value later).
    """
    engine = wrapper.huey.engine
    if wrapper.name not in engine.registry:
        raise UnknownTaskError(wrapper.name)
    # No signature: not introspectable (a builtin), the worker tells. A call of exactly
    # the function's plain positional parameters binds without asking.
    plain_call = not partial and not kwargs and len(args) == wrapper.plain_arity
    if wrapper.signature is not None and not plain_call:
        _bind(wrapper.name, wrapper.signature, args, kwargs, partial)
    return engine.enqueuer.build(wrapper.settings, tuple(args), dict(kwargs), options)


def _bind(
    name: str,
    signature: inspect.Signature,
    args: tuple[object, ...],
    kwargs: Mapping[str, object],
    partial: bool,
) -> None:
    try:
        if partial:
            signature.bind_partial(*args, **kwargs)
        else:
            signature.bind(*args, **kwargs)
    except TypeError as exc:
        options = sorted(set(kwargs) & _OPTION_NAMES - set(signature.parameters))
        if not options:
            # Annotations left out: under postponed evaluation they print as quoted strings.
            plain = signature.replace(
                parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
                return_annotation=signature.empty,
            )
            raise TypeError(f"{name}{plain}: {exc}") from None
        short = name.rsplit(".", 1)[-1]
        raise TypeError(
            f"{name}() got {', '.join(map(repr, options))}: "
            f"{'a task option' if len(options) == 1 else 'task options'}, not "
            f"{'an argument' if len(options) == 1 else 'arguments'} of the function; use "
            f"{short}.with_options({options[0]}=...)(...) or {short}.schedule(...)"
        ) from None


def _check_schedule_arguments(args: object, *, timed: bool) -> None:
    """Refuse ``schedule(True)``, and a bare number with ``eta``/``delay`` as well.

    ``schedule(60)`` means "in 60 seconds" (a task without arguments); with a time given
    as well, ``schedule(3, delay=60)`` would take the 3 as the delay and drop it.

    Raises:
        TypeError: the arguments are not a tuple or a list.
    """
    bare_time = isinstance(args, datetime | timedelta | int | float)
    if isinstance(args, bool) or (bare_time and timed):
        raise TypeError(
            f"schedule() takes the task's arguments as a tuple, e.g. schedule(({args!r},), "
            f"delay=...), got {args!r}"
        )


_PLAIN_KINDS = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _plain_arity(signature: inspect.Signature | None) -> int | None:
    """The number of parameters if each is positional without a default, else ``None``.

    A call passing exactly that many positional arguments and nothing else always binds:
    :func:`_build` then skips ``Signature.bind`` (a tenth of an enqueue's CPU time).
    """
    if signature is None:
        return None
    parameters = signature.parameters.values()
    if all(p.kind in _PLAIN_KINDS and p.default is p.empty for p in parameters):
        return len(parameters)
    return None


def _call_signature(func: Callable[..., object], context: bool) -> inspect.Signature | None:
    """The parameters a caller passes (``task`` is the worker's to pass with context)."""
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return None
    if context:
        kept = [p for p in signature.parameters.values() if p.name != "task"]
        signature = signature.replace(parameters=kept)
    return signature


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
