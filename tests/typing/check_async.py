"""Typing contract: ``async def`` tasks and ``huey.contrib.asyncio``.

A task's ``R`` is what its coroutine returns: ``Result[R]``, ``Task[R]``, pipelines and
``aget_result`` all see the awaited type, never ``Coroutine[...]``. ``call_local()``
runs the coroutine to completion and returns that value too.

Expected-error lines carry ``# type: ignore[code]  # pyright: ignore[rule]`` (see
check_tasks.py); ``rejected_*`` functions are never called.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractContextManager, nullcontext
from typing import Literal, assert_type

from huey import Huey, MemoryHuey, Result, ResultGroup, Task, TaskWrapper, crontab
from huey.api import PeriodicTaskWrapper, Pipeline
from huey.contrib.asyncio import aget_result, aget_result_group
from huey.storage import MemoryStorage

huey = MemoryHuey("typing-async", immediate=True)


@huey.task()
async def fetch(page: int, *, prefix: str = "page") -> str:
    """An async task: its result is the awaited ``str``."""
    await asyncio.sleep(0)
    return f"{prefix}-{page}"


@huey.task(retries=2)
async def length(text: str) -> int:
    """An async pipeline stage taking the previous stage's ``str``."""
    return len(text)


@huey.task()
def shout(text: str) -> str:
    """A plain stage after an async one."""
    return text.upper()


@huey.task(context=True)
async def attempts_left(job: str, task: Task[int] | None = None) -> int:
    """An async task receiving the running task."""
    assert task is not None
    return task.retries + len(job)


@huey.periodic_task(crontab(minute="0"))
async def hourly() -> int:
    """An async periodic task."""
    return 1


connection: AbstractContextManager[str] = nullcontext("conn")


@huey.context_task(connection, as_argument=True)
async def query(conn: str, sql: str) -> list[str]:
    """An async task given a context manager's value."""
    return [conn, sql]


quiet = MemoryHuey("typing-async-quiet", results=False, immediate=True)


@quiet.task()
async def quiet_fetch(page: int) -> str:
    """An async task of a huey that stores no results."""
    return str(page)


def check_async_task_calls() -> None:
    """Calls, ``s()`` and ``call_local()`` hold the awaited type."""
    assert_type(fetch(1), Result[str])
    assert_type(fetch(1, prefix="p"), Result[str])
    assert_type(fetch.s(1), Task[str])
    assert_type(fetch.call_local(1), str)
    assert_type(fetch.with_options(delay=0)(2), Result[str])
    assert_type(fetch.map([1, 2]), ResultGroup[str])
    # assert_type on a ParamSpec'd type compares parameter names: check by assignment.
    wrapper: TaskWrapper[[str], int] = length
    assert_type(wrapper("abc"), Result[int])
    assert fetch(1).get(blocking=True) == "page-1"
    assert fetch.call_local(2, prefix="p") == "p-2"


def check_async_results_modes() -> None:
    """The results mode applies to async tasks as to plain ones."""
    assert_type(quiet_fetch(1), None)
    assert_type(quiet_fetch.s(1), Task[str])
    decided = Huey("typing-async-bool", results=bool(len("x")), storage=MemoryStorage())

    @decided.task()
    async def maybe(x: int) -> int:
        return x

    assert_type(maybe(1), Result[int] | None)
    assert_type(MemoryHuey("typing-async-mode"), MemoryHuey[Literal[True]])


def check_async_pipelines() -> None:
    """Stages see the awaited value of the async stage before them."""
    pipeline = fetch.s(1).then(length)
    assert_type(pipeline, Pipeline[str | int, int])
    assert huey.enqueue(pipeline).get(blocking=True) == ["page-1", 6]
    mixed = fetch.s(2).then(shout)
    assert_type(huey.enqueue(mixed), ResultGroup[str])


def check_async_decorators() -> None:
    """``context=True``, periodic and ``context_task`` unwrap the coroutine too."""
    assert_type(attempts_left("ab"), Result[int])
    assert attempts_left("ab").get(blocking=True) == 2
    assert_type(hourly, PeriodicTaskWrapper[int, Result[int]])
    assert_type(hourly.s(), Task[int])
    rows: TaskWrapper[[str], list[str]] = query
    assert_type(rows("select 1"), Result[list[str]])
    assert query("select 1").get(blocking=True) == ["conn", "select 1"]


def check_aget_result() -> None:
    """``aget_result`` gives ``R``, ``aget_result_group`` a ``list[R]``."""

    async def main() -> tuple[str, list[str], list[str | int]]:
        one = await aget_result(fetch(1))
        assert_type(one, str)
        many = await aget_result_group(fetch.map([1, 2]), timeout=5)
        assert_type(many, list[str])
        stages = await aget_result_group(huey.enqueue(fetch.s(3).then(length)))
        assert_type(stages, list[str | int])
        return one, many, stages

    assert asyncio.run(main()) == ("page-1", ["page-1", "page-2"], ["page-3", 6])


def rejected_async_calls() -> None:
    """Arguments are checked; the awaited type is what comes back (never called)."""
    fetch("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    fetch(1, suffix="x")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    _value: int = fetch.call_local(1)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _handle: Result[int] = fetch(1)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _nothing: Result[str] = quiet_fetch(1)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    fetch.s(1).then(fetch)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


def rejected_async_periodic() -> None:
    """An async periodic task cannot have required parameters either (never called)."""

    # Two overloads (async and plain) fit this decorator: basedpyright reports the failed
    # call under either rule, depending on which one is suppressed (see docs/typed-usage.rst).
    @huey.periodic_task(crontab())  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType, reportUntypedFunctionDecorator]
    async def needs_argument(x: int) -> int:
        return x


def rejected_aget_result() -> None:
    """Only result handles are awaited, with their own type (never called)."""

    async def awaits() -> None:
        await aget_result(quiet_fetch(1))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        await aget_result_group(fetch(1))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
        text = await aget_result(fetch(1))
        texts = await aget_result_group(fetch.map([1]))
        _number: int = text  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
        _numbers: list[int] = texts  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]

    del awaits
