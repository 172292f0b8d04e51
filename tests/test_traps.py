"""The traps a new user fell into (issue "correctness traps"), each pinned by a test.

Every test here failed before its fix: immediate mode skipping the serializer, a result
handle caching an error that a retry replaced, wrong arguments accepted at the call and
failing in the worker, small defects against the documented API, and silent misuse.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from typing_extensions import override

from huey import MemoryHuey, Result
from huey.exceptions import ResultTimeout, TaskException, TaskSerializationError
from tests.conftest import MockClock


class JsonSerializer:
    """A JSON serializer, as a safe-serializer user would configure (tuples become lists)."""

    def serialize(self, data: object, /) -> bytes:
        return json.dumps(data).encode()

    def deserialize(self, data: bytes, /) -> object:
        loaded: object = json.loads(data)
        return loaded


# --- 1. immediate mode takes the serializer's path ---------------------------------------


def test_immediate_mode_refuses_what_the_serializer_cannot_carry(clock: MockClock) -> None:
    app = MemoryHuey("imm-json", immediate=True, clock=clock, serializer=JsonSerializer())

    @app.task()
    def count(items: Any) -> int:
        return len(items)

    with pytest.raises(TaskSerializationError, match="count"):
        count({1, 2, 3})
    assert count([1, 2, 3]).get() == 3


def test_immediate_mode_refuses_an_unpicklable_argument(clock: MockClock) -> None:
    app = MemoryHuey("imm-pickle", immediate=True, clock=clock)

    @app.task()
    def call(fn: Any) -> object:
        return fn()

    with pytest.raises(TaskSerializationError):
        call(lambda: 1)
    with pytest.raises(TaskSerializationError):
        call(threading.Lock())


def test_immediate_mode_runs_the_decoded_arguments(clock: MockClock) -> None:
    """The task sees what a worker would see: under JSON a tuple arrives as a list."""
    app = MemoryHuey("imm-decoded", immediate=True, clock=clock, serializer=JsonSerializer())
    seen: list[object] = []

    @app.task()
    def record(value: Any) -> None:
        seen.append(value)

    record((1, 2))
    assert seen == [[1, 2]]


# --- 2. a result handle never keeps an error that a retry replaced ------------------------


class ActOnFirstSleep(MockClock):
    """A clock that does ``action`` (a worker's next step) when a reader first waits."""

    def __init__(self) -> None:
        super().__init__()
        self.action: Callable[[], object] | None = None

    @override
    def sleep(self, seconds: float, /) -> None:
        super().sleep(seconds)
        action, self.action = self.action, None
        if action is not None:
            action()


def _flaky_app(clock: MockClock) -> tuple[MemoryHuey, Callable[[], Result[int]]]:
    app = MemoryHuey("flaky", clock=clock)
    calls: list[int] = []

    @app.task(retries=1)
    def flaky() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first attempt")
        return 2

    return app, flaky


def _run_next(app: MemoryHuey) -> None:
    task = app.dequeue()
    assert task is not None
    app.execute(task)


def test_a_blocking_get_waits_for_the_retry_instead_of_raising() -> None:
    clock = ActOnFirstSleep()
    app, flaky = _flaky_app(clock)
    result = flaky()
    _run_next(app)  # the first attempt fails; its error is stored, a retry is queued
    clock.action = lambda: _run_next(app)  # the worker runs the retry meanwhile
    assert result.get(blocking=True, timeout=10) == 2
    assert result.get() == 2


def test_a_blocking_get_that_times_out_during_retries_says_so(clock: MockClock) -> None:
    app, flaky = _flaky_app(clock)
    result = flaky()
    _run_next(app)
    with pytest.raises(ResultTimeout, match="retry"):
        result.get(blocking=True, timeout=1, preserve=True)
    _run_next(app)
    assert result.get(blocking=True, timeout=1) == 2


def test_a_final_error_is_still_raised_and_cached(clock: MockClock) -> None:
    other = MemoryHuey("fails", clock=clock)

    @other.task(retries=0)
    def fails() -> None:
        raise ValueError("always")

    result = fails()
    _run_next(other)
    for _ in range(2):
        with pytest.raises(TaskException, match="always"):
            result.get(blocking=True, timeout=1)
