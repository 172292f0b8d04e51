"""Groups and chords: tasks run in parallel, optionally followed by one callback (layer 2).

A :class:`group` is a list of tasks enqueued together; ``huey.enqueue(group)`` returns
a :class:`~huey.ResultGroup`. A :class:`chord` adds a callback, enqueued once every
member has finished, with the members' outcomes as a list in member order: a member's
return value, a :class:`~huey.utils.Error` for a member that failed (after its
retries), :data:`~huey.utils.SKIPPED` for one that did not run (revoked, expired,
cancelled). ``huey.enqueue(chord)`` returns a :class:`ChordResult`.

Typing: a chord over members returning ``R`` calls back a task whose first parameter is
``list[R | Error | SkippedType]``::

    @huey.task()
    def total(results: list[int | Error | SkippedType]) -> int:
        return sum(r for r in results if isinstance(r, int))

    huey.enqueue(group([add.s(1, 2), add.s(3, 4)]).then(total))   # ChordResult[int, int]
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Concatenate, Generic, Literal, Never, cast, overload

from typing_extensions import ParamSpec, TypeVar, override

from . import _core
from ._messages import ChordRef
from ._result import Result, ResultGroup
from ._task import Pipeline, Task
from ._wrapper import TaskWrapper
from .utils import Error, SkippedType

if TYPE_CHECKING:
    from ._api import Huey

__all__ = ("ChordResult", "chord", "enqueue_group", "group")

P2 = ParamSpec("P2")
R = TypeVar("R")
C = TypeVar("C")
T = TypeVar("T")
T2 = TypeVar("T2")
R_co = TypeVar("R_co", covariant=True)
C_co = TypeVar("C_co", covariant=True)
T_co = TypeVar("T_co", covariant=True, default=C_co)


class group(Generic[R_co]):
    """Tasks to run in parallel; ``R`` is what each member returns.

    Members are tasks built with :meth:`TaskWrapper.s`, pipelines (their last stage's
    value counts) and chords (their callback's value counts). A group cannot be a
    member: pass its tasks instead.

    Example::

        result_group = huey.enqueue(group([fetch.s(url) for url in urls]))
        pages = result_group.get(blocking=True)

    mypy types a list mixing plain tasks with pipelines (or chords) as their common
    base, which ``group`` does not accept; annotate such a list
    (``members: list[Task[int] | Pipeline[object, int]] = [...]``).

    Raises:
        ValueError: a member is a group.
        TypeError: a member is neither a task nor a chord.
    """

    __slots__ = ("tasks",)

    def __init__(
        self, tasks: Iterable[Task[R_co] | Pipeline[object, R_co] | chord[Any, Any, R_co]]
    ) -> None:
        self.tasks: tuple[Task[Any] | chord[Any, Any, Any], ...] = _members(tasks, "group")

    @override
    def __repr__(self) -> str:
        return f"<group: {len(self.tasks)} tasks>"

    def __len__(self) -> int:
        return len(self.tasks)

    @overload
    def then(
        self: group[Never],
        task: TaskWrapper[Concatenate[list[Any], P2], C, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> chord[Never, C]: ...
    @overload
    def then(
        self: group[R],
        task: TaskWrapper[Concatenate[list[R | Error | SkippedType], P2], C, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> chord[R, C]: ...
    @overload
    def then(self: group[R], task: Task[C], /, *args: Any, **kwargs: Any) -> chord[R, C]: ...
    def then(
        self, task: TaskWrapper[Any, Any, Any] | Task[Any], /, *args: Any, **kwargs: Any
    ) -> chord[Any, Any]:
        """A :class:`chord` of these tasks calling back ``task`` with their outcomes.

        The list of outcomes is appended to the arguments bound here (bind them by
        keyword, so the checker sees them where they go).
        """
        callback = _callback(task, args, kwargs)
        return chord(cast("list[Task[Any]]", list(self.tasks)), callback)

    def error(
        self,
        task: TaskWrapper[Concatenate[Exception, P2], Any, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> group[R_co]:
        """Run ``task`` with the exception if any member finally fails.

        Attaches the handler to every member (a chord member: to its callback), and
        returns this group, changed in place as in the original huey.
        """
        self.tasks = tuple(member.error(task, *args, **kwargs) for member in self.tasks)
        return self


class chord(Generic[R_co, C_co, T_co]):
    """Tasks run in parallel, then ``callback`` with their outcomes (a list, in order).

    ``R`` is what each member returns, ``C`` what the callback returns and ``T`` what
    the last task chained after the callback returns (``C`` without one). The callback
    receives ``list[R | Error | SkippedType]`` appended to the arguments bound here: a
    member's value, :class:`~huey.utils.Error` for a member that failed after its
    retries, :data:`~huey.utils.SKIPPED` for one that was revoked, expired or
    cancelled. A chord without members calls back with ``[]``.

    Example::

        @huey.task()
        def total(results: list[int | Error | SkippedType], label: str = "") -> str:
            return f"{label}{sum(r for r in results if isinstance(r, int))}"

        result = huey.enqueue(chord([add.s(1, 2), add.s(3, 4)], total, label="sum="))
        result.get(blocking=True)   # "sum=10"

    Members may be tasks, pipelines (the last stage reports) and chords (their callback
    reports), not groups. Bind extra arguments by keyword.

    Raises:
        ValueError: a member is a group.
        TypeError: a member is neither a task nor a chord, or the arguments do not fit
            the callback.
    """

    __slots__ = ("callback", "tasks")

    @overload
    def __init__(
        self: chord[Never, C],
        tasks: Iterable[Never],
        callback: TaskWrapper[Concatenate[list[Any], P2], C, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> None: ...
    @overload
    def __init__(
        self: chord[R, C],
        tasks: Iterable[Task[R] | Pipeline[object, R] | chord[Any, Any, R]],
        callback: TaskWrapper[Concatenate[list[R | Error | SkippedType], P2], C, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> None: ...
    @overload
    def __init__(
        self: chord[R, C],
        tasks: Iterable[Task[R] | Pipeline[object, R] | chord[Any, Any, R]],
        callback: Task[C],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> None: ...
    def __init__(
        self,
        tasks: Iterable[Task[Any] | Pipeline[Any, Any] | chord[Any, Any, Any]],
        callback: TaskWrapper[Any, Any, Any] | Task[Any],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self.tasks: tuple[Task[Any] | chord[Any, Any, Any], ...] = _members(tasks, "chord")
        self.callback: Task[Any] = _callback(callback, args, kwargs)

    @override
    def __repr__(self) -> str:
        return f"<chord: {len(self.tasks)} tasks -> {self.callback.name}>"

    def __len__(self) -> int:
        return len(self.tasks)

    @overload
    def then(
        self: chord[R, C, None],
        task: TaskWrapper[P2, T2, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> chord[R, C, T2]: ...
    @overload
    def then(
        self: chord[R, C, T],
        task: TaskWrapper[Concatenate[T, P2], T2, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> chord[R, C, T2]: ...
    @overload
    def then(
        self: chord[R, C, Any], task: Task[T2], /, *args: Any, **kwargs: Any
    ) -> chord[R, C, T2]: ...
    def then(
        self, task: TaskWrapper[Any, Any, Any] | Task[Any], /, *args: Any, **kwargs: Any
    ) -> chord[Any, Any, Any]:
        """Run ``task`` after the callback with its value, as :meth:`Task.then` does.

        Returns this chord, changed in place as in the original huey;
        :attr:`ChordResult.pipeline_results` then holds every stage after the callback.
        """
        head: Task[Any] = self.callback
        self.callback = cast("Task[Any]", head.then(task, *args, **kwargs))
        return self

    def error(
        self,
        task: TaskWrapper[Concatenate[Exception, P2], Any, Any],
        /,
        *args: P2.args,
        **kwargs: P2.kwargs,
    ) -> chord[R_co, C_co, T_co]:
        """Run ``task`` with the exception if the callback finally fails.

        Members' errors reach the callback as :class:`~huey.utils.Error` values; to
        handle them as they happen, use :meth:`group.error` before ``then()``. Returns
        this chord, changed in place.
        """
        self.callback = self.callback.error(task, *args, **kwargs)
        return self


class ChordResult(Generic[R_co, C_co]):
    """What ``huey.enqueue(chord)`` returns: handles on the members and the callback.

    Attributes:
        results: one handle per member, in order (a pipeline member's is its last
            stage's, a chord member's its callback's).
        callback: the callback's handle; :meth:`get` reads it.
        pipeline_results: with tasks chained after the callback (:meth:`chord.then`),
            the handles of the callback and each of them; else ``None``.
    """

    __slots__ = ("callback", "pipeline_results", "results")

    def __init__(
        self,
        results: ResultGroup[R_co],
        callback: Result[C_co],
        pipeline_results: ResultGroup[Any] | None = None,
    ) -> None:
        self.results: ResultGroup[R_co] = results
        self.callback: Result[C_co] = callback
        self.pipeline_results: ResultGroup[Any] | None = pipeline_results

    @override
    def __repr__(self) -> str:
        return f"<ChordResult: {len(self.results)} members -> task {self.callback.id}>"

    @overload
    def get(
        self,
        blocking: Literal[True],
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> C_co: ...
    @overload
    def get(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> C_co | None: ...
    def get(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> C_co | None:
        """The callback's value: :meth:`Result.get` on :attr:`callback`, same arguments.

        Raises:
            TaskException: the callback failed.
            ResultTimeout: ``blocking`` and ``timeout`` elapsed first.
        """
        return self.callback.get(blocking, timeout, backoff, max_delay, revoke_on_timeout, preserve)

    __call__ = get

    def reset(self) -> None:
        """Forget the callback's cached value, so the next ``get`` reads the store again."""
        self.callback.reset()


def _members(
    tasks: Iterable[object], kind: Literal["group", "chord"]
) -> tuple[Task[Any] | chord[Any, Any, Any], ...]:
    """The members, checked: tasks (pipelines included) and chords, no groups."""
    members: list[Task[Any] | chord[Any, Any, Any]] = []
    for index, member in enumerate(tasks):
        got = type(member).__name__
        if isinstance(member, group):
            raise ValueError(
                f"member {index} of the {kind} is a group, which cannot be a member: "
                "pass its tasks instead, or make it a chord with group(...).then(callback)"
            )
        if not isinstance(member, Task | chord):
            hint = " (build a task with my_task.s(...))" if isinstance(member, TaskWrapper) else ""
            raise TypeError(
                f"member {index} of the {kind} must be a task, a pipeline or a chord, "
                f"got {got}{hint}"
            )
        checked: Task[Any] | chord[Any, Any, Any] = member  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the type arguments unknown
        members.append(checked)
    return tuple(members)


def _callback(task: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Task[Any]:
    """The callback's message, with ``args`` and ``kwargs`` bound.

    As with :meth:`Task.then`: for a task function the arguments are checked as a partial
    call (the outcomes come later); for a built task they are added to its own.

    Raises:
        TypeError: ``task`` is neither, or the arguments do not fit it.
    """
    if isinstance(task, TaskWrapper):
        wrapper: TaskWrapper[Any, Any, Any] = task  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the type arguments unknown
        return wrapper.unchecked_s(args, kwargs)
    if not isinstance(task, Task):
        raise TypeError(
            "a chord's callback must be a task function or a task built with .s(), "
            f"got {type(task).__name__}"
        )
    built: Task[Any] = task  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the type arguments unknown
    if args or kwargs:
        return replace(built, args=built.args + args, kwargs={**built.kwargs, **kwargs})
    return built


def _tail(member: Task[Any] | chord[Any, Any, Any]) -> Task[Any]:
    """The stage whose value a member contributes."""
    head = member.callback if isinstance(member, chord) else member
    return cast("Task[Any]", _core.pipeline_stages(head)[-1])


def _chord_messages(item: chord[Any, Any, Any], outer: ChordRef | None) -> list[Task[Any]]:
    """The messages enqueued for ``item``: each member reporting to a fresh chord id.

    ``outer`` is where ``item``'s own callback reports, when ``item`` is a member itself.
    """
    callback = item.callback if outer is None else _core.attach_chord(item.callback, outer)
    if not item.tasks:
        # Nothing to wait for: the callback runs at once, with no outcomes.
        return [_core.extend_arguments(callback, [])]
    chord_id = str(uuid.uuid4())
    messages: list[Task[Any]] = []
    for index, member in enumerate(item.tasks):
        ref = ChordRef(id=chord_id, index=index, size=len(item.tasks), callback=callback)
        if isinstance(member, chord):
            messages += _chord_messages(member, ref)
        else:
            messages.append(_core.attach_chord(member, ref))
    return messages


def enqueue_group(
    huey: Huey[Any], item: group[Any] | chord[Any, Any, Any]
) -> ResultGroup[Any] | ChordResult[Any, Any] | None:
    """Enqueue a group or a chord; return its handles (``None`` when results are off).

    Every message is serialized before the first is enqueued, so an argument the
    serializer cannot carry (or an oversized message) fails with nothing enqueued.

    Raises:
        TaskSerializationError, MessageTooLarge: see :meth:`Huey.enqueue`.
    """
    engine = huey.engine
    messages: list[Task[Any]] = []
    if isinstance(item, chord):
        messages = _chord_messages(item, None)
    else:
        for member in item.tasks:
            messages += _chord_messages(member, None) if isinstance(member, chord) else [member]
    for message in messages:
        engine.codec.encode_task(message)
    for message in messages:
        engine.enqueuer.enqueue(message)
    if not engine.settings.results:
        return None
    members = ResultGroup([Result(huey, _tail(member)) for member in item.tasks])
    if isinstance(item, group):
        return members
    stages = _core.pipeline_stages(item.callback)
    pipeline = None
    if len(stages) > 1:
        pipeline = ResultGroup([Result(huey, cast("Task[Any]", stage)) for stage in stages])
    return ChordResult(members, Result(huey, item.callback), pipeline)
