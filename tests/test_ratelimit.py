"""Rate limits (``huey.rate_limit``) on the memory, SQLite and file storages.

The Redis storages run the same behaviour through their scripts in
``tests/redis/test_redis_ratelimit.py``. Windows roll over with a :class:`MockClock`:
the default start (2026-01-01 00:00:00 UTC) is a multiple of every ``per`` used here,
so the first window starts at the clock's start.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from huey import Huey, MemoryHuey, Task
from huey import _delivery as delivery
from huey.api import RateLimit
from huey.exceptions import (
    ConfigurationError,
    HueyException,
    RateLimitExceeded,
    TaskException,
)
from huey.protocols import Storage, SupportsCounters
from huey.signals import (
    SIGNAL_ENQUEUED,
    SIGNAL_ERROR,
    SIGNAL_EXECUTING,
    SIGNAL_RATE_LIMITED,
    SIGNAL_RETRYING,
    SIGNAL_SCHEDULED,
    Signal,
)
from huey.testing import MockClock
from tests.conftest import LOCAL_STORAGES
from tests.ratelimit_helpers import admitted, hammer
from tests.storage.base_only import BaseOnlyStorage

START = MockClock().time()


@pytest.fixture
def clock() -> MockClock:
    """A fake clock at the start of a window."""
    return MockClock()


@pytest.fixture
def huey(storage: Storage, clock: MockClock) -> Huey:
    """A Huey on ``storage``, driven by ``clock``."""
    return Huey("rl", storage=storage, clock=clock)


class SignalLog:
    """Records every signal's name."""

    def __init__(self) -> None:
        self.names: list[Signal] = []

    def __call__(self, signal: Signal, task: Task[Any], *extra: object) -> None:
        self.names.append(signal)


def counter(huey: Huey, key: str) -> int:
    """The value of the counter ``key`` (0 for a counter that does not exist)."""
    storage = huey.storage
    assert isinstance(storage, SupportsCounters)
    return storage.incr(key, 0)


def run_next(huey: Huey) -> delivery.DeliveryReport:
    """Run the next queued task through the delivery flow a worker uses."""
    report = delivery.process_next(huey)
    assert report.status != "empty", "the queue is empty"
    return report


def move_due(huey: Huey, clock: MockClock, now: float) -> int:
    """The scheduler's job at ``now`` (the clock is set to it): queue the due tasks."""
    clock.now = now
    due = huey.read_schedule(now)
    for task in due:
        huey.enqueue(task)
    return len(due)


# --- the limit itself ------------------------------------------------------------------


def test_admits_limit_calls_per_window(huey: Huey, clock: MockClock) -> None:
    """``limit`` entries pass in a window; the next one raises until the window ends."""
    rate = huey.rate_limit("api", 3, 60)
    assert admitted(rate, 3) == 3
    clock.advance(20)
    with pytest.raises(RateLimitExceeded) as info:
        rate.acquire()
    assert (info.value.key, info.value.delay, info.value.retry) == ("api", 40.0, True)
    clock.advance(39.5)
    assert admitted(rate, 1) == 0
    clock.advance(0.5)  # the next window starts
    assert admitted(rate, 5) == 3


def test_windows_are_aligned_to_the_epoch(huey: Huey, clock: MockClock) -> None:
    """A window covers ``[w * per, (w + 1) * per)``, whenever the first call comes."""
    clock.advance(50)
    rate = huey.rate_limit("aligned", 1, 60)
    rate.acquire()
    with pytest.raises(RateLimitExceeded) as info:
        rate.acquire()
    assert info.value.delay == 10.0
    clock.advance(10)
    rate.acquire()


def test_same_name_shares_the_count(huey: Huey) -> None:
    """Rate limits of one application with the same name count together."""
    first = huey.rate_limit("shared", 2, 60)
    second = huey.rate_limit("shared", 2, 60)
    other = huey.rate_limit("other", 2, 60)
    first.acquire()
    second.acquire()
    with pytest.raises(RateLimitExceeded):
        first.acquire()
    other.acquire()


def test_counter_keys_name_the_window(huey: Huey, clock: MockClock) -> None:
    """Each window counts under ``<app>.rl.<name>.<window>``; calls over the limit count too."""
    rate = huey.rate_limit("keys", 1, 60)
    window = int(START // 60)
    assert admitted(rate, 3) == 1
    assert counter(huey, f"rl.rl.keys.{window}") == 3
    assert rate.key == "rl.rl.keys"


def test_late_caller_cannot_disturb_the_new_window(storage: Storage) -> None:
    """A caller whose clock is still in the old window counts there, never in the new one.

    The original huey reset one shared counter when it saw the window change, so a
    caller a moment behind could reset (or add to) the count of the window that had
    just begun.
    """
    late_clock, clock = MockClock(START + 59), MockClock(START + 60)
    late = Huey("rl", storage=storage, clock=late_clock).rate_limit("api", 2, 60)
    rate = Huey("rl", storage=storage, clock=clock).rate_limit("api", 2, 60)
    assert admitted(rate, 2) == 2
    assert admitted(late, 1) == 1  # the old window had room left
    assert admitted(rate, 1) == 0
    assert rate.current_usage() == 2


def test_old_windows_counters_are_deleted(huey: Huey, clock: MockClock) -> None:
    """The first call of a window deletes the counter of the last window that had one."""
    rate = huey.rate_limit("tidy", 5, 60)
    first = int(START // 60)
    rate.acquire()
    clock.advance(10 * 60)  # nine windows without calls
    rate.acquire()
    assert counter(huey, f"rl.rl.tidy.{first}") == 0
    assert counter(huey, f"rl.rl.tidy.{first + 10}") == 1
    assert huey.get_raw("rl.rl.tidy.w", peek=True) == str(first + 10).encode()


def test_current_usage_and_reset(huey: Huey, clock: MockClock) -> None:
    """``current_usage`` counts admitted calls; ``reset`` frees the current window."""
    rate = huey.rate_limit("usage", 2, 60)
    assert rate.current_usage() == 0
    assert admitted(rate, 5) == 2
    assert rate.current_usage() == 2
    rate.reset()
    assert rate.current_usage() == 0
    assert admitted(rate, 5) == 2
    clock.advance(60)
    assert rate.current_usage() == 0


def test_current_usage_leaves_no_counter_behind(huey: Huey, clock: MockClock) -> None:
    """Reading the usage of a window without calls creates a counter that is cleaned up."""
    rate = huey.rate_limit("peek", 1, 60)
    window = int(START // 60)
    assert rate.current_usage() == 0
    clock.advance(60)
    rate.acquire()
    assert counter(huey, f"rl.rl.peek.{window}") == 0
    assert huey.get_raw("rl.rl.peek.w", peek=True) == str(window + 1).encode()


def test_reset_removes_the_marker_and_old_counter(huey: Huey, clock: MockClock) -> None:
    """After ``reset`` no counter or marker of the rate limit is left."""
    rate = huey.rate_limit("gone", 1, 60)
    rate.acquire()
    clock.advance(30)
    rate.reset()
    assert not huey.storage.has_data_for_key("rl.rl.gone.w")
    assert counter(huey, f"rl.rl.gone.{int(START // 60)}") == 0


def test_per_as_timedelta_and_fractions(huey: Huey, clock: MockClock) -> None:
    """``per`` may be a ``timedelta`` or a fraction of a second."""
    minute = huey.rate_limit("td", 1, timedelta(minutes=1))
    assert minute.per == 60.0
    fast = huey.rate_limit("fast", 1, 0.5)
    fast.acquire()
    with pytest.raises(RateLimitExceeded) as info:
        fast.acquire()
    assert info.value.delay == 0.5
    clock.advance(0.5)
    fast.acquire()


def test_context_manager(huey: Huey) -> None:
    """``with huey.rate_limit(...)`` counts one call per block and raises over the limit."""
    ran: list[int] = []
    for number in range(3):
        try:
            with huey.rate_limit("block", 2, 60) as rate:
                assert isinstance(rate, RateLimit)
                ran.append(number)
        except RateLimitExceeded:
            ran.append(-1)
    assert ran == [0, 1, -1]


def test_decorated_plain_function_keeps_its_name(huey: Huey) -> None:
    """The decorator works on any function and keeps its metadata."""

    @huey.rate_limit("plain", 1, 60)
    def greet(name: str) -> str:
        """Say hello."""
        return f"hello {name}"

    assert greet("a") == "hello a"
    assert (greet.__name__, greet.__doc__) == ("greet", "Say hello.")
    with pytest.raises(RateLimitExceeded):
        greet("b")


# --- refusing bad input early -----------------------------------------------------------


def test_storage_without_counters_is_refused() -> None:
    """A storage lacking ``SupportsCounters`` fails at ``rate_limit()``, naming it."""
    huey = Huey("nothing", storage=BaseOnlyStorage("nothing"))
    with pytest.raises(ConfigurationError, match=r"SupportsCounters.*BaseOnlyStorage"):
        huey.rate_limit("api", 1, 60)


def test_rate_limit_above_task_is_refused(huey: Huey) -> None:
    """Above ``@huey.task()`` it would limit enqueues: refused when decorating."""

    @huey.task()
    def fetch() -> None: ...

    with pytest.raises(ConfigurationError, match="below"):
        huey.rate_limit("api", 1, 60)(fetch)


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("", 1, 60), ValueError, "name must not be empty"),
        ((b"api", 1, 60), TypeError, "name must be a str"),
        (("api", 0, 60), ValueError, "limit must be at least 1"),
        (("api", 1.5, 60), TypeError, "limit must be an int"),
        (("api", True, 60), TypeError, "limit must be an int"),
        (("api", 1, 0), ValueError, "per must be more than 0"),
        (("api", 1, -5), ValueError, "per"),
        (("api", 1, "60"), TypeError, "per must be a number of seconds"),
        (("api", 1, float("inf")), ValueError, "per must be a finite"),
        (("api", 1, 60, "yes"), TypeError, "retry must be a bool"),
    ],
)
def test_bad_arguments_are_refused(
    huey: Huey, args: tuple[object, ...], error: type[Exception], match: str
) -> None:
    """Each argument is checked when the rate limit is made, with a message naming it."""
    make: Callable[..., RateLimit] = huey.rate_limit
    with pytest.raises(error, match=match):
        make(*args)


# --- the exception -----------------------------------------------------------------------


def test_exception_is_a_picklable_huey_exception() -> None:
    """``RateLimitExceeded(key, delay, retry=True)`` survives pickling with its attributes."""
    exc = RateLimitExceeded("api", 12.5)
    assert isinstance(exc, HueyException)
    assert exc.retry is True
    copy = pickle.loads(pickle.dumps(RateLimitExceeded("api", 12.5, retry=False)))
    assert isinstance(copy, RateLimitExceeded)
    assert (copy.key, copy.delay, copy.retry) == ("api", 12.5, False)
    assert str(exc) == "rate limit 'api' exceeded: calls are admitted again in 12.5s"
    assert repr(copy) == "RateLimitExceeded('api', 12.5, False)"


def test_public_names() -> None:
    """``RateLimit`` is in ``huey.api`` and ``RateLimitExceeded`` in ``huey.exceptions``,
    as in the original huey."""
    from huey import api, exceptions

    assert "RateLimit" in api.__all__
    assert "RateLimitExceeded" in exceptions.__all__


# --- rate-limited tasks -----------------------------------------------------------------


def test_rate_limited_task_is_rescheduled_without_using_a_retry(
    huey: Huey, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Over the limit the task goes to the next window's start with its retries intact;
    nothing is stored as its result meanwhile, and the log has one INFO line."""
    log = SignalLog()
    huey.signal()(log)

    @huey.task(retries=2)
    @huey.rate_limit("api", 1, 60)
    def fetch(page: int) -> int:
        return page * 10

    first, second = fetch(1), fetch(2)
    assert run_next(huey).status == "completed"
    log.names.clear()
    clock.advance(15)
    with caplog.at_level(logging.DEBUG, logger="huey"):
        report = run_next(huey)
    assert report.status == "completed"  # the message is done: a new one is scheduled
    assert log.names == [SIGNAL_EXECUTING, SIGNAL_RATE_LIMITED, SIGNAL_RETRYING, SIGNAL_SCHEDULED]
    [retry] = huey.scheduled()
    assert retry.id == second.id
    assert retry.retries == 2
    assert retry.eta == START + 60
    assert not huey.storage.has_data_for_key(second.id)
    assert second.get() is None
    records = [r for r in caplog.records if "not run" in r.getMessage()]
    assert [(r.levelno, r.exc_info) for r in records] == [(logging.INFO, None)]
    assert "rate limit 'api' exceeded" in records[0].getMessage()

    assert move_due(huey, clock, START + 59.9) == 0
    assert move_due(huey, clock, START + 60) == 1
    assert run_next(huey).status == "completed"
    assert (first.get(), second.get()) == (10, 20)


def test_forced_retries_do_not_run_out(huey: Huey, clock: MockClock) -> None:
    """A task without retries is rescheduled window after window until admitted."""

    @huey.task()
    @huey.rate_limit("busy", 1, 60)
    def ping() -> str:
        return "pong"

    hog = huey.rate_limit("busy", 1, 60)
    result = ping()
    for window in range(1, 4):
        hog.acquire()  # someone else takes the window's only slot first
        run_next(huey)
        [retry] = huey.scheduled()
        assert (retry.retries, retry.eta) == (0, START + 60 * window)
        clock.now = START + 60 * window
        move_due(huey, clock, clock.time())
    run_next(huey)
    assert result.get() == "pong"


def test_retry_false_fails_and_stores_the_exception(huey: Huey) -> None:
    """With ``retry=False`` a task without retries fails; its result is the exception."""
    log = SignalLog()
    huey.signal()(log)

    @huey.task()
    @huey.rate_limit("strict", 1, 60, retry=False)
    def send() -> None: ...

    send()
    result = send()
    run_next(huey)
    log.names.clear()
    run_next(huey)
    assert log.names == [SIGNAL_EXECUTING, SIGNAL_RATE_LIMITED]
    assert huey.scheduled_count() == 0
    with pytest.raises(TaskException, match="RateLimitExceeded") as info:
        result.get()
    assert info.value.metadata["error"] == "RateLimitExceeded('strict', 60.0, False)"


def test_retry_false_uses_the_tasks_retries(huey: Huey, clock: MockClock) -> None:
    """With ``retry=False`` a task with retries left is retried at the next window, using
    one up, and nothing is stored until it succeeds or gives up."""

    @huey.task(retries=1)
    @huey.rate_limit("strict", 1, 60, retry=False)
    def send() -> str:
        return "sent"

    huey.rate_limit("strict", 1, 60).acquire()
    result = send()
    run_next(huey)
    [retry] = huey.scheduled()
    assert (retry.retries, retry.eta) == (0, START + 60)
    assert not huey.storage.has_data_for_key(result.id)
    clock.advance(60)
    huey.rate_limit("strict", 1, 60).acquire()
    move_due(huey, clock, clock.time())
    run_next(huey)
    assert huey.scheduled_count() == 0
    with pytest.raises(TaskException, match="RateLimitExceeded"):
        result.get()


def test_context_manager_inside_a_task(huey: Huey, clock: MockClock) -> None:
    """A ``with`` block in the task body limits just that part, and reschedules the task."""
    calls: list[str] = []

    @huey.task()
    def sync(account: str) -> str:
        calls.append(f"prepare {account}")
        with huey.rate_limit("partner-api", 1, 60):
            calls.append(f"call {account}")
        return account

    results = [sync("a"), sync("b")]
    run_next(huey)
    run_next(huey)
    assert calls == ["prepare a", "call a", "prepare b"]
    clock.advance(60)
    move_due(huey, clock, clock.time())
    run_next(huey)
    assert calls[-2:] == ["prepare b", "call b"]
    assert [r.get() for r in results] == ["a", "b"]


def test_execute_reschedules_too(clock: MockClock) -> None:
    """``huey.execute(task)`` (what an at-most-once worker calls) reschedules as well."""
    huey = MemoryHuey("exec", clock=clock)
    log = SignalLog()
    huey.signal()(log)

    @huey.task()
    @huey.rate_limit("api", 1, 60)
    def work() -> int:
        return 1

    work()
    work()
    first, second = huey.dequeue(), huey.dequeue()
    assert first is not None
    assert second is not None
    assert huey.execute(first) == 1
    assert huey.execute(second) is None
    assert SIGNAL_ERROR not in log.names
    assert log.names[-3:] == [SIGNAL_RATE_LIMITED, SIGNAL_RETRYING, SIGNAL_SCHEDULED]
    assert [task.id for task in huey.scheduled()] == [second.id]


def test_immediate_mode_schedules_the_retry(clock: MockClock) -> None:
    """In immediate mode a refused call is not run; it waits in the schedule."""
    huey = MemoryHuey("immediate", immediate=True, clock=clock)
    log = SignalLog()
    huey.signal()(log)

    @huey.task()
    @huey.rate_limit("api", 1, 60)
    def work(n: int) -> int:
        return n

    assert work(1)() == 1
    log.names.clear()
    assert work(2)() is None
    assert log.names == [
        SIGNAL_ENQUEUED,
        SIGNAL_EXECUTING,
        SIGNAL_RATE_LIMITED,
        SIGNAL_RETRYING,
        SIGNAL_SCHEDULED,
    ]
    assert huey.scheduled_count() == 1


# --- concurrency ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_threads_get_exactly_limit_per_window(kind: str, tmp_path: Path) -> None:
    """Eight threads hammering one window get exactly ``limit`` admissions, window after
    window, and each rollover leaves only the current window's counter."""
    clock = MockClock()
    huey = Huey("rl", storage=LOCAL_STORAGES[kind](tmp_path), clock=clock)
    rate = huey.rate_limit("hammered", 7, 60)
    for window in range(3):
        assert hammer(rate, threads=8, attempts=5) == 7, f"window {window}"
        assert rate.current_usage() == 7
        clock.advance(60)
    last = int(START // 60) + 2
    assert counter(huey, f"rl.rl.hammered.{last - 1}") == 0
    assert counter(huey, f"rl.rl.hammered.{last}") == 40
