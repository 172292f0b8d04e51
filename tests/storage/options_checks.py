"""Checks of the original huey's options and hooks that touch the storage, shared by the
memory, SQLite, file and Redis tests.

Each check takes a fresh ``Huey`` (storing results) and ``run``, which runs queued tasks
the way the test wants: one at a time with ``huey.execute`` on memory, or through the
consumer's leased flow (``huey._delivery.process_next``) on the real storages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest

from huey import Huey
from huey.constants import EmptyData
from huey.exceptions import ResultTimeout, TaskException
from huey.utils import Error

__all__ = (
    "check_error_builder_field",
    "check_get_raw_result",
    "check_intermediate_errors",
    "check_is_revoked_peek",
    "check_reraised_task_exception",
    "check_reschedule_pipeline",
)

Run = Callable[[Huey[Any]], None]


def check_intermediate_errors(huey: Huey[Literal[True]], *, stored: bool, run: Run) -> None:
    """A task failing on both of its attempts: the first attempt's error is stored
    (``final=False``: a blocking read waits past it) only when ``stored``; the final
    error always is."""

    @huey.task(retries=1)
    def flaky() -> int:
        raise ValueError("boom")

    result = flaky()
    run(huey)
    assert huey.pending_count() == 1
    raw = result.get_raw_result(preserve=True)
    if stored:
        assert isinstance(raw, Error)
        assert (raw.error, raw.metadata["retries"]) == ("ValueError('boom')", 1)
        with pytest.raises(TaskException, match="boom"):
            result.get(preserve=True)
        with pytest.raises(ResultTimeout, match="a retry is due"):
            result.get(blocking=True, timeout=0, preserve=True)
    else:
        assert raw is None
        assert huey.storage.peek_data(result.id) is EmptyData
    run(huey)
    assert huey.pending_count() == 0
    final = result.get_raw_result(blocking=True, timeout=5)
    assert isinstance(final, Error)
    assert (final.error, final.metadata["retries"]) == ("ValueError('boom')", 0)


def check_get_raw_result(huey: Huey[Literal[True]], *, run: Run) -> None:
    """The value, ``None`` while not ready, the error as ``huey.utils.Error``."""

    @huey.task()
    def divide(a: int, b: int) -> float:
        return a / b

    good, bad = divide(6, 3), divide(1, 0)
    assert good.get_raw_result() is None
    run(huey)
    assert good.get_raw_result(blocking=True, timeout=5) == 2.0
    raw = bad.get_raw_result(blocking=True, timeout=5, preserve=True)
    assert isinstance(raw, Error)
    assert raw.error == "ZeroDivisionError('division by zero')"
    assert raw.metadata["task_id"] == bad.id
    assert "ZeroDivisionError" in str(raw.metadata["traceback"])
    with pytest.raises(TaskException) as caught:
        bad.get()
    assert caught.value.metadata == raw.metadata


def check_reschedule_pipeline(huey: Huey[Literal[True]], *, preserve: bool, run: Run) -> None:
    """A rescheduled head keeps its later stages and error handler with
    ``preserve_pipeline=True``; with ``False`` the copy runs alone."""
    calls: list[str] = []

    @huey.task()
    def head(x: int) -> int:
        calls.append(f"head {x}")
        if x < 0:
            raise ValueError("negative")
        return x + 1

    @huey.task()
    def tail(x: int) -> int:
        calls.append(f"tail {x}")
        return x * 10

    @huey.task()
    def handler(exc: Exception) -> None:
        calls.append(f"handler {exc}")

    ok = huey.enqueue(head.s(1).then(tail))
    failing = huey.enqueue(head.s(-1).error(handler))
    [ok_head, ok_tail] = list(ok)
    copies = [
        ok_head.reschedule(preserve_pipeline=preserve),
        failing.reschedule(preserve_pipeline=preserve),
    ]
    run(huey)
    expected = ["head 1", "head -1"]
    if preserve:
        expected += ["tail 2", "handler negative"]
    assert sorted(calls) == sorted(expected)
    assert copies[0].get(blocking=True, timeout=5) == 2
    if preserve:
        # The later stages keep their ids: the original's handles see their results.
        assert ok_tail.get(blocking=True, timeout=5) == 20
    else:
        assert ok_tail.get() is None


def check_error_builder_field(huey: Huey[Literal[True]], *, run: Run) -> None:
    """``huey`` overrides ``build_error_result`` to add ``worker: "w1"``: the field is
    stored, and read back by ``get`` (in the exception) and ``get_raw_result``."""

    @huey.task()
    def fails() -> int:
        raise ValueError("boom")

    result = fails()
    run(huey)
    raw = result.get_raw_result(blocking=True, timeout=5, preserve=True)
    assert isinstance(raw, Error)
    assert raw.metadata["worker"] == "w1"
    assert raw.error == "ValueError('boom')"
    with pytest.raises(TaskException) as caught:
        result.get()
    assert caught.value.metadata["worker"] == "w1"


def check_is_revoked_peek(huey: Huey[Literal[True]]) -> None:
    """A once-revocation survives any number of peeks and is used up by ``peek=False``."""

    @huey.task()
    def work() -> int:
        return 1

    result = work()
    result.revoke(revoke_once=True)
    assert huey.is_revoked(result)
    assert huey.is_revoked(result.id, peek=True)
    assert result.is_revoked()
    assert huey.is_revoked(result.task, peek=False)
    assert not huey.is_revoked(result)
    assert huey.storage.peek_data(f"r:{result.id}") is EmptyData
    # A revocation without limits is not used up.
    huey.revoke_by_id(result.id)
    assert huey.is_revoked(result.id, peek=False)
    assert huey.is_revoked(result.id, peek=False)


def check_reraised_task_exception(huey: Huey[Literal[True]], *, run: Run) -> None:
    """A task reading a failed sub-task's result and letting its ``TaskException``
    propagate stores the sub-task's error text, with its own id and traceback."""

    @huey.task()
    def inner() -> int:
        raise ValueError("inner")

    @huey.task()
    def outer(sub_id: str) -> object:
        return huey.result(sub_id, preserve=True)

    sub = inner()
    run(huey)
    result = outer(sub.id)
    run(huey)
    raw = result.get_raw_result(blocking=True, timeout=5)
    assert isinstance(raw, Error)
    assert raw.error == "ValueError('inner')"
    assert raw.metadata["task_id"] == result.id
    assert "TaskException" in str(raw.metadata["traceback"])
