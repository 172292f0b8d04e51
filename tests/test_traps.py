"""The traps a new user fell into (issue "correctness traps"), each pinned by a test.

Every test here failed before its fix: immediate mode skipping the serializer, a result
handle caching an error that a retry replaced, wrong arguments accepted at the call and
failing in the worker, small defects against the documented API, and silent misuse.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from typing_extensions import override

from huey import CancelExecution, MemoryHuey, Result, Task
from huey.exceptions import (
    ConfigurationError,
    MessageTooLarge,
    ResultTimeout,
    TaskException,
    TaskSerializationError,
    UnknownTaskError,
)
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


# --- 3. wrong arguments fail at the call, not in the worker -------------------------------


def _adder(clock: MockClock) -> tuple[MemoryHuey, Any]:
    """An app and its ``add`` task, typed ``Any`` to call it as untyped code would."""
    app = MemoryHuey("calls", clock=clock)

    @app.task()
    def add(a: int, b: int) -> int:
        return a + b

    untyped: Any = add
    return app, untyped


def test_a_task_option_passed_as_an_argument_points_to_with_options(clock: MockClock) -> None:
    app, add = _adder(clock)
    with pytest.raises(TypeError, match=r"'delay'.*task option.*add\.with_options\(delay=\.\.\.\)"):
        add(1, 2, delay=5)
    assert app.pending_count() == 0


def test_missing_and_surplus_arguments_fail_at_the_call(clock: MockClock) -> None:
    app, add = _adder(clock)
    with pytest.raises(TypeError, match=r"add\(a, b\): missing a required argument: 'b'"):
        add(1)
    with pytest.raises(TypeError, match="too many"):
        add.s(1, 2, 3)
    with pytest.raises(TypeError, match="unexpected keyword"):
        add.with_options(priority=1)(1, 2, c=3)
    with pytest.raises(TypeError, match="missing"):
        add.schedule((1,), delay=10)
    with pytest.raises(TypeError, match="missing"):
        add.map([(1, 2), (3,)])
    assert app.pending_count() == app.scheduled_count() == 0  # map enqueued none of them


def test_a_bare_number_with_a_delay_is_not_taken_for_the_delay(clock: MockClock) -> None:
    app = MemoryHuey("schedule", clock=clock)

    @app.task()
    def double(n: int) -> int:
        return 2 * n

    untyped: Any = double
    with pytest.raises(TypeError, match=r"as a tuple, e\.g\. schedule\(\(3,\)"):
        untyped.schedule(3, delay=60)
    double.schedule((3,), delay=60)
    assert [task.args for task in app.scheduled()] == [(3,)]


def test_a_pipeline_stage_is_checked_as_a_partial_call(clock: MockClock) -> None:
    _, add = _adder(clock)
    with pytest.raises(TypeError, match="unexpected keyword"):
        add.s(1, 2).then(add, c=3)
    with pytest.raises(TypeError, match="too many"):
        add.s(1, 2).then(add, 1, 2, 3)
    add.s(1, 2).then(add, 10)  # the previous value comes second, at run time


def test_context_arguments_are_the_workers_to_pass(clock: MockClock) -> None:
    app = MemoryHuey("context", clock=clock, immediate=True)

    @app.task(context=True)
    def whoami(prefix: str, task: Task[str] | None = None) -> str:
        assert task is not None
        return f"{prefix}{task.id}"

    assert whoami("id-").get() is not None

    @app.context_task(contextlib.nullcontext("db"), as_argument=True)
    def query(db: str, table: str) -> str:
        return f"{db}.{table}"

    assert query("users").get() == "db.users"
    untyped: Any = query
    with pytest.raises(TypeError, match="too many"):
        untyped("db", "users")


def test_calling_an_unregistered_task_fails_at_the_call(clock: MockClock) -> None:
    app, add = _adder(clock)
    assert add.unregister()
    with pytest.raises(UnknownTaskError, match="not registered"):
        add(1, 2)
    assert app.pending_count() == 0


# --- 4. defects against the documented API ------------------------------------------------


def test_then_with_a_task_instance_keeps_the_extra_arguments(clock: MockClock) -> None:
    app = MemoryHuey("then", clock=clock, immediate=True)

    @app.task()
    def add(a: int, b: int) -> int:
        return a + b

    @app.task()
    def total(*numbers: int, scale: int = 1) -> int:
        return sum(numbers) * scale

    pipeline = add.s(1, 2).then(total.s(10), 20, scale=2)
    assert app.enqueue(pipeline).get() == [3, (10 + 20 + 3) * 2]


def test_cancel_execution_inside_a_task_is_reported_to_the_reader(clock: MockClock) -> None:
    app = MemoryHuey("cancel", clock=clock, immediate=True)

    @app.task()
    def gives_up() -> None:
        raise CancelExecution

    with pytest.raises(TaskException, match="CancelExecution"):
        gives_up().get(blocking=True, timeout=1)


def test_check_timeout_works_under_execute_and_immediate_mode(clock: MockClock) -> None:
    app = MemoryHuey("timeouts", clock=clock)
    seen: list[float | None] = []

    @app.task(context=True, timeout=30)
    def budgeted(task: Task[None] | None = None) -> None:
        assert task is not None
        seen.append(task.time_remaining)
        task.check_timeout()

    result = budgeted()
    task = app.dequeue()
    assert task is not None
    app.execute(task)
    app.immediate = True
    budgeted()
    assert len(seen) == 2
    assert all(remaining is not None and 0 < remaining <= 30 for remaining in seen)
    assert result.get() is None


def test_is_revoked_accepts_a_result_handle(clock: MockClock) -> None:
    _, add = _adder(clock)
    result = add(1, 2)
    app = result.huey
    assert app.is_revoked(result) is False
    result.revoke()
    assert app.is_revoked(result) is True


def test_flush_locks_returns_names_and_clear_says_whether_it_held(clock: MockClock) -> None:
    app = MemoryHuey("locks", clock=clock)
    lock = app.lock_task("reports")
    lock.acquire()
    assert app.flush_locks() == {"reports"}
    lock.acquire()
    assert lock.clear() is True
    assert lock.clear() is False


# --- 5. silent misuse is refused where it is written --------------------------------------


def test_lock_task_above_task_is_refused(clock: MockClock) -> None:
    app = MemoryHuey("misuse", clock=clock)
    with pytest.raises(ConfigurationError, match="below"):

        @app.lock_task("nightly")
        @app.task()
        def nightly() -> None: ...


def test_a_receiver_with_the_wrong_signature_is_refused_at_connection(clock: MockClock) -> None:
    app = MemoryHuey("receivers", clock=clock)

    def takes_nothing() -> None: ...

    def takes_two(signal: str, task: object) -> None: ...

    with pytest.raises(TypeError, match=r"takes_nothing.*receiver\(signal, task\)"):
        app.signal()(takes_nothing)
    with pytest.raises(TypeError, match=r"receiver\(signal, task, exception\)"):
        app.signal("error")(takes_two)
    app.signal("complete")(takes_two)  # complete passes (signal, task) only


def test_a_failing_receiver_is_named_in_the_log(
    clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = MemoryHuey("noisy", clock=clock, immediate=True)

    @app.signal("complete")
    def broken_receiver(signal: str, task: object) -> None:
        raise RuntimeError("oops")

    @app.task()
    def job() -> None: ...

    job()
    assert any("broken_receiver" in record.getMessage() for record in caplog.records)


# --- 7. oversized payloads are refused at the call ----------------------------------------


def test_a_message_over_max_message_size_is_refused_at_enqueue(clock: MockClock) -> None:
    app = MemoryHuey("sizes", clock=clock, max_message_size=1000)

    @app.task()
    def store(blob: bytes) -> int:
        return len(blob)

    with pytest.raises(MessageTooLarge, match=r"store is \d+ bytes.*max_message_size=1000") as info:
        store(b"x" * 2000)
    assert info.value.limit == 1000
    assert info.value.size is not None
    assert info.value.size > 2000
    assert app.pending_count() == 0
    store(b"x" * 10)
    assert app.pending_count() == 1


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_max_message_size_must_be_a_positive_int(limit: object) -> None:
    untyped: Any = MemoryHuey
    with pytest.raises((ConfigurationError, ValueError)):
        untyped("bad", max_message_size=limit)
