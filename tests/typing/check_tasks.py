"""Typing contract: task calls, ``s()``, ``map()``, results, ``with_options()``, results mode.

Checked by mypy and basedpyright (``make typecheck``), not collected by pytest. Lines
that must be rejected carry ``# type: ignore[code]  # pyright: ignore[rule]``: with
``warn_unused_ignores`` (mypy) and ``reportUnnecessaryTypeIgnoreComment`` (basedpyright)
a check fails as soon as the expected error disappears. ``check_*`` functions run
(tests/typing/test_expected_errors_are_live.py calls them in immediate mode);
``rejected_*`` functions only exist to be type-checked and are never called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, assert_type

from huey import BlackHoleHuey, Huey, MemoryHuey, Result, ResultGroup, Task, TaskWrapper
from huey.api import ConfiguredTask
from huey.storage import MemoryStorage

huey = MemoryHuey("typing-tasks", immediate=True)


@huey.task()
def add(a: int, b: int) -> int:
    """Add two ints."""
    return a + b


@huey.task()
def greet(name: str, *, punctuation: str = "!") -> str:
    """A task with a keyword-only parameter with a default."""
    return f"hello {name}{punctuation}"


quiet = MemoryHuey("typing-tasks-quiet", results=False, immediate=True)


@quiet.task()
def quiet_add(a: int, b: int) -> int:
    """A task of a huey that does not store results."""
    return a + b


def check_task_calls() -> None:
    """Calling, ``s()``, ``call_local()`` and ``map()`` keep the function's types."""
    result = add(1, 2)
    assert_type(result, Result[int])
    assert_type(add(a=1, b=2), Result[int])
    assert_type(add.s(1, 2), Task[int])
    assert_type(add.call_local(1, 2), int)
    assert_type(add.map([(1, 2), (3, 4)]), ResultGroup[int])
    assert_type(greet("ann", punctuation="?"), Result[str])
    # assert_type on a ParamSpec'd type compares parameter names: check by assignment.
    wrapper: TaskWrapper[[int, int], int] = add
    assert_type(wrapper(1, 2), Result[int])
    assert add.call_local(1, 2) == 3


def check_result_reads() -> None:
    """``get()`` is ``R | None``, a blocking read is ``R``; groups give lists."""
    result = add(1, 2)
    assert_type(result.get(), int | None)
    assert_type(result.get(False), int | None)
    assert_type(result.get(blocking=True), int)
    assert_type(result.get(True, timeout=5), int)
    assert_type(result(blocking=True), int)
    assert_type(result(), int | None)
    flag = bool(result.id)
    assert_type(result.get(blocking=flag), int | None)
    assert result.get(blocking=True) == 3

    group = add.map([(1, 2), (3, 4)])
    assert_type(group.get(blocking=True), list[int])
    assert_type(group.get(), list[int | None])
    assert_type(group(blocking=True), list[int])
    assert_type(group[0], int)
    for member in group:
        assert_type(member, Result[int])
    assert group.get(blocking=True) == [3, 7]


def check_with_options() -> None:
    """``with_options()`` checks the options and keeps the signature."""
    configured: ConfiguredTask[[int, int], int, Result[int]] = add.with_options(delay=10)
    assert_type(configured(1, 2), Result[int])
    assert_type(add.with_options(delay=10)(1, 2), Result[int])
    assert_type(add.with_options(priority=5, retries=2).s(1, 2), Task[int])
    assert_type(add.with_options(id="fixed", timeout=1.5)(a=1, b=2), Result[int])


def check_results_mode() -> None:
    """``results=False`` makes task calls ``None``; the default mode is ``Literal[True]``."""
    assert_type(Huey("a", storage=MemoryStorage()), Huey[Literal[True]])
    assert_type(Huey("b", results=False, storage=MemoryStorage()), Huey[Literal[False]])
    assert_type(MemoryHuey("c"), MemoryHuey[Literal[True]])
    assert_type(MemoryHuey("d", results=False), MemoryHuey[Literal[False]])
    assert_type(quiet_add(1, 2), None)
    assert_type(quiet_add.s(1, 2), Task[int])
    assert_type(quiet_add.with_options(delay=1)(1, 2), None)
    assert_type(quiet.enqueue(quiet_add.s(1, 2)), None)
    assert_type(quiet_add.call_local(1, 2), int)
    decided_at_run_time = Huey("e", results=bool(len("x")), storage=MemoryStorage())
    assert_type(decided_at_run_time, Huey[bool])

    @decided_at_run_time.task()
    def maybe(a: int) -> int:
        return a

    assert_type(maybe(1), Result[int] | None)

    plain_quiet = Huey("g", results=False, immediate=True, storage=MemoryStorage())

    @plain_quiet.task()
    def dropped(a: int) -> int:
        return a

    assert_type(dropped(1), None)
    assert_type(BlackHoleHuey("h"), BlackHoleHuey[Literal[True]])
    assert_type(BlackHoleHuey("i", results=False), BlackHoleHuey[Literal[False]])


def check_variance() -> None:
    """Handles are covariant in the result type."""
    result: Result[object] = add(1, 2)
    task: Task[int | str] = add.s(1, 2)
    group: ResultGroup[float] = add.map([(1, 2)])
    wrapper: TaskWrapper[[int, int], object, Result[object]] = add
    assert len(group) == 1
    assert result.id
    assert task.name == wrapper.name


def check_handles_and_hooks() -> None:
    """Handle methods keep ``R``; hook and signal decorators return the function as is."""
    result = add(1, 2)
    assert_type(result.reschedule(delay=5), Result[int])
    assert_type(result.is_ready(), bool)
    assert_type(quiet_add.map([(1, 2)]), None)
    assert_type(huey.pending(), list[Task[Any]])

    def before(task: Task[Any]) -> None:
        del task

    # Function types compare parameter names in assert_type: check by assignment.
    hook: Callable[[Task[Any]], None] = huey.pre_execute()(before)
    assert hook is before
    assert huey.unregister_pre_execute(before)

    def receiver(signal: str, task: Task[Any], *extra: object) -> None:
        del signal, task, extra

    connected: Callable[[str, Task[Any]], None] = huey.signal()(receiver)
    assert connected is receiver
    huey.disconnect_signal(receiver)


def check_untyped_reads() -> None:
    """``Huey.result(id)`` cannot know the task: it is ``object``, not ``Any``."""
    result = add(1, 2)
    assert_type(huey.result(result.id), object)
    assert_type(huey.enqueue(add.s(1, 2)), Result[int])


def rejected_calls() -> None:
    """Wrong arguments to a task (never called)."""
    add(1, "2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    add(1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    add(1, 2, 3)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    add(1, 2, c=3)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    add.s(1, "2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    add.call_local("1", 2)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    greet("ann", "?")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    # huey's run-time options are not task arguments here: use with_options().
    add(1, 2, delay=5)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def _before_hook(task: Task[Any]) -> None:
    """A pre-execute hook for the negative checks."""
    del task


def rejected_results() -> None:
    """Result handles are typed (never called)."""
    _value: int = add(1, 2).get()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _text: str = add(1, 2).get(blocking=True)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _values: list[int] = add.map([(1, 2)]).get()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _anything: int = huey.result("some-id")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _hook: Callable[[Task[Any]], int] = huey.pre_execute()(_before_hook)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _nothing: Result[int] = quiet_add(1, 2)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


def rejected_options() -> None:
    """Option names and types are checked (never called)."""
    add.with_options(dealy=10)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    add.with_options(delay="soon")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    add.with_options(delay=10)(1, "2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    add.with_options(delay=10).s(1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    huey.task(retry=3)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]

    # A forgotten "()" passes the function as ``retries``.
    @huey.task  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    def bare(a: int) -> int:
        return a


def rejected_results_mode() -> None:
    """A bare ``Huey`` annotation means ``Huey[Literal[True]]`` (never called)."""
    _storing: Huey = Huey("f", results=False)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
