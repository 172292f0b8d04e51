"""What the task decorators of :class:`~huey.Huey` return, typed by results mode.

``huey.task()`` returns a :class:`TaskDecorator` and so on (layer 2); applied to a
function, each registers it and returns a :class:`~huey.api.TaskWrapper` whose call
type (``Result[R]`` or ``None``) follows the huey's results mode ``RM``.

An ``async def`` function gives a wrapper typed by what its coroutine returns (its
``R`` is the awaited type). Each decorator has an overload taking
``Callable[P, Coroutine[Any, Any, R]]`` before the plain ``Callable[P, R]`` one of
the same results mode, and the two ``bool`` overloads come last (in another order mypy
reports them as overlapping the ``Literal`` ones).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, Generic, Literal, overload

from typing_extensions import ParamSpec, TypeVar

from ._result import Result
from ._wrapper import PeriodicTaskWrapper, TaskWrapper, register_function

if TYPE_CHECKING:
    from ._api import Huey

__all__ = ("ContextArgDecorator", "PeriodicDecorator", "TaskDecorator")

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C")
RM = TypeVar("RM", bound=bool, default=Literal[True])


class TaskDecorator(Generic[RM]):
    """What ``huey.task()`` returns: applied to a function, registers it."""

    __slots__ = ("_context", "_huey", "_settings")

    def __init__(
        self,
        huey: Huey[Any],
        settings: dict[str, Any],
        context: AbstractContextManager[object] | None = None,
    ) -> None:
        self._huey = huey
        self._settings = settings
        self._context = context

    @overload
    def __call__(
        self: TaskDecorator[Literal[True]], fn: Callable[P, Coroutine[Any, Any, R]], /
    ) -> TaskWrapper[P, R, Result[R]]: ...
    @overload
    def __call__(
        self: TaskDecorator[Literal[False]], fn: Callable[P, Coroutine[Any, Any, R]], /
    ) -> TaskWrapper[P, R, None]: ...
    @overload
    def __call__(
        self: TaskDecorator[Literal[True]], fn: Callable[P, R], /
    ) -> TaskWrapper[P, R, Result[R]]: ...
    @overload
    def __call__(
        self: TaskDecorator[Literal[False]], fn: Callable[P, R], /
    ) -> TaskWrapper[P, R, None]: ...
    @overload
    def __call__(
        self: TaskDecorator[bool], fn: Callable[P, Coroutine[Any, Any, R]], /
    ) -> TaskWrapper[P, R, Result[R] | None]: ...
    @overload
    def __call__(
        self: TaskDecorator[bool], fn: Callable[P, R], /
    ) -> TaskWrapper[P, R, Result[R] | None]: ...
    def __call__(self, fn: Callable[P, Any], /) -> TaskWrapper[P, Any, Any]:
        context = self._context
        if context is None:
            return register_function(self._huey, fn, self._settings, None)
        with_context: Callable[P, object]
        if inspect.iscoroutinefunction(fn):
            # The context must be held while the coroutine runs, not while it is made.
            async def with_context_async(*args: P.args, **kwargs: P.kwargs) -> object:
                with context:
                    return await fn(*args, **kwargs)

            with_context = with_context_async
        else:

            def with_context_sync(*args: P.args, **kwargs: P.kwargs) -> object:
                with context:
                    return fn(*args, **kwargs)

            with_context = with_context_sync
        _copy_identity(with_context, fn, inspect.signature(fn))
        return register_function(self._huey, with_context, self._settings, None)


class PeriodicDecorator(Generic[RM]):
    """What ``huey.periodic_task()`` returns: applied to a function, registers it."""

    __slots__ = ("_huey", "_settings", "_validate")

    def __init__(
        self, huey: Huey[Any], validate: Callable[[datetime], bool], settings: dict[str, Any]
    ) -> None:
        self._huey = huey
        self._validate = validate
        self._settings = settings

    @overload
    def __call__(
        self: PeriodicDecorator[Literal[True]], fn: Callable[[], Coroutine[Any, Any, R]], /
    ) -> PeriodicTaskWrapper[R, Result[R]]: ...
    @overload
    def __call__(
        self: PeriodicDecorator[Literal[False]], fn: Callable[[], Coroutine[Any, Any, R]], /
    ) -> PeriodicTaskWrapper[R, None]: ...
    @overload
    def __call__(
        self: PeriodicDecorator[Literal[True]], fn: Callable[[], R], /
    ) -> PeriodicTaskWrapper[R, Result[R]]: ...
    @overload
    def __call__(
        self: PeriodicDecorator[Literal[False]], fn: Callable[[], R], /
    ) -> PeriodicTaskWrapper[R, None]: ...
    @overload
    def __call__(
        self: PeriodicDecorator[bool], fn: Callable[[], Coroutine[Any, Any, R]], /
    ) -> PeriodicTaskWrapper[R, Result[R] | None]: ...
    @overload
    def __call__(
        self: PeriodicDecorator[bool], fn: Callable[[], R], /
    ) -> PeriodicTaskWrapper[R, Result[R] | None]: ...
    def __call__(self, fn: Callable[[], Any], /) -> PeriodicTaskWrapper[Any, Any]:
        wrapper = register_function(self._huey, fn, self._settings, self._validate)
        assert isinstance(wrapper, PeriodicTaskWrapper)
        return wrapper


class ContextArgDecorator(Generic[C, RM]):
    """What ``huey.context_task(obj, as_argument=True)`` returns."""

    __slots__ = ("_huey", "_obj", "_settings")

    def __init__(
        self, huey: Huey[Any], obj: AbstractContextManager[C], settings: dict[str, Any]
    ) -> None:
        self._huey = huey
        self._obj = obj
        self._settings = settings

    @overload
    def __call__(
        self: ContextArgDecorator[C, Literal[True]],
        fn: Callable[Concatenate[C, P], Coroutine[Any, Any, R]],
        /,
    ) -> TaskWrapper[P, R, Result[R]]: ...
    @overload
    def __call__(
        self: ContextArgDecorator[C, Literal[False]],
        fn: Callable[Concatenate[C, P], Coroutine[Any, Any, R]],
        /,
    ) -> TaskWrapper[P, R, None]: ...
    @overload
    def __call__(
        self: ContextArgDecorator[C, Literal[True]], fn: Callable[Concatenate[C, P], R], /
    ) -> TaskWrapper[P, R, Result[R]]: ...
    @overload
    def __call__(
        self: ContextArgDecorator[C, Literal[False]], fn: Callable[Concatenate[C, P], R], /
    ) -> TaskWrapper[P, R, None]: ...
    @overload
    def __call__(
        self: ContextArgDecorator[C, bool],
        fn: Callable[Concatenate[C, P], Coroutine[Any, Any, R]],
        /,
    ) -> TaskWrapper[P, R, Result[R] | None]: ...
    @overload
    def __call__(
        self: ContextArgDecorator[C, bool], fn: Callable[Concatenate[C, P], R], /
    ) -> TaskWrapper[P, R, Result[R] | None]: ...
    def __call__(self, fn: Callable[Concatenate[C, P], Any], /) -> TaskWrapper[P, Any, Any]:
        obj = self._obj
        with_context: Callable[P, object]
        if inspect.iscoroutinefunction(fn):
            # The value must be held while the coroutine runs, not while it is made.
            async def with_context_async(*args: P.args, **kwargs: P.kwargs) -> object:
                with obj as value:
                    return await fn(value, *args, **kwargs)

            with_context = with_context_async
        else:

            def with_context_sync(*args: P.args, **kwargs: P.kwargs) -> object:
                with obj as value:
                    return fn(value, *args, **kwargs)

            with_context = with_context_sync

        signature = inspect.signature(fn)
        callers = list(signature.parameters.values())[1:]  # the first is the context's value
        _copy_identity(with_context, fn, signature.replace(parameters=callers))
        return register_function(self._huey, with_context, self._settings, None)


def _copy_identity(
    target: Callable[..., object], source: Callable[..., object], signature: inspect.Signature
) -> None:
    """Make ``target``, a wrapper around ``source``, look like it, with ``signature``.

    The signature is what callers pass, so arguments are checked at the call.
    """
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        if hasattr(source, attribute):
            setattr(target, attribute, getattr(source, attribute))
    target.__signature__ = signature  # type: ignore[attr-defined]  # read by inspect.signature()
