"""Behaviour of the ``Huey`` façade on ``MemoryHuey``, driven by hand with a fake clock.

Tasks are run the way a consumer worker runs them: ``huey.dequeue()`` then
``huey.execute(task)``; the scheduler's part is ``huey.read_schedule(now)``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import pickle
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typing_extensions import override

from huey import BlackHoleHuey, CancelExecution, Huey, MemoryHuey, RetryTask, crontab
from huey.api import Task, TaskLock
from huey.constants import EmptyData, EmptyDataType
from huey.exceptions import (
    ConfigurationError,
    HueyException,
    MessageDecodeError,
    ResultTimeout,
    TaskException,
    TaskLockedException,
    TaskSerializationError,
    TaskTimeout,
    UnknownTaskError,
)
from huey.serializer import Serializer
from huey.signals import (
    ALL_SIGNALS,
    SIGNAL_CANCELED,
    SIGNAL_COMPLETE,
    SIGNAL_ENQUEUED,
    SIGNAL_ERROR,
    SIGNAL_EXECUTING,
    SIGNAL_EXPIRED,
    SIGNAL_INTERRUPTED,
    SIGNAL_LOCKED,
    SIGNAL_RETRYING,
    SIGNAL_REVOKED,
    SIGNAL_SCHEDULED,
    SIGNAL_TIMEOUT,
    Signal,
)
from huey.storage import MemoryStorage

from .conftest import MockClock


def run_all(huey: Huey[Any], limit: int = 100) -> list[object]:
    """Dequeue and execute until the queue is empty; return the values in order."""
    values: list[object] = []
    for _ in range(limit):
        task = huey.dequeue()
        if task is None:
            return values
        values.append(huey.execute(task))
    raise AssertionError("queue did not drain")


def next_task(huey: Huey[Any]) -> Task[Any]:
    """Dequeue one task, failing the test if the queue is empty."""
    task = huey.dequeue()
    assert task is not None, "the queue is empty"
    return task


def run_due(huey: Huey[Any], clock: MockClock) -> list[object]:
    """Move due tasks from the schedule to the queue (the scheduler's job), then run all."""
    for task in huey.read_schedule(clock.time()):
        huey.enqueue(task)
    return run_all(huey)


def at(clock: MockClock, seconds: float) -> datetime:
    """An aware datetime ``seconds`` after the clock's current time."""
    return datetime.fromtimestamp(clock.time() + seconds, UTC)


class SignalLog:
    """Records every signal as ``(signal, task id, extra args)``."""

    def __init__(self) -> None:
        self.events: list[tuple[Signal, str, tuple[object, ...]]] = []

    def __call__(self, signal: Signal, task: Task[Any], *extra: object) -> None:
        self.events.append((signal, task.id, extra))

    @property
    def names(self) -> list[Signal]:
        """The signals in order."""
        return [event[0] for event in self.events]

    def last(self) -> Signal:
        """The most recent signal."""
        return self.events[-1][0]

    def clear(self) -> None:
        """Forget what was recorded."""
        self.events.clear()


@pytest.fixture
def signals(huey: MemoryHuey) -> SignalLog:
    """A receiver connected to every signal of ``huey``."""
    log = SignalLog()
    huey.signal()(log)
    return log


# --- enqueue / dequeue / execute ------------------------------------------------------


def test_enqueue_dequeue_execute(huey: MemoryHuey) -> None:
    """A call is queued, a worker runs it, the handle reads the value."""

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(1, 2)
    assert len(huey) == 1
    assert huey.pending_count() == 1
    assert result.get() is None
    task = huey.dequeue()
    assert task is not None
    assert (task.id, task.args, task.name) == (result.id, (1, 2), add.name)
    assert huey.dequeue() is None
    assert huey.execute(task) == 3
    assert result.get() == 3
    assert result() == 3
    assert add.call_local(2, 2) == 4


def test_enqueue_explicit_task(huey: MemoryHuey) -> None:
    """``huey.enqueue(add.s(...))`` is the same as calling the task."""

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = huey.enqueue(add.s(2, 3))
    run_all(huey)
    assert result.get() == 5


def test_task_names(huey: MemoryHuey) -> None:
    """Tasks are named ``module.function`` unless given a name."""

    @huey.task()
    def first() -> None: ...

    @huey.task(name="custom")
    def second() -> None: ...

    assert first.name == f"{__name__}.first"
    assert second.name == "custom"


def test_results_are_destructive_unless_preserved(huey: MemoryHuey) -> None:
    """Reading removes the stored value (cached on the handle); ``preserve`` keeps it."""

    @huey.task()
    def seven() -> int:
        return 7

    result = seven()
    run_all(huey)
    assert result.get(preserve=True) == 7
    assert huey.result(result.id, preserve=True) == 7
    assert huey.result_count() == 1
    assert huey.result(result.id) == 7
    assert huey.result_count() == 0
    assert huey.result(result.id) is None
    assert result.get() == 7  # cached on the handle


def test_none_results_not_stored_by_default(huey: MemoryHuey) -> None:
    """A ``None`` return value is not stored unless ``store_none=True``."""

    @huey.task()
    def nothing() -> None:
        return None

    nothing()
    run_all(huey)
    assert huey.result_count() == 0


def test_store_none(clock: MockClock) -> None:
    """With ``store_none`` a ``None`` result is stored and a blocking read returns it."""
    huey = MemoryHuey("store-none", store_none=True, clock=clock)

    @huey.task()
    def nothing() -> None:
        return None

    result = nothing()
    run_all(huey)
    assert huey.result_count() == 1
    assert result.get(blocking=True, timeout=1) is None
    assert clock.sleeps == []


def test_results_false_returns_none(clock: MockClock) -> None:
    """With ``results=False`` calls return ``None`` and nothing is stored."""
    huey = MemoryHuey("no-results", results=False, clock=clock)

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    assert add(1, 2) is None
    assert add.schedule((1, 2), delay=5) is None
    assert add.map([(1, 2)]) is None
    assert huey.enqueue(add.s(1, 2).then(add, 3)) is None
    assert run_all(huey) == [3, 3, 3, 6]
    assert huey.result_count() == 0


def test_priorities_higher_first(huey: MemoryHuey) -> None:
    """Higher priorities run first; equal priorities keep their order."""

    @huey.task()
    def echo(x: int) -> int:
        return x

    @huey.task(priority=5)
    def urgent(x: int) -> int:
        return x

    echo(1)
    echo.with_options(priority=10)(2)
    echo(3)
    urgent(4)
    echo.schedule((5,), priority=1)
    assert [task.args[0] for task in huey.pending()] == [2, 4, 5, 1, 3]
    assert run_all(huey) == [2, 4, 5, 1, 3]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=-3, max_value=3), max_size=12))
def test_priority_order_property(priorities: list[int]) -> None:
    """Tasks run by descending priority, and in enqueue order within a priority."""
    huey = MemoryHuey("priority-property", clock=MockClock())

    @huey.task()
    def echo(index: int) -> int:
        return index

    for index, priority in enumerate(priorities):
        echo.with_options(priority=priority)(index)
    expected = sorted(range(len(priorities)), key=lambda index: (-priorities[index], index))
    assert run_all(huey) == expected


@settings(max_examples=50, deadline=None)
@given(
    retries=st.integers(min_value=0, max_value=4),
    failures=st.integers(min_value=0, max_value=6),
    delay=st.sampled_from([0, 1, 7.5]),
    backoff=st.sampled_from([1, 1.5, 2]),
)
def test_retry_property(retries: int, failures: int, delay: float, backoff: float) -> None:
    """A task failing ``failures`` times runs ``min(failures, retries) + 1`` times, then settles."""
    clock = MockClock()
    huey = MemoryHuey("retry-property", clock=clock)
    runs: list[float] = []

    @huey.task(retries=retries, retry_delay=delay, retry_backoff=backoff)
    def flaky() -> int:
        runs.append(clock.time())
        if len(runs) <= failures:
            raise ValueError(f"failure {len(runs)}")
        return len(runs)

    result = flaky()
    for _ in range(20):
        run_all(huey)
        if huey.scheduled_count() == 0:
            break
        [retry] = huey.scheduled()
        assert retry.eta is not None
        clock.now = retry.eta
        for task in huey.read_schedule(clock.time()):
            huey.enqueue(task)
    assert len(runs) == min(failures, retries) + 1
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    assert gaps == pytest.approx([delay * backoff**k for k in range(len(gaps))])
    if failures <= retries:
        result.reset()
        assert result.get() == failures + 1
    else:
        result.reset()
        with pytest.raises(TaskException, match=f"failure {retries + 1}"):
            result.get()


# --- scheduling ---------------------------------------------------------------------


def test_delay_goes_to_the_schedule(huey: MemoryHuey, clock: MockClock, signals: SignalLog) -> None:
    """A delayed task is scheduled (not queued) and read back once due."""

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add.schedule((1, 2), delay=60)
    assert (len(huey), huey.scheduled_count()) == (0, 1)
    assert signals.names == [SIGNAL_SCHEDULED]
    [scheduled] = huey.scheduled()
    assert scheduled.eta == clock.time() + 60
    assert huey.read_schedule(clock.time() + 59) == []
    clock.advance(60)
    due = huey.read_schedule(clock.time())
    assert [task.id for task in due] == [result.id]
    assert huey.scheduled_count() == 0
    assert huey.execute(due[0]) == 3
    assert result.get() == 3


def test_eta_and_timedelta_delay(huey: MemoryHuey, clock: MockClock) -> None:
    """``eta`` (aware or naive local) and a ``timedelta`` delay all set the eta."""

    @huey.task()
    def echo(x: int) -> int:
        return x

    echo.schedule((1,), eta=at(clock, 30))
    echo.schedule((2,), eta=datetime.fromtimestamp(clock.time() + 20))  # naive local time
    echo.schedule((3,), delay=timedelta(seconds=10))
    echo.with_options(delay=5)(4)
    assert [(t.args[0], t.eta) for t in huey.scheduled()] == [
        (4, clock.time() + 5),
        (3, clock.time() + 10),
        (2, clock.time() + 20),
        (1, clock.time() + 30),
    ]
    clock.advance(15)
    assert run_due(huey, clock) == [4, 3]
    clock.advance(15)
    assert run_due(huey, clock) == [2, 1]


def test_execute_defers_a_task_that_is_not_due(
    huey: MemoryHuey, clock: MockClock, signals: SignalLog
) -> None:
    """Executing a task before its eta schedules it (scheduled signal) instead of running it."""

    @huey.task()
    def echo(x: int) -> int:
        return x

    task = echo.with_options(delay=10).s(1)
    assert not huey.ready_to_run(task)
    assert huey.ready_to_run(task, clock.time() + 10)
    assert huey.execute(task) is None
    assert huey.scheduled_count() == 1
    assert signals.names == [SIGNAL_SCHEDULED]
    assert huey.execute(task, clock.time() + 10) == 1


def test_zero_delay_is_immediate(huey: MemoryHuey) -> None:
    """``delay=0`` enqueues right away."""

    @huey.task()
    def echo(x: int) -> int:
        return x

    echo.schedule((1,), delay=0)
    assert (len(huey), huey.scheduled_count()) == (1, 0)


def test_bad_options_raise_at_call_time(huey: MemoryHuey) -> None:
    """Invalid per-call options raise before anything is enqueued."""

    @huey.task()
    def echo(x: int) -> int:
        return x

    def rejects(call: Callable[[], object]) -> None:
        with pytest.raises((TypeError, ValueError)):
            call()

    rejects(lambda: echo.schedule((1,), delay=-1))
    rejects(lambda: echo.schedule((1,), delay=float("nan")))
    rejects(lambda: echo.schedule((1,), delay=float("inf")))
    rejects(lambda: echo.schedule((1,), eta=at_now(), delay=5))
    rejects(lambda: echo.with_options(delay=-0.5)(1))
    rejects(lambda: echo.with_options(priority=True)(1))
    rejects(lambda: echo.with_options(priority=1.5)(1))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    rejects(lambda: echo.with_options(retries=-1)(1))
    rejects(lambda: echo.with_options(retry_delay=-3)(1))
    rejects(lambda: echo.with_options(retry_backoff=0.5)(1))
    rejects(lambda: echo.with_options(expires=-1)(1))
    rejects(lambda: echo.with_options(timeout=-1)(1))
    rejects(lambda: echo.schedule((1,), eta=1234))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert (len(huey), huey.scheduled_count()) == (0, 0)


def at_now() -> datetime:
    """The current time as an aware datetime (its value does not matter where used)."""
    return datetime.now(UTC)


def test_bad_decorator_options_raise(huey: MemoryHuey) -> None:
    """Invalid task settings raise when the function is decorated."""
    with pytest.raises(ValueError, match="retries"):

        @huey.task(retries=-1)
        def one() -> None: ...

    with pytest.raises(ValueError, match="retry_delay"):

        @huey.task(retry_delay=-1)
        def two() -> None: ...

    with pytest.raises(ValueError, match="priority"):

        @huey.task(priority=True)
        def three() -> None: ...


# --- retries ------------------------------------------------------------------------


def test_retries_with_delay_and_backoff(
    huey: MemoryHuey, clock: MockClock, signals: SignalLog
) -> None:
    """A failing task is retried after retry_delay, multiplied by retry_backoff each time."""
    attempts: list[float] = []

    @huey.task(retries=3, retry_delay=10, retry_backoff=2)
    def flaky() -> int:
        attempts.append(clock.time())
        if len(attempts) < 4:
            raise ValueError(f"attempt {len(attempts)}")
        return len(attempts)

    start = clock.time()
    result = flaky()
    run_all(huey)
    assert signals.names == [
        SIGNAL_ENQUEUED,
        SIGNAL_EXECUTING,
        SIGNAL_ERROR,
        SIGNAL_RETRYING,
        SIGNAL_SCHEDULED,
    ]
    with pytest.raises(TaskException, match="attempt 1"):
        result.get()
    for delay in (10, 20, 40):
        [retry] = huey.scheduled()
        assert retry.eta == clock.time() + delay
        clock.advance(delay)
        run_due(huey, clock)
    assert attempts == [start, start + 10, start + 30, start + 70]
    result.reset()
    assert result.get() == 4
    assert huey.scheduled_count() == 0


def test_retries_exhausted(huey: MemoryHuey) -> None:
    """After the last retry the error stays, with the retries count and traceback."""

    @huey.task(retries=2)
    def always_fails() -> None:
        raise KeyError("nope")

    result = always_fails()
    assert run_all(huey) == [None, None, None]
    with pytest.raises(TaskException) as info:
        result.get()
    assert info.value.metadata["retries"] == 0
    assert info.value.metadata["task_id"] == result.id
    assert "KeyError" in str(info.value.metadata["traceback"])
    assert str(info.value) == "KeyError('nope')"


def test_retry_task_with_delay_and_eta(huey: MemoryHuey, clock: MockClock) -> None:
    """RetryTask(delay=...) and RetryTask(eta=...) schedule a retry without using retries."""
    calls: list[int] = []

    @huey.task()
    def retry_later(mode: str) -> int:
        calls.append(1)
        if len(calls) == 1:
            if mode == "delay":
                raise RetryTask(delay=30)
            raise RetryTask(eta=at(clock, 45))
        return len(calls)

    for mode, wait in (("delay", 30), ("eta", 45)):
        calls.clear()
        result = retry_later(mode)
        run_all(huey)
        assert result.get() is None  # a forced retry stores no error
        [retry] = huey.scheduled()
        assert (retry.eta, retry.retries) == (clock.time() + wait, 0)
        clock.advance(wait)
        run_due(huey, clock)
        assert result.get() == 2


def test_retry_task_without_delay_requeues(huey: MemoryHuey, signals: SignalLog) -> None:
    """A plain RetryTask re-enqueues at once, even for a task without retries."""
    calls: list[int] = []

    @huey.task()
    def once_more() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RetryTask("again")
        return 2

    result = once_more()
    assert run_all(huey) == [None, 2]
    assert SIGNAL_ERROR not in signals.names
    assert signals.names.count(SIGNAL_RETRYING) == 1
    assert result.get() == 2


@pytest.mark.parametrize(
    "bad_retry",
    [RetryTask(eta=5), RetryTask(delay=-1), RetryTask(delay=float("nan"))],  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    ids=["int-eta", "negative-delay", "nan-delay"],
)
def test_invalid_retry_task_is_reported_as_error(
    huey: MemoryHuey, signals: SignalLog, bad_retry: RetryTask
) -> None:
    """A RetryTask with an unusable eta or delay becomes a stored error, not a crash."""

    @huey.task()
    def retries_badly() -> None:
        raise bad_retry

    result = retries_badly()
    assert run_all(huey) == [None]
    assert SIGNAL_ERROR in signals.names
    assert (len(huey), huey.scheduled_count()) == (0, 0)
    with pytest.raises(TaskException):
        result.get()


# --- cancellation --------------------------------------------------------------------


def test_cancel_from_pre_execute_hook(huey: MemoryHuey, signals: SignalLog) -> None:
    """A pre-execute hook raising CancelExecution stops the task: canceled, nothing stored."""
    ran: list[int] = []

    @huey.pre_execute()
    def veto(task: Task[Any]) -> None:
        if task.args == (0,):
            raise CancelExecution("zero")

    @huey.task(retries=2)
    def work(x: int) -> int:
        ran.append(x)
        return x

    result = work(0)
    assert run_all(huey) == [None]
    assert ran == []
    assert signals.names == [SIGNAL_ENQUEUED, SIGNAL_EXECUTING, SIGNAL_CANCELED]
    assert result.get() is None
    assert (len(huey), huey.scheduled_count(), huey.result_count()) == (0, 0, 0)
    work(1)
    assert run_all(huey) == [1]


@pytest.mark.parametrize(
    ("retry", "retries", "requeued"),
    [(True, 0, True), (False, 2, False), (None, 2, True), (None, 0, False)],
)
def test_cancel_from_task(
    huey: MemoryHuey, signals: SignalLog, retry: bool | None, retries: int, requeued: bool
) -> None:
    """CancelExecution raised by a task retries as its ``retry`` argument and retries say.

    Without a retry the cancellation is the task's outcome: stored as an error, so a
    reader gets a TaskException instead of waiting for ever (as in the original huey).
    With a retry it is stored as an intermediate error, as huey 3.5 does by default
    (``store_intermediate_errors``): a blocking read waits for the retry's outcome.
    """

    @huey.task(retries=retries)
    def cancels() -> int:
        raise CancelExecution(retry=retry)

    result = cancels()
    huey.execute(next_task(huey))
    assert SIGNAL_CANCELED in signals.names
    assert (SIGNAL_RETRYING in signals.names) is requeued
    assert len(huey) == (1 if requeued else 0)
    if requeued:
        [again] = huey.pending()
        assert again.retries == (retries if retry else retries - 1)
        assert huey.result_count() == 1
        with pytest.raises(TaskException, match="CancelExecution"):
            result.get(preserve=True)
        with pytest.raises(ResultTimeout, match="a retry is due"):
            result.get(blocking=True, timeout=0)
    else:
        with pytest.raises(TaskException, match="CancelExecution"):
            result.get(blocking=True, timeout=1)


# --- expiry -------------------------------------------------------------------------


def test_expires_relative(huey: MemoryHuey, clock: MockClock, signals: SignalLog) -> None:
    """A task not run within ``expires`` seconds is dropped with the expired signal."""
    ran: list[int] = []

    @huey.task(expires=10)
    def work(x: int) -> int:
        ran.append(x)
        return x

    work(1)
    work(2)
    [first, second] = [huey.dequeue(), huey.dequeue()]
    assert first is not None
    assert second is not None
    clock.advance(5)
    assert huey.execute(first) == 1
    clock.advance(6)
    assert huey.execute(second) is None
    assert ran == [1]
    assert signals.last() == SIGNAL_EXPIRED


def test_expires_counts_from_eta(huey: MemoryHuey, clock: MockClock) -> None:
    """A scheduled task's relative expiry starts at its eta."""

    @huey.task()
    def work() -> int:
        return 1

    work.with_options(delay=100, expires=10)()
    clock.advance(105)
    assert run_due(huey, clock) == [1]


def test_expires_absolute(huey: MemoryHuey, clock: MockClock) -> None:
    """An absolute ``expires`` datetime drops the task after that time."""

    @huey.task()
    def work() -> int:
        return 1

    work.with_options(expires=at(clock, 10))()
    clock.advance(11)
    assert run_all(huey) == [None]


def test_absolute_expiry_survives_retries(huey: MemoryHuey, clock: MockClock) -> None:
    """A retry scheduled after an absolute expiry is dropped, not run."""
    attempts: list[int] = []

    @huey.task(retries=1, retry_delay=20)
    def flaky() -> int:
        attempts.append(1)
        raise ValueError("fails")

    flaky.with_options(expires=at(clock, 10))()
    run_all(huey)
    clock.advance(20)
    assert run_due(huey, clock) == [None]
    assert attempts == [1]


def test_reschedule_keeps_absolute_expiry(huey: MemoryHuey, clock: MockClock) -> None:
    """A rescheduled copy keeps the original's absolute expiry unless given a new one."""

    @huey.task()
    def work() -> int:
        return 1

    original = work.with_options(expires=at(clock, 10))()
    kept = original.reschedule(delay=30)
    renewed = original.reschedule(delay=30, expires=60)
    clock.advance(30)
    assert run_due(huey, clock) == [None, None, 1]
    assert kept.get() is None
    assert renewed.get() == 1


# --- revocation -----------------------------------------------------------------------


def test_result_revoke_and_restore(huey: MemoryHuey, signals: SignalLog) -> None:
    """Result.revoke drops the next run; restore re-enables it."""

    @huey.task()
    def work(x: int) -> int:
        return x

    first = work(1)
    first.revoke()
    assert first.is_revoked()
    assert run_all(huey) == [None]
    assert signals.last() == SIGNAL_REVOKED
    assert first.get() is None
    assert not first.is_revoked()  # revoke_once was consumed

    second = work(2)
    second.revoke()
    assert second.restore() is True
    assert second.restore() is False
    assert run_all(huey) == [2]


def test_revoke_by_id_and_forever(huey: MemoryHuey) -> None:
    """``revoke_by_id`` without options stays until restored."""

    @huey.task()
    def work(x: int) -> int:
        return x

    result = work(1)
    huey.revoke_by_id(result.id)
    task = huey.dequeue()
    assert task is not None
    assert huey.execute(task) is None
    assert huey.is_revoked(result.id)
    assert huey.execute(task) is None
    assert huey.restore_by_id(result.id)
    assert huey.execute(task) == 1


def test_task_wrapper_revoke_once(huey: MemoryHuey) -> None:
    """``TaskWrapper.revoke(revoke_once=True)`` skips exactly one run of any instance."""

    @huey.task()
    def work(x: int) -> int:
        return x

    work.revoke(revoke_once=True)
    assert work.is_revoked()
    work(1)
    work(2)
    assert run_all(huey) == [None, 2]
    assert not work.is_revoked()


def test_task_wrapper_revoke_until(huey: MemoryHuey, clock: MockClock) -> None:
    """``revoke_until`` revokes every instance until that time, then lapses."""

    @huey.task()
    def work(x: int) -> int:
        return x

    work.revoke(revoke_until=at(clock, 100))
    assert work.is_revoked()
    assert not work.is_revoked(timestamp=at(clock, 101))
    work(1)
    assert run_all(huey) == [None]
    clock.advance(100)
    assert not work.is_revoked()
    work(2)
    assert run_all(huey) == [2]


def test_task_wrapper_revoke_and_restore(huey: MemoryHuey) -> None:
    """A revoked task stays revoked until restored; results report it too."""

    @huey.task()
    def work(x: int) -> int:
        return x

    work.revoke()
    result = work(1)
    assert result.is_revoked()
    assert huey.is_revoked(work)
    assert run_all(huey) == [None]
    assert work.restore() is True
    assert work.restore() is False
    assert not result.is_revoked()
    work(2)
    assert run_all(huey) == [2]


def test_revoke_all_restore_all(huey: MemoryHuey) -> None:
    """``huey.revoke_all``/``restore_all`` act on the whole task."""

    @huey.task()
    def work(x: int) -> int:
        return x

    huey.revoke_all(work)
    work(1)
    assert run_all(huey) == [None]
    assert huey.restore_all(work)
    work(2)
    assert run_all(huey) == [2]


def test_revoke_and_restore_task_instance(huey: MemoryHuey) -> None:
    """``huey.revoke(task)``/``huey.restore(task)`` act on one instance."""

    @huey.task()
    def work(x: int) -> int:
        return x

    task = work.s(1)
    huey.revoke(task)
    assert huey.is_revoked(task)
    assert huey.restore(task)
    assert not huey.is_revoked(task)


def test_revocation_flags_count_in_result_store(huey: MemoryHuey) -> None:
    """Revocation flags live in the result store, as in the original huey."""

    @huey.task()
    def work() -> None: ...

    work.revoke()
    assert huey.result_count() == 1
    work.restore()
    assert huey.result_count() == 0


# --- pipelines and map ------------------------------------------------------------------


def test_pipeline_then(huey: MemoryHuey) -> None:
    """Each stage receives the previous value; enqueue returns one result per stage."""

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    group = huey.enqueue(add.s(1, 2).then(add, 3).then(add, 4).then(add, 5))
    assert len(group) == 4
    assert len(huey) == 1  # only the head is queued; stages follow as each finishes
    assert run_all(huey) == [3, 6, 10, 15]
    assert group.get() == [3, 6, 10, 15]


def test_pipeline_then_with_keywords(huey: MemoryHuey) -> None:
    """Arguments bound by keyword in ``then`` are kept; the value comes positionally."""

    @huey.task()
    def fmt(value: int, prefix: str = "") -> str:
        return f"{prefix}{value}"

    @huey.task()
    def one() -> int:
        return 1

    group = huey.enqueue(one.s().then(fmt, prefix="n="))
    run_all(huey)
    assert group.get() == [1, "n=1"]


def test_pipeline_blocking_get_and_indexing(huey: MemoryHuey) -> None:
    """``ResultGroup`` reads block per item; ``group[i]`` is a blocking read."""
    huey.immediate = True

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    group = huey.enqueue(add.s(1, 1).then(add, 1))
    assert group[1] == 3
    assert group.get(blocking=True) == [2, 3]
    assert [result.id for result in group] == [result.id for result in group]


def test_pipeline_failure_propagates(huey: MemoryHuey) -> None:
    """A failed stage's error reaches every later stage's result; later stages never run."""
    ran: list[str] = []

    @huey.task()
    def add(a: int, b: int) -> int:
        ran.append("add")
        return a + b

    @huey.task()
    def boom(value: int) -> int:
        raise ValueError(f"bad {value}")

    group = huey.enqueue(add.s(1, 2).then(boom).then(add, 4))
    run_all(huey)
    assert ran == ["add"]
    results = list(group)
    assert results[0].get() == 3
    for result in results[1:]:
        with pytest.raises(TaskException, match="bad 3"):
            result.get(blocking=True, timeout=1)


def test_error_handler_receives_exception(huey: MemoryHuey) -> None:
    """``error()`` runs the handler with the exception and its keyword-bound arguments."""
    handled: list[tuple[str, Exception]] = []

    @huey.task()
    def boom() -> int:
        raise ValueError("broken")

    @huey.task()
    def on_error(exc: Exception, label: str = "") -> None:
        handled.append((label, exc))

    huey.enqueue(boom.s().error(on_error, label="cleanup"))
    run_all(huey)
    [(label, exc)] = handled
    assert label == "cleanup"
    assert isinstance(exc, ValueError)
    assert str(exc) == "broken"


def test_error_handler_not_run_on_success_or_pending_retry(huey: MemoryHuey) -> None:
    """The handler runs only after the final failure."""
    handled: list[Exception] = []
    attempts: list[int] = []

    @huey.task(retries=1)
    def fails_once() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first")
        return 1

    @huey.task()
    def on_error(exc: Exception) -> None:
        handled.append(exc)

    huey.enqueue(fails_once.s().error(on_error))
    assert run_all(huey) == [None, 1]
    assert handled == []


def test_tuple_and_dict_results_spread(huey: MemoryHuey) -> None:
    """A tuple return is spread into args; a dict fills kwargs."""
    huey.immediate = True

    @huey.task()
    def fib(a: int, b: int = 1) -> tuple[int, int]:
        return (a + b, a)

    @huey.task()
    def as_kwargs() -> dict[str, int]:
        return {"b": 10}

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    assert huey.enqueue(fib.s(1).then(fib).then(fib)).get(blocking=True) == [
        (2, 1),
        (3, 2),
        (5, 3),
    ]
    assert huey.enqueue(as_kwargs.s().then(add, 1)).get(blocking=True) == [{"b": 10}, 11]


def test_map(huey: MemoryHuey) -> None:
    """``map`` enqueues one call per item; tuples are spread, other items are one argument."""

    @huey.task()
    def add(a: int, b: int = 100) -> int:
        return a + b

    group = add.map([(1, 2), (3, 4), 5])
    assert len(group) == 3
    assert run_all(huey) == [3, 7, 105]
    assert group.get() == [3, 7, 105]


def test_as_completed_yields_in_completion_order(huey: MemoryHuey, clock: MockClock) -> None:
    """``as_completed`` yields values as tasks finish, polling with the huey clock."""

    @huey.task()
    def echo(x: int) -> int:
        return x

    group = echo.map([1, 2, 3])
    tasks = [next_task(huey) for _ in range(3)]
    huey.execute(tasks[2])
    completed = group.as_completed()
    assert next(completed) == 3
    huey.execute(tasks[0])
    huey.execute(tasks[1])
    assert list(completed) == [1, 2]


def test_as_completed_waits_with_the_clock(huey: MemoryHuey, clock: MockClock) -> None:
    """While nothing is ready ``as_completed`` sleeps on the huey clock (no real sleep)."""

    @huey.task()
    def echo(x: int) -> int:
        return x

    group = echo.map([1])
    [task] = huey.pending()
    original_sleep = clock.sleep

    def sleep_then_run(seconds: float, /) -> None:
        original_sleep(seconds)
        if len(clock.sleeps) == 3:
            run_all(huey)

    clock.sleep = sleep_then_run  # type: ignore[method-assign]  # instrument the fake clock
    assert list(group.as_completed()) == [1]
    assert len(clock.sleeps) == 3
    assert task.args == (1,)


# --- locks ------------------------------------------------------------------------------


def test_lock_task_decorator(huey: MemoryHuey, signals: SignalLog) -> None:
    """A task under a held lock is not run: locked signal, lock error stored."""

    @huey.task()
    @huey.lock_task("report")
    def report() -> int:
        return 1

    lock = huey.lock_task("report")
    assert isinstance(lock, TaskLock)
    with lock:
        assert huey.is_locked("report")
        assert lock.is_locked()
        result = report()
        assert run_all(huey) == [None]
    assert SIGNAL_LOCKED in signals.names
    with pytest.raises(TaskException, match="TaskLockedException"):
        result.get()
    assert not huey.is_locked("report")
    report()
    assert run_all(huey) == [1]
    assert not huey.is_locked("report")


def test_lock_task_retries_when_locked(huey: MemoryHuey) -> None:
    """A locked task with retries is retried and no error is stored for the locked attempt."""

    @huey.task(retries=1)
    @huey.lock_task("busy")
    def work() -> int:
        return 1

    lock = huey.lock_task("busy")
    lock.acquire()
    result = work()
    run_all_once = huey.dequeue()
    assert run_all_once is not None
    huey.execute(run_all_once)
    assert len(huey) == 1
    assert result.get() is None
    lock.release()
    assert run_all(huey) == [1]
    assert result.get() == 1


def test_lock_task_context_manager(huey: MemoryHuey) -> None:
    """Used as a context manager the lock raises TaskLockedException when held."""
    lock = huey.lock_task("db-backup")
    with lock:
        with pytest.raises(TaskLockedException), huey.lock_task("db-backup"):
            pytest.fail("entered a held lock")
        assert huey.is_locked("db-backup")
    assert not huey.is_locked("db-backup")
    lock.acquire()
    assert lock.clear() is True
    assert not lock.is_locked()
    assert lock.clear() is False


def test_lock_released_when_body_fails(huey: MemoryHuey) -> None:
    """An exception inside the lock releases it."""
    lock = huey.lock_task("l")
    with pytest.raises(RuntimeError), lock:
        raise RuntimeError("fail")
    assert not lock.is_locked()


def test_flush_locks(huey: MemoryHuey) -> None:
    """``flush_locks`` releases known locks and named ones, returning the names it freed."""
    known = huey.lock_task("known")
    known.acquire()
    huey.put_if_empty(f"{huey.name}.lock.extra", "1")
    assert huey.flush_locks("extra") == {"known", "extra"}
    assert not huey.is_locked("known")
    assert not huey.is_locked("extra")
    assert huey.flush_locks() == set()


# --- key/value API -------------------------------------------------------------------------


def test_put_get_peek_delete(huey: MemoryHuey) -> None:
    """The key/value store: destructive get, peek, put_if_empty and delete."""
    huey.put("k", {"a": [1, 2]})
    assert huey.get("k", peek=True) == {"a": [1, 2]}
    assert huey.get("k") == {"a": [1, 2]}
    assert huey.get("k") is None
    assert huey.put_if_empty("k", 1) is True
    assert huey.put_if_empty("k", 2) is False
    assert huey.get("k", peek=True) == 1
    assert huey.get_raw("k", peek=True) == pickle.dumps(1, pickle.HIGHEST_PROTOCOL)
    assert huey.delete("k") is True
    assert huey.delete("k") is False
    assert huey.get_raw("k") is EmptyData
    huey.put_result("r", 5)
    assert huey.result("r") == 5


# --- introspection ---------------------------------------------------------------------------


def test_pending_scheduled_counts_and_flush(huey: MemoryHuey) -> None:
    """Introspection reflects the queue, the schedule and the result store; flush empties all."""

    @huey.task()
    def echo(x: int) -> int:
        return x

    echo(1)
    echo(2)
    echo.schedule((3,), delay=10)
    huey.put("k", 1)
    assert [task.args for task in huey.pending()] == [(1,), (2,)]
    assert [task.args for task in huey.pending(limit=1)] == [(1,)]
    assert [task.args for task in huey.scheduled()] == [(3,)]
    assert (len(huey), huey.pending_count(), huey.scheduled_count()) == (2, 2, 1)
    assert huey.result_count() == 1
    assert set(huey.all_results()) == {"k"}
    assert bool(huey)
    huey.flush()
    assert (len(huey), huey.scheduled_count(), huey.result_count()) == (0, 0, 0)


# --- hooks ---------------------------------------------------------------------------------


def test_pre_and_post_execute_hooks(huey: MemoryHuey) -> None:
    """Hooks run in registration order around each task with the value or the exception."""
    calls: list[tuple[object, ...]] = []

    @huey.pre_execute()
    def pre_one(task: Task[Any]) -> None:
        calls.append(("pre1", task.args))

    @huey.pre_execute(name="second")
    def pre_two(task: Task[Any]) -> None:
        calls.append(("pre2",))
        raise RuntimeError("a broken hook is only logged")

    @huey.post_execute()
    def post(task: Task[Any], value: object, exc: BaseException | None) -> None:
        calls.append(("post", value, type(exc).__name__ if exc else None))

    @huey.task()
    def div(a: int, b: int) -> float:
        calls.append(("run",))
        return a / b

    div(4, 2)
    div(1, 0)
    run_all(huey)
    assert calls == [
        ("pre1", (4, 2)),
        ("pre2",),
        ("run",),
        ("post", 2.0, None),
        ("pre1", (1, 0)),
        ("pre2",),
        ("run",),
        ("post", None, "ZeroDivisionError"),
    ]
    calls.clear()
    assert huey.unregister_pre_execute("second") is True
    assert huey.unregister_pre_execute(pre_one) is True
    assert huey.unregister_pre_execute(pre_one) is False
    assert huey.unregister_post_execute(post) is True
    div(1, 1)
    run_all(huey)
    assert calls == [("run",)]


def test_startup_and_shutdown_hooks(huey: MemoryHuey, caplog: pytest.LogCaptureFixture) -> None:
    """Startup/shutdown hooks run when asked, failures are logged, and they unregister."""
    calls: list[str] = []

    @huey.on_startup()
    def start() -> None:
        calls.append("start")

    @huey.on_startup(name="broken")
    def broken() -> None:
        raise RuntimeError("broken startup")

    @huey.on_shutdown()
    def stop() -> None:
        calls.append("stop")

    with caplog.at_level(logging.ERROR, logger="huey"):
        huey.run_startup_hooks()
    assert "broken" in caplog.text
    huey.run_shutdown_hooks()
    assert calls == ["start", "stop"]
    assert huey.unregister_on_startup(start)
    assert huey.unregister_on_startup("broken")
    assert huey.unregister_on_shutdown("stop")
    assert not huey.unregister_on_shutdown("stop")
    huey.run_startup_hooks()
    huey.run_shutdown_hooks()
    assert calls == ["start", "stop"]


# --- signals ---------------------------------------------------------------------------------


def test_signals_for_a_successful_task(huey: MemoryHuey, signals: SignalLog) -> None:
    """enqueued -> executing -> complete, complete after the result and post hooks."""
    seen_at_complete: list[object] = []

    @huey.post_execute()
    def post(task: Task[Any], value: object, exc: BaseException | None) -> None:
        seen_at_complete.append("post")

    @huey.signal(SIGNAL_COMPLETE)
    def on_complete(signal: Signal, task: Task[Any], *extra: object) -> None:
        seen_at_complete.append(huey.result(task.id, preserve=True))

    @huey.task()
    def work() -> int:
        return 9

    result = work()
    run_all(huey)
    assert signals.events == [
        (SIGNAL_ENQUEUED, result.id, ()),
        (SIGNAL_EXECUTING, result.id, ()),
        (SIGNAL_COMPLETE, result.id, ()),
    ]
    assert seen_at_complete == ["post", 9]


def test_executing_is_emitted_before_pre_execute_hooks(
    huey: MemoryHuey, signals: SignalLog
) -> None:
    """Pre-execute hooks run after the executing signal, post-execute hooks before complete."""
    seen: list[list[Signal]] = []

    @huey.pre_execute()
    def pre(task: Task[Any]) -> None:
        seen.append(list(signals.names))

    @huey.post_execute()
    def post(task: Task[Any], value: object, exc: BaseException | None) -> None:
        seen.append(list(signals.names))

    @huey.task()
    def work() -> None: ...

    work()
    run_all(huey)
    assert seen == [[SIGNAL_ENQUEUED, SIGNAL_EXECUTING], [SIGNAL_ENQUEUED, SIGNAL_EXECUTING]]
    assert signals.last() == SIGNAL_COMPLETE


def test_signal_error_passes_exception(huey: MemoryHuey, signals: SignalLog) -> None:
    """The error signal carries the exception as its extra argument."""

    @huey.task()
    def boom() -> None:
        raise ValueError("x")

    boom()
    run_all(huey)
    signal, _, extra = signals.events[-1]
    assert signal == SIGNAL_ERROR
    assert len(extra) == 1
    assert isinstance(extra[0], ValueError)


def test_signal_timeout_and_interrupted(huey: MemoryHuey, signals: SignalLog) -> None:
    """A TaskTimeout emits timeout (stored as an error); KeyboardInterrupt emits interrupted."""

    @huey.task()
    def too_slow() -> None:
        raise TaskTimeout("over time")

    @huey.task()
    def interrupted() -> None:
        raise KeyboardInterrupt

    slow = too_slow()
    run_all(huey)
    assert signals.last() == SIGNAL_TIMEOUT
    with pytest.raises(TaskException, match="TaskTimeout"):
        slow.get()
    stopped = interrupted()
    run_all(huey)
    assert signals.last() == SIGNAL_INTERRUPTED
    assert stopped.get() is None


def test_signal_filtering_and_disconnect(huey: MemoryHuey) -> None:
    """Receivers get only the signals they asked for, until disconnected."""
    log = SignalLog()
    huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR)(log)

    @huey.task()
    def work() -> int:
        return 1

    work()
    run_all(huey)
    assert log.names == [SIGNAL_COMPLETE]
    huey.disconnect_signal(log, SIGNAL_COMPLETE)
    work()
    run_all(huey)
    assert log.names == [SIGNAL_COMPLETE]
    huey.signal()(log)
    huey.disconnect_signal(log)
    work()
    run_all(huey)
    assert log.names == [SIGNAL_COMPLETE]


def test_signal_rejects_unknown_names(huey: MemoryHuey) -> None:
    """Connecting to a signal that does not exist is an error."""
    with pytest.raises(ValueError, match="unknown signals"):
        huey.signal("finished")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert len(ALL_SIGNALS) == len(set(ALL_SIGNALS))


def test_failing_receiver_does_not_stop_others(
    huey: MemoryHuey, caplog: pytest.LogCaptureFixture
) -> None:
    """A receiver that raises is logged; later receivers and the task still run."""
    received: list[Signal] = []

    @huey.signal(SIGNAL_COMPLETE)
    def broken(signal: Signal, task: Task[Any], *extra: object) -> None:
        raise RuntimeError("receiver bug")

    @huey.signal(SIGNAL_COMPLETE)
    def fine(signal: Signal, task: Task[Any], *extra: object) -> None:
        received.append(signal)

    @huey.task()
    def work() -> int:
        return 1

    result = work()
    with caplog.at_level(logging.ERROR, logger="huey"):
        run_all(huey)
    assert received == [SIGNAL_COMPLETE]
    assert "receiver bug" in caplog.text
    assert result.get() == 1


def test_revoked_expired_scheduled_locked_signals(
    huey: MemoryHuey, clock: MockClock, signals: SignalLog
) -> None:
    """revoked, expired, scheduled and locked are each emitted at their point."""

    @huey.task()
    def work() -> int:
        return 1

    @huey.task()
    @huey.lock_task("sig-lock")
    def locked() -> int:
        return 1

    revoked = work()
    revoked.revoke()
    run_all(huey)
    assert signals.last() == SIGNAL_REVOKED
    work.with_options(expires=1)()
    clock.advance(2)
    run_all(huey)
    assert signals.last() == SIGNAL_EXPIRED
    work.with_options(delay=5)()
    assert signals.last() == SIGNAL_SCHEDULED
    with huey.lock_task("sig-lock"):
        locked()
        run_all(huey)
    assert SIGNAL_LOCKED in signals.names


# --- immediate mode ---------------------------------------------------------------------------


def test_immediate_mode_runs_synchronously(clock: MockClock) -> None:
    """Immediate mode runs tasks when called, in a private in-memory storage."""
    huey = MemoryHuey("imm", clock=clock)
    real_storage = huey.storage

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    huey.immediate = True
    assert huey.immediate
    assert huey.storage is not real_storage
    assert isinstance(huey.storage, MemoryStorage)
    result = add(2, 3)
    assert result() == 5
    assert len(huey) == 0
    huey.immediate = False
    assert huey.storage is real_storage
    add(1, 1)
    assert len(huey) == 1


def test_immediate_mode_never_runs_scheduled_tasks(clock: MockClock) -> None:
    """In immediate mode scheduled tasks wait in the schedule and are never run."""
    huey = MemoryHuey("imm-sched", immediate=True, clock=clock)
    ran: list[int] = []

    @huey.task()
    def work(x: int) -> int:
        ran.append(x)
        return x

    result = work.schedule((1,), delay=10)
    clock.advance(3600)
    assert ran == []
    assert huey.scheduled_count() == 1
    assert result.get() is None


def test_immediate_mode_can_keep_the_storage() -> None:
    """``immediate_use_memory=False`` keeps the configured storage."""
    storage = MemoryStorage("kept")
    huey = Huey("kept", storage=storage, immediate=True, immediate_use_memory=False)
    assert huey.storage is storage

    @huey.task()
    def work() -> int:
        return 4

    assert work().get() == 4


def test_immediate_mode_retries_and_pipelines(clock: MockClock) -> None:
    """Immediate mode follows the same paths: retries without delay, pipelines, errors."""
    huey = MemoryHuey("imm-retry", immediate=True, clock=clock)
    attempts: list[int] = []

    @huey.task(retries=2)
    def flaky() -> int:
        attempts.append(1)
        if len(attempts) < 3:
            raise ValueError("not yet")
        return len(attempts)

    result = flaky()
    result.reset()
    assert result.get() == 3


# --- blocking reads --------------------------------------------------------------------------


def test_blocking_get_times_out_with_the_clock(huey: MemoryHuey, clock: MockClock) -> None:
    """A blocking read raises ResultTimeout (a HueyException) after ``timeout`` fake seconds."""

    @huey.task()
    def never_run() -> int:
        return 1

    result = never_run()
    with pytest.raises(ResultTimeout) as info:
        result.get(blocking=True, timeout=5)
    assert isinstance(info.value, HueyException)
    assert clock.mono == pytest.approx(5)
    assert all(delay <= 1.0 for delay in clock.sleeps)
    assert not result.is_revoked()
    with pytest.raises(ResultTimeout):
        result(blocking=True, timeout=2, revoke_on_timeout=True)
    assert result.is_revoked()


def test_blocking_get_polls_until_ready(huey: MemoryHuey, clock: MockClock) -> None:
    """A blocking read without timeout polls (backing off) until the value arrives."""

    @huey.task()
    def work() -> int:
        return 11

    result = work()
    original_sleep = clock.sleep

    def sleep_then_run(seconds: float, /) -> None:
        original_sleep(seconds)
        if len(clock.sleeps) == 20:
            run_all(huey)

    clock.sleep = sleep_then_run  # type: ignore[method-assign]  # instrument the fake clock
    assert result.get(blocking=True, backoff=2, max_delay=0.5) == 11
    assert clock.sleeps[:4] == [0.05, 0.1, 0.2, 0.4]
    assert max(clock.sleeps) == 0.5


def test_an_attempts_error_is_not_cached_when_a_retry_follows(huey: MemoryHuey) -> None:
    """The error of a retried attempt is raised once; the retry's result replaces it."""
    calls: list[int] = []

    @huey.task(retries=1)
    def flaky() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first")
        return 2

    result = flaky()
    huey.execute(next_task(huey))
    with pytest.raises(TaskException):
        result.get()
    run_all(huey)
    assert result.get() == 2


def test_reset_allows_reading_a_new_result(huey: MemoryHuey) -> None:
    """``reset`` forgets the cached value so a value stored later can be read."""

    @huey.task()
    def one() -> int:
        return 1

    result = one()
    run_all(huey)
    assert result.get() == 1
    huey.put_result(result.id, 5)
    assert result.get() == 1  # cached
    result.reset()
    assert result.get() == 5


def test_is_ready(huey: MemoryHuey) -> None:
    """``is_ready`` reports availability and caches the value."""

    @huey.task()
    def work() -> int:
        return 3

    result = work()
    assert not result.is_ready()
    run_all(huey)
    assert result.is_ready()
    assert huey.result_count() == 0
    assert result.get() == 3


def test_reschedule(huey: MemoryHuey, clock: MockClock) -> None:
    """``reschedule`` revokes the original and enqueues a copy with a new id."""

    @huey.task()
    def work(x: int) -> int:
        return x

    original = work.schedule((1,), delay=100)
    copy = original.reschedule(delay=5)
    assert copy.id != original.id
    assert original.is_revoked()
    assert [task.eta for task in huey.scheduled()] == [clock.time() + 5, clock.time() + 100]
    clock.advance(100)
    assert run_due(huey, clock) == [1, None]
    assert copy.get() == 1
    assert original.get() is None

    now_copy = work(2).reschedule()
    assert [task.id for task in huey.pending()][-1] == now_copy.id


def test_reschedule_rejects_bad_times(huey: MemoryHuey, clock: MockClock) -> None:
    """``reschedule`` refuses eta with delay, a non-datetime eta and a negative delay."""

    @huey.task()
    def work() -> None: ...

    result = work()
    with pytest.raises(ValueError, match="not both"):
        result.reschedule(eta=at(clock, 5), delay=5)
    with pytest.raises(TypeError, match="eta"):
        result.reschedule(eta=5)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="delay"):
        result.reschedule(delay=-5)
    assert len(huey) == 1
    assert not result.is_revoked()  # bad input leaves the original alone


def test_revoke_until_must_be_a_datetime(huey: MemoryHuey) -> None:
    """``revoke_until`` given as seconds raises TypeError instead of revoking for ever."""

    @huey.task()
    def work() -> None: ...

    with pytest.raises(TypeError, match="revoke_until"):
        work.revoke(revoke_until=3600)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert not work.is_revoked()


# --- task options and registration ----------------------------------------------------------


def test_context_task_receives_task(huey: MemoryHuey) -> None:
    """``context=True`` passes the running Task as ``task=``."""

    @huey.task(context=True, retries=2)
    def who_am_i(x: int, task: Task[str] | None = None) -> str:
        assert task is not None
        return f"{x}:{task.id}:{task.retries}"

    result = who_am_i(1)
    run_all(huey)
    assert result.get() == f"1:{result.id}:2"


def test_context_requires_task_parameter(huey: MemoryHuey) -> None:
    """A ``context=True`` function that cannot accept ``task`` is rejected at decoration."""
    with pytest.raises(ConfigurationError, match="task"):

        @huey.task(context=True)
        def no_task(x: int) -> int:
            return x


class CountingContext:
    """A re-usable context manager that counts entries and exits."""

    def __init__(self) -> None:
        self.entered = 0
        self.exited = 0

    def __enter__(self) -> CountingContext:
        self.entered += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.exited += 1


def test_context_task(huey: MemoryHuey) -> None:
    """``context_task(obj)`` runs each execution inside ``with obj``."""
    ctx = CountingContext()

    @huey.context_task(ctx)
    def work(x: int) -> int:
        assert ctx.entered == ctx.exited + 1
        return x

    work(1)
    work(2)
    assert run_all(huey) == [1, 2]
    assert (ctx.entered, ctx.exited) == (2, 2)


def test_context_task_as_argument(huey: MemoryHuey) -> None:
    """With ``as_argument=True`` the entered value is the first argument."""
    ctx = CountingContext()

    @huey.context_task(ctx, as_argument=True)
    def work(context: CountingContext, x: int) -> int:
        return context.entered * 10 + x

    result = work(3)
    run_all(huey)
    assert result.get() == 13
    assert ctx.exited == 1


def test_periodic_task_with_required_arguments_rejected(huey: MemoryHuey) -> None:
    """A periodic task must be callable without arguments; a context ``task`` is fine."""
    every_minute = crontab()

    def needs_when(when: datetime) -> None: ...

    with pytest.raises(ConfigurationError, match="requires when"):
        huey.periodic_task(every_minute)(cast("Callable[[], None]", needs_when))

    @huey.periodic_task(every_minute, context=True)
    def with_context(task: Task[None] | None = None) -> None: ...

    @huey.periodic_task(every_minute)
    def with_defaults(limit: int = 5, *args: int, **kwargs: int) -> None: ...

    assert len(huey.read_periodic(datetime(2026, 1, 1))) == 2


def test_duplicate_task_name(huey: MemoryHuey) -> None:
    """Registering two tasks under one name raises."""

    @huey.task(name="same")
    def one() -> None: ...

    with pytest.raises(ValueError, match="same"):

        @huey.task(name="same")
        def two() -> None: ...

    assert one.unregister()

    @huey.task(name="same")
    def three() -> None: ...


def test_async_generator_functions_rejected(huey: MemoryHuey) -> None:
    """An async generator has no single result: ConfigurationError at decoration."""
    with pytest.raises(ConfigurationError, match="async generator"):

        @huey.task()
        async def numbers() -> AsyncIterator[int]:
            yield 1


def test_unknown_task_name(huey: MemoryHuey) -> None:
    """Executing or dequeuing a message for an unregistered task raises UnknownTaskError."""

    @huey.task()
    def work() -> int:
        return 1

    stranger = dataclasses.replace(work.s(), name="elsewhere.work")
    with pytest.raises(UnknownTaskError, match=r"elsewhere\.work") as info:
        huey.execute(stranger)
    assert info.value.name == "elsewhere.work"
    raw = huey.serialize_task(stranger)
    huey.storage.enqueue(raw, None)
    with pytest.raises(UnknownTaskError) as dequeued:
        huey.dequeue()
    assert dequeued.value.data == raw  # taken off the queue, but handed back


def test_undecodable_item_is_handed_back(huey: MemoryHuey) -> None:
    """``dequeue`` of garbage raises MessageDecodeError carrying the bytes."""
    huey.storage.enqueue(b"not a message", None)
    with pytest.raises(MessageDecodeError) as info:
        huey.dequeue()
    assert info.value.data == b"not a message"
    assert len(huey) == 0


def test_unserializable_arguments(huey: MemoryHuey) -> None:
    """Arguments pickle cannot handle raise TaskSerializationError and nothing is stored."""

    @huey.task()
    def work(value: object) -> None: ...

    with pytest.raises(TaskSerializationError, match="work"):
        work(threading.Lock())
    with pytest.raises(TaskSerializationError):
        huey.enqueue(work.s(1).then(work, threading.Lock()))
    with pytest.raises(TaskSerializationError):
        work.schedule((lambda: 1,), delay=10)
    assert (len(huey), huey.scheduled_count(), huey.result_count()) == (0, 0, 0)


def test_unserializable_result_is_stored_as_error(huey: MemoryHuey) -> None:
    """A return value that cannot be serialized is reported to the reader, not lost."""

    @huey.task()
    def make_lock() -> object:
        return threading.Lock()

    result = make_lock()
    run_all(huey)
    with pytest.raises(TaskException, match="TaskSerializationError"):
        result.get()


def test_read_periodic_naive_datetime_is_huey_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """A naive datetime given to ``read_periodic`` is evaluated as is (UTC frame)."""
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        huey = MemoryHuey("periodic-frame")

        @huey.periodic_task(crontab(minute="0", hour="3"))
        def nightly() -> None: ...

        assert len(huey.read_periodic(datetime(2026, 1, 1, 3, 0))) == 1
        assert huey.read_periodic(datetime(2026, 1, 1, 4, 0)) == []
        # An epoch or an aware datetime is converted to the huey's frame (UTC here).
        three_utc = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
        assert len(huey.read_periodic(three_utc)) == 1
        assert len(huey.read_periodic(three_utc.timestamp())) == 1
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("use_zlib", [False, True])
def test_compression_round_trip(clock: MockClock, use_zlib: bool) -> None:
    """Compressed messages and results round-trip with gzip and zlib."""
    huey = MemoryHuey("zip", compression=True, use_zlib=use_zlib, clock=clock)

    @huey.task()
    def double(text: str) -> str:
        return text * 2

    result = double("abc" * 1000)
    [raw] = huey.storage.enqueued_items()
    assert len(raw) < 1000
    assert raw[:2] == (b"x\x9c" if use_zlib else b"\x1f\x8b")
    run_all(huey)
    assert result.get() == "abc" * 2000


@pytest.mark.parametrize(
    "serializer",
    [Serializer(), Serializer(compression=True), Serializer(compression=True, use_zlib=True)],
    ids=["plain", "gzip", "zlib"],
)
def test_serializer_round_trip_and_garbage(serializer: Serializer) -> None:
    """Values round-trip; undecodable bytes raise MessageDecodeError."""
    value = {"a": [1, 2.5, "x" * 100], "b": None}
    assert serializer.deserialize(serializer.serialize(value)) == value
    for garbage in (b"", b"\x1f\x8bnot gzip", b"x\x9cnot zlib", b"\x80\x05junk"):
        with pytest.raises(MessageDecodeError):
            serializer.deserialize(garbage)


def test_compression_reads_uncompressed_data() -> None:
    """Turning compression on keeps data written without it readable."""
    assert Serializer(compression=True).deserialize(Serializer().serialize([1, 2])) == [1, 2]
    with pytest.raises(ValueError, match="compression_level"):
        Serializer(compression=True, compression_level=10)


# --- configuration ---------------------------------------------------------------------------


class DictStorage:
    """A storage written from scratch, with no huey base class."""

    def __init__(self, name: str = "huey") -> None:
        self.name = name
        self.queue: list[tuple[int, int, bytes]] = []
        self.schedule: list[tuple[float, bytes]] = []
        self.data: dict[str, bytes] = {}
        self.counter = 0

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        self.counter += 1
        self.queue.append((-(priority or 0), self.counter, data))
        self.queue.sort()

    def dequeue(self) -> bytes | None:
        return self.queue.pop(0)[2] if self.queue else None

    def queue_size(self) -> int:
        return len(self.queue)

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        return [item[2] for item in self.queue[:limit]]

    def flush_queue(self) -> None:
        self.queue.clear()

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        self.schedule.append((timestamp, data))
        self.schedule.sort(key=lambda item: item[0])

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        due = [data for when, data in self.schedule if when <= timestamp]
        self.schedule = [(when, data) for when, data in self.schedule if when > timestamp]
        return due

    def schedule_size(self) -> int:
        return len(self.schedule)

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        return [data for _, data in self.schedule[:limit]]

    def flush_schedule(self) -> None:
        self.schedule.clear()

    def put_data(self, key: str, value: bytes, /) -> None:
        self.data[key] = value

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        return self.data.get(key, EmptyData)

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        return self.data.pop(key, EmptyData)

    def put_if_empty(self, key: str, value: bytes, /) -> bool:
        if key in self.data:
            return False
        self.data[key] = value
        return True

    def has_data_for_key(self, key: str, /) -> bool:
        return key in self.data

    def result_store_size(self) -> int:
        return len(self.data)

    def result_items(self) -> Mapping[str, bytes]:
        return dict(self.data)

    def flush_results(self) -> None:
        self.data.clear()


@pytest.mark.parametrize("how", ["storage", "storage_class"])
def test_user_storage_without_base_class(clock: MockClock, how: str) -> None:
    """A storage class that only has the right methods works end to end."""
    if how == "storage":
        huey: Huey = Huey("mine", storage=DictStorage(), clock=clock)
    else:
        huey = Huey("mine", storage_class=DictStorage, clock=clock)
    assert isinstance(huey.storage, DictStorage)
    assert huey.storage.name == ("mine" if how == "storage_class" else "huey")

    @huey.task(retries=1, retry_delay=5)
    def add(a: int, b: int) -> int:
        if a < 0:
            raise ValueError("negative")
        return a + b

    group = huey.enqueue(add.s(1, 2).then(add, 3))
    later = add.with_options(delay=10, priority=3)(5, 5)
    failing = add(-1, 0)
    assert run_all(huey) == [3, None, 6]
    clock.advance(10)
    assert run_due(huey, clock) == [10, None]  # priority 3 first
    assert group.get() == [3, 6]
    assert later.get() == 10
    with pytest.raises(TaskException):
        failing.get()
    with huey.lock_task("mine"):
        assert huey.is_locked("mine")
    huey.flush()
    assert huey.result_count() == 0


def test_storage_missing_methods_named(clock: MockClock) -> None:
    """``Huey(storage=obj)`` lists every method ``obj`` lacks."""

    class Partial:
        def enqueue(self, data: bytes, priority: int | None = None, /) -> None: ...

        def dequeue(self) -> bytes | None:
            return None

    with pytest.raises(ConfigurationError) as info:
        Huey("bad", storage=Partial(), clock=clock)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    message = str(info.value)
    assert "Partial" in message
    for name in ("queue_size", "put_data", "pop_data", "read_schedule", "flush_results"):
        assert name in message
    assert "dequeue," not in message


def test_storage_kwargs_with_ready_storage_rejected(clock: MockClock) -> None:
    """Storage options next to a ready storage object are refused, not ignored."""
    with pytest.raises(ConfigurationError, match="blocking"):
        Huey("bad", storage=MemoryStorage(), clock=clock, blocking=True)


@pytest.mark.parametrize(
    "options",
    [
        {"delivery": "exactly-once"},
        {"lease_timeout": 0},
        {"max_deliveries": 0},
    ],
    ids=repr,
)
def test_bad_huey_options(clock: MockClock, options: dict[str, Any]) -> None:
    """Invalid constructor options raise ConfigurationError or ValueError."""
    with pytest.raises((ConfigurationError, ValueError)):
        Huey("bad", clock=clock, **options)


def test_empty_name_rejected() -> None:
    """A Huey needs a name."""
    with pytest.raises(ConfigurationError):
        MemoryHuey("")


def test_black_hole_huey(clock: MockClock) -> None:
    """BlackHoleHuey accepts everything and keeps nothing."""
    huey = BlackHoleHuey("void", clock=clock)

    @huey.task()
    def work() -> int:
        return 1

    result = work()
    assert len(huey) == 0
    assert huey.dequeue() is None
    assert result.get() is None


def test_custom_serializer(clock: MockClock) -> None:
    """Any object with serialize/deserialize can be the serializer."""
    calls: list[str] = []

    class Recording(Serializer):
        @override
        def _serialize(self, data: object) -> bytes:
            calls.append("s")
            return super()._serialize(data)

        @override
        def _deserialize(self, data: bytes) -> object:
            calls.append("d")
            return super()._deserialize(data)

    huey = MemoryHuey("ser", serializer=Recording(), clock=clock)

    @huey.task()
    def work() -> int:
        return 2

    result = work()
    run_all(huey)
    assert result.get() == 2
    assert "s" in calls
    assert "d" in calls


def test_schedule_accepts_the_time_as_its_first_argument(
    huey: MemoryHuey, clock: MockClock
) -> None:
    """``task.schedule(60)``, ``schedule(timedelta)`` and ``schedule(datetime)`` schedule a call."""

    @huey.task()
    def ping() -> str:
        return "pong"

    ping.schedule(60)
    ping.schedule(timedelta(seconds=120))
    ping.schedule(datetime.fromtimestamp(clock.time() + 180, UTC))
    etas = sorted(task.eta for task in huey.scheduled() if task.eta is not None)
    assert etas == [clock.time() + 60, clock.time() + 120, clock.time() + 180]
    assert all(task.args == () for task in huey.scheduled())
