"""What the task decorators of :class:`~huey.Huey` return, typed by results mode.

``huey.task()`` returns a :class:`TaskDecorator` and so on (layer 2); applied to a
function, each registers it and returns a :class:`~huey.api.TaskWrapper` whose call
type (``Result[R]`` or ``None``) follows the huey's results mode ``RM``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Concatenate, Generic, Literal, cast, overload

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
        self: TaskDecorator[Literal[True]], fn: Callable[P, R], /
    ) -> TaskWrapper[P, R, Result[R]]: ...
    @overload
    def __call__(
        self: TaskDecorator[Literal[False]], fn: Callable[P, R], /
    ) -> TaskWrapper[P, R, None]: ...
    @overload
    def __call__(
        self: TaskDecorator[bool], fn: Callable[P, R], /
    ) -> TaskWrapper[P, R, Result[R] | None]: ...
    def __call__(self, fn: Callable[P, R], /) -> TaskWrapper[P, R, Any]:
        context = self._context
        if context is None:
            return register_function(self._huey, fn, self._settings, None)

        def with_context(*args: P.args, **kwargs: P.kwargs) -> R:
            with context:
                return fn(*args, **kwargs)

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
        self: PeriodicDecorator[Literal[True]], fn: Callable[[], R], /
    ) -> PeriodicTaskWrapper[R, Result[R]]: ...
    @overload
    def __call__(
        self: PeriodicDecorator[Literal[False]], fn: Callable[[], R], /
    ) -> PeriodicTaskWrapper[R, None]: ...
    @overload
    def __call__(
        self: PeriodicDecorator[bool], fn: Callable[[], R], /
    ) -> PeriodicTaskWrapper[R, Result[R] | None]: ...
    def __call__(self, fn: Callable[[], R], /) -> PeriodicTaskWrapper[R, Any]:
        wrapper = register_function(self._huey, fn, self._settings, self._validate)
        assert isinstance(wrapper, PeriodicTaskWrapper)
        return cast("PeriodicTaskWrapper[R, Any]", wrapper)


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
        self: ContextArgDecorator[C, Literal[True]], fn: Callable[Concatenate[C, P], R], /
    ) -> TaskWrapper[P, R, Result[R]]: ...
    @overload
    def __call__(
        self: ContextArgDecorator[C, Literal[False]], fn: Callable[Concatenate[C, P], R], /
    ) -> TaskWrapper[P, R, None]: ...
    @overload
    def __call__(
        self: ContextArgDecorator[C, bool], fn: Callable[Concatenate[C, P], R], /
    ) -> TaskWrapper[P, R, Result[R] | None]: ...
    def __call__(self, fn: Callable[Concatenate[C, P], R], /) -> TaskWrapper[P, R, Any]:
        obj = self._obj

        def with_context(*args: P.args, **kwargs: P.kwargs) -> R:
            with obj as value:
                return fn(value, *args, **kwargs)

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
