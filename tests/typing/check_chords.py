"""Typing contract: ``group``, ``chord``, ``ChordResult`` and the callback's argument.

A chord over members returning ``R`` calls back a task whose first parameter is
``list[R | Error | SkippedType]``: a member that failed contributes an ``Error``, one
that did not run ``SKIPPED``, so the callback must say what it does with them (a
callback taking ``list[R]`` is rejected). Extra callback arguments are bound by keyword
(huey appends the list after positional ones, which ``Concatenate`` cannot express).

Expected-error lines carry ``# type: ignore[code]  # pyright: ignore[rule]`` (see
check_tasks.py); ``rejected_*`` functions are never called.
"""

from __future__ import annotations

from typing import Any, Never, assert_type

from huey import MemoryHuey, ResultGroup, Task, chord, group
from huey.api import ChordResult, Pipeline, Result
from huey.utils import SKIPPED, Error, SkippedType

huey = MemoryHuey("typing-chords", immediate=True)


@huey.task()
def add(a: int, b: int) -> int:
    """Add two ints."""
    return a + b


@huey.task()
def fail(a: int) -> int:
    """Always fails: its chord gets an ``Error``."""
    raise ValueError(a)


@huey.task()
def total(results: list[int | Error | SkippedType], label: str = "") -> str:
    """A chord callback: every shape an outcome may take is handled."""
    parts: list[str] = []
    for outcome in results:
        if isinstance(outcome, Error):
            parts.append(f"error:{outcome.error}")
        elif outcome is SKIPPED:
            assert_type(outcome, SkippedType)
            parts.append("skipped")
        else:
            assert_type(outcome, int)
            parts.append(str(outcome))
    return label + ",".join(parts)


@huey.task()
def shout(text: str) -> str:
    """Chained after a callback."""
    return text.upper()


@huey.task()
def count(results: list[str | Error | SkippedType]) -> int:
    """The callback of an outer chord whose members are chords calling back ``total``."""
    return len(results)


@huey.task()
def on_error(exc: Exception) -> None:
    """An error handler for every member of a group."""


@huey.task()
def strict_total(results: list[int]) -> int:
    """Wrong as a callback: it ignores that members can fail or be skipped."""
    return sum(results)


@huey.task()
def labelled(results: list[int | Error | SkippedType], label: str) -> str:
    """A callback with a required extra argument."""
    return label


@huey.task()
def on_value_error(exc: ValueError) -> None:
    """Too narrow to handle any member's error."""


quiet = MemoryHuey("typing-chords-quiet", results=False, immediate=True)


@quiet.task()
def quiet_add(a: int, b: int) -> int:
    """A task of a huey that does not store results."""
    return a + b


@quiet.task()
def quiet_total(results: list[int | Error | SkippedType]) -> int:
    """A callback of a huey that does not store results."""
    return len(results)


def check_group() -> None:
    """A group of tasks returning ``int`` enqueues to a ``ResultGroup[int]``."""
    members = group([add.s(1, 2), add.s(3, 4)])
    assert_type(members, group[int])
    results = huey.enqueue(members)
    assert_type(results, ResultGroup[int])
    assert_type(results.get(blocking=True), list[int])
    assert results.get(blocking=True) == [3, 7]
    assert_type(group([add.s(1, 2)]).error(on_error), group[int])
    assert quiet.enqueue(group([quiet_add.s(1, 2)])) is None


def check_chord() -> None:
    """``group(...).then(cb)`` and ``chord(tasks, cb)`` type the callback's argument."""
    via_then = group([add.s(1, 2), add.s(3, 4)]).then(total, label="sum: ")
    assert_type(via_then, chord[int, str])
    handle = huey.enqueue(via_then)
    assert_type(handle, ChordResult[int, str])
    assert_type(handle.get(blocking=True), str)
    assert_type(handle.callback, Result[str])
    assert_type(handle.results, ResultGroup[int])
    assert_type(handle.pipeline_results, ResultGroup[Any] | None)
    assert handle.get(blocking=True) == "sum: 3,7"

    direct = chord([add.s(1, 2), fail.s(0)], total)
    assert_type(direct, chord[int, str])
    assert huey.enqueue(direct).get(blocking=True) == "3,error:ValueError(0)"
    assert_type(chord([add.s(1, 2)], total, label="x"), chord[int, str])
    assert quiet.enqueue(chord([quiet_add.s(1, 2)], quiet_total)) is None


def check_pipeline_and_chord_members() -> None:
    """A pipeline member contributes its last stage, a chord member its callback."""
    pipelines = chord([add.s(1, 2).then(add, b=10), add.s(3, 4).then(add, b=20)], total)
    assert_type(pipelines, chord[int, str])
    assert huey.enqueue(pipelines).get(blocking=True) == "13,27"

    # pyright infers the union; mypy joins a mixed list to the private base of Task and
    # Pipeline, so such a list is annotated.
    mixed: list[Task[int] | Pipeline[object, int]] = [add.s(1, 2), add.s(1, 2).then(add, b=2)]
    assert_type(group(mixed), group[int])

    inner: list[chord[Any, Any, str]] = [chord([add.s(1, 2)], total), chord([], total)]
    nested = chord(inner, count)
    assert_type(nested, chord[str, int])
    assert huey.enqueue(nested).get(blocking=True) == 2


def check_then_after_the_callback() -> None:
    """``chord.then()`` chains after the callback; ``get()`` still reads the callback."""
    chained = chord([add.s(1, 2)], total).then(shout)
    assert_type(chained, chord[int, str, str])
    handle = huey.enqueue(chained)
    assert_type(handle, ChordResult[int, str])
    assert handle.pipeline_results is not None
    assert handle.pipeline_results.get(blocking=True, preserve=True) == ["3", "3"]
    assert handle.get(blocking=True) == "3"


def rejected_callbacks() -> None:
    """The callback must take the members' outcomes, errors and skips included."""
    chord([add.s(1, 2)], strict_total)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    group([add.s(1, 2)]).then(strict_total)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    chord([add.s(1, 2)], count)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    chord([add.s(1, 2)], total, lable="x")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    chord([add.s(1, 2)], labelled)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    # The original's chord(tasks, callback.s()) is a call missing the results: pass the
    # task function, with extra arguments after it (chord(tasks, total, label="x")).
    chord([add.s(1, 2)], total.s())  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue, reportUnknownArgumentType]
    group([add.s(1, 2)]).then(total, label=3)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


def rejected_members_and_handlers() -> None:
    """Members are tasks, pipelines or chords; a group's handler takes ``Exception``."""
    group([add])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    group([add.s(1, 2)]).error(on_value_error)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def rejected_results() -> None:
    """A chord's ``get()`` is the callback's value, not the members' (never called)."""
    handle = huey.enqueue(chord([add.s(1, 2)], total))
    _wrong: int = handle.get(blocking=True)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _members: list[str] = handle.results.get(blocking=True)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


def check_empty() -> None:
    """An empty chord accepts any callback taking a list (it is called with ``[]``)."""
    empty = chord([], total, label="none: ")
    assert_type(empty, chord[Never, str])
    assert huey.enqueue(empty).get(blocking=True) == "none: "
    nothing: group[Never] = group([])
    assert_type(nothing.then(total), chord[Never, str])
