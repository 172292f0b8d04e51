"""Await task results from asyncio code, without blocking the event loop.

As in the original huey's ``huey.contrib.asyncio``::

    from huey.contrib.asyncio import aget_result, aget_result_group

    async def handler() -> int:
        result = add(1, 2)                      # Result[int], enqueued
        return await aget_result(result)        # int, once a worker ran it

    async def many() -> list[int]:
        return await aget_result_group(add.map([(1, 2), (3, 4)]))

Every read of the result store runs in a thread of the event loop's default executor
(``asyncio.to_thread``) and the waits between reads are ``asyncio.sleep()`` calls, so
other coroutines keep running while a result is awaited, however slowly the storage
answers (the original huey read the store on the event loop itself).

The rules are those of :meth:`Result.get(blocking=True) <huey.api.Result.get>`: the
error of an attempt that will be retried is not final, so the wait goes on for the
retry's outcome; a final error raises :class:`~huey.exceptions.TaskException`; the value
read is cached on the handle, so ``result()`` returns it afterwards (even when the
awaiting coroutine was cancelled while its read was under way).
"""

from __future__ import annotations

import asyncio

from typing_extensions import TypeVar

from huey import Result, ResultGroup
from huey.exceptions import ResultTimeout

__all__ = ("aget_result", "aget_result_group")

R = TypeVar("R")

_FIRST_DELAY = 0.05
"""Seconds between the first two reads (as ``Result.get(blocking=True)``)."""


async def aget_result(
    result: Result[R],
    backoff: float = 1.15,
    max_delay: float = 1.0,
    preserve: bool = False,
    timeout: float | None = None,
) -> R:
    """Wait for the task behind ``result`` to finish and return its value.

    Each read of the store runs in a thread (``asyncio.to_thread``) and the pauses
    between reads are ``asyncio.sleep()`` calls: the event loop stays free.

    Args:
        result: the handle a task call returned.
        backoff: factor by which the pause between reads grows (at least 1).
        max_delay: longest pause between reads, in seconds.
        preserve: leave the value in the store (reads are destructive otherwise).
        timeout: give up after this many seconds (``None``: wait as long as it takes).

    Raises:
        TaskException: the task failed for good.
        ResultTimeout: ``timeout`` elapsed first.
        TypeError: ``result`` is not a :class:`~huey.api.Result` (a huey created with
            ``results=False`` returns ``None`` from task calls).
        ValueError: ``backoff``, ``max_delay`` or ``timeout`` is out of range.
    """
    _check_options(backoff, max_delay, timeout)
    _check_handle(result, Result, "aget_result() takes the Result a task call returned")
    return await _wait(result, backoff, max_delay, preserve, timeout)


async def aget_result_group(
    result_group: ResultGroup[R],
    backoff: float = 1.15,
    max_delay: float = 1.0,
    preserve: bool = False,
    timeout: float | None = None,
) -> list[R]:
    """Wait for every task of ``result_group`` and return their values, in order.

    The results are awaited concurrently (see :func:`aget_result` for the arguments).
    When one fails, or times out, the waits for the others are cancelled and its
    exception is raised; values already read stay cached on their handles.

    Raises:
        TaskException: a task failed for good.
        ResultTimeout: ``timeout`` elapsed before every task finished.
        TypeError: ``result_group`` is not a :class:`~huey.api.ResultGroup`.
        ValueError: ``backoff``, ``max_delay`` or ``timeout`` is out of range.
    """
    _check_options(backoff, max_delay, timeout)
    _check_handle(
        result_group,
        ResultGroup,
        "aget_result_group() takes the ResultGroup of a pipeline or map()",
    )
    waits = [
        asyncio.ensure_future(_wait(result, backoff, max_delay, preserve, timeout))
        for result in result_group
    ]
    try:
        return await asyncio.gather(*waits)
    except BaseException:
        # gather() leaves the others running when one fails (or when the caller is
        # cancelled): stop them, and collect their outcomes so none is left unretrieved.
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        raise


def _check_handle(value: object, kind: type[object], expected: str) -> None:
    # Checked at run time: untyped callers may pass anything.
    if not isinstance(value, kind):
        hint = " (task calls return None when the huey has results=False)" if value is None else ""
        raise TypeError(f"{expected}, got {value!r}{hint}")


def _check_options(backoff: float, max_delay: float, timeout: float | None) -> None:
    if backoff < 1:
        raise ValueError(f"backoff must be at least 1 (the pause never shrinks), got {backoff!r}")
    if not max_delay > 0:
        raise ValueError(f"max_delay must be a positive number of seconds, got {max_delay!r}")
    if timeout is not None and not timeout >= 0:
        raise ValueError(f"timeout must be None or seconds >= 0, got {timeout!r}")


async def _wait(
    result: Result[R], backoff: float, max_delay: float, preserve: bool, timeout: float | None
) -> R:
    clock = result.huey.engine.ports.clock
    deadline = None if timeout is None else clock.monotonic() + timeout
    delay = min(_FIRST_DELAY, max_delay)
    while True:
        # A read that finds the final outcome caches it on the handle, in the thread:
        # if this coroutine is cancelled meanwhile, the value is on the handle, not lost.
        if await asyncio.to_thread(result.is_ready, preserve):
            # Cached: no I/O. A stored error raises TaskException here.
            return result.get(blocking=True)
        pause = delay
        if deadline is not None:
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                raise ResultTimeout(f"task {result.id} did not finish in {timeout}s")
            pause = min(pause, remaining)
        await asyncio.sleep(pause)
        delay = min(delay * backoff, max_delay)
