"""Typing contract: pipelines built with ``Task.then()`` / ``Task.error()`` and ``enqueue()``.

How the parent's return value reaches the child (huey's rule) decides the check:
``None`` adds nothing, a ``tuple`` is spread, a ``dict`` is merged into the keyword
arguments (gradual), anything else becomes the child's first positional argument. Bind
extra arguments **by keyword** (``then(add, b=3)``): huey appends the parent value after
positional arguments bound in ``then()``, which ``Concatenate`` cannot express.

Expected-error lines carry ``# type: ignore[code]  # pyright: ignore[rule]`` (see
check_tasks.py); ``rejected_*`` functions are never called.
"""

from __future__ import annotations

from typing import Any, assert_type

from huey import MemoryHuey, ResultGroup, Task
from huey.api import Pipeline

huey = MemoryHuey("typing-pipelines", immediate=True)


@huey.task()
def add(a: int, b: int) -> int:
    """Add two ints."""
    return a + b


@huey.task()
def fmt(value: int, prefix: str = "") -> str:
    """Format an int."""
    return f"{prefix}{value}"


@huey.task()
def label(prefix: str, value: int) -> str:
    """Takes the parent value second: only callable from ``then()`` positionally."""
    return f"{prefix}{value}"


@huey.task()
def fib(a: int, b: int = 1) -> tuple[int, int]:
    """One Fibonacci step; the tuple is spread into the next stage."""
    a, b = a + b, a
    return (a, b)


@huey.task()
def noop() -> None:
    """Return nothing: the next stage gets no extra argument."""


@huey.task()
def ping(message: str) -> str:
    """Echo a message."""
    return message


@huey.task()
def as_kwargs() -> dict[str, int]:
    """Return a dict: it is merged into the next stage's keyword arguments."""
    return {"b": 2}


@huey.task()
def on_error(exc: Exception, url: str = "") -> None:
    """An error handler: it must accept ``Exception``."""


@huey.task()
def on_value_error(exc: ValueError) -> None:
    """A handler too narrow for ``error()``."""


def check_then() -> None:
    """``then()`` tracks the union of stage results and the last stage's type."""
    pipeline = add.s(1, 2).then(add, 3).then(add, 4).then(add, 5)
    assert_type(pipeline, Pipeline[int, int])
    group = huey.enqueue(pipeline)
    assert_type(group, ResultGroup[int])
    assert_type(group.get(blocking=True), list[int])
    assert group.get(blocking=True) == [3, 6, 10, 15]

    by_keyword = huey.enqueue(add.s(1, 2).then(add, b=3))
    assert_type(by_keyword, ResultGroup[int])
    assert by_keyword.get(blocking=True) == [3, 6]

    mixed = add.s(1, 2).then(fmt, prefix="n=")
    assert_type(mixed, Pipeline[int | str, str])
    assert_type(huey.enqueue(mixed).get(blocking=True), list[int | str])


def check_parent_shapes() -> None:
    """``None`` parents add nothing, tuples are spread, dicts are merged (unchecked)."""
    assert_type(noop.s().then(ping, "hello"), Pipeline[None | str, str])
    # The spec's Fibonacci example: each tuple is spread into fib(a, b).
    fibs = fib.s(1).then(fib).then(fib)
    assert_type(fibs, Pipeline[tuple[int, int], tuple[int, int]])
    assert huey.enqueue(fibs).get(blocking=True) == [(2, 1), (3, 2), (5, 3)]
    merged = as_kwargs.s().then(add, 1)
    assert_type(merged, Pipeline[dict[str, int] | int, int])
    assert huey.enqueue(merged).get(blocking=True) == [{"b": 2}, 3]
    prebuilt = add.s(1, 2).then(add.s(3, 4))
    assert_type(prebuilt, Pipeline[int, int])


def check_error() -> None:
    """``error()`` takes a handler accepting ``Exception`` and keeps the task's type."""
    guarded = add.s(1, 2).error(on_error, url="x")
    assert_type(guarded, Task[int])
    assert_type(guarded.then(fmt), Pipeline[int | str, str])
    assert_type(huey.enqueue(guarded).get(blocking=True), int)
    guarded_pipeline = add.s(1, 2).then(fmt).error(on_error)
    assert_type(guarded_pipeline, Pipeline[int | str, str])
    assert_type(huey.enqueue(guarded_pipeline), ResultGroup[int | str])


def check_enqueue_overloads() -> None:
    """A plain task enqueues to a ``Result``, a pipeline to a ``ResultGroup``."""
    head: Task[int] = add.s(1, 2)
    assert_type(huey.enqueue(head).get(blocking=True), int)
    dynamic: Pipeline[Any, int] = add.s(1, 2).then(add, b=1)
    assert_type(huey.enqueue(dynamic), ResultGroup[Any])


def rejected_then() -> None:
    """Stage types must line up (never called)."""
    add.s(1, 2).then(fmt).then(add, 1)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    add.s(1, 2).then(add, b=3, c=4)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    add.s(1, 2).then(ping)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    fib.s(1).then(fmt)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    noop.s().then(ping)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]


def rejected_known_false_positive() -> None:
    """Correct at run time (``label("n=", 3)``) but rejected: ``Concatenate`` only prepends.

    The mirror case, ``then(fmt, "n=")``, runs ``fmt("n=", 3)`` and is wrongly accepted.
    Both are why extra arguments should be bound by keyword (never called).
    """
    add.s(1, 2).then(label, "n=")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


def rejected_error() -> None:
    """An error handler must accept any ``Exception`` (never called)."""
    add.s(1, 2).error(on_value_error)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    add.s(1, 2).error(on_error, link="x")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]


def rejected_enqueue() -> None:
    """A pipeline's results are a group, not a single result (never called)."""
    _one: int = huey.enqueue(add.s(1, 2).then(add, b=3)).get(blocking=True)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
