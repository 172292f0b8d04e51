"""asyncio: ``async def`` tasks, and ``huey.contrib.asyncio`` awaiting results.

Async tasks run on an event loop per thread (immediate mode, ``huey.execute()``, thread
workers of a real consumer); their exceptions map as a plain function's do. The
``aget_result`` tests prove that the event loop stays free while the store is read.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from typing_extensions import override

from huey import CancelExecution, Huey, MemoryHuey, Result, RetryTask, SqliteHuey, Task
from huey.constants import EmptyDataType
from huey.consumer import check_options
from huey.consumer._environment import PipeFlag, ThreadEnvironment
from huey.consumer._worker import Worker
from huey.contrib.asyncio import aget_result, aget_result_group
from huey.exceptions import (
    ConfigurationError,
    ResultTimeout,
    TaskException,
    TaskLockedException,
)
from huey.signals import SIGNAL_CANCELED, SIGNAL_LOCKED, SIGNAL_RETRYING, SIGNAL_TIMEOUT, Signal
from huey.storage import MemoryStorage
from tests.conftest import MockClock

# --- async tasks: immediate mode and huey.execute() ----------------------------------


@pytest.fixture
def immediate(clock: MockClock) -> Iterator[MemoryHuey]:
    """A ``MemoryHuey`` in immediate mode."""
    app = MemoryHuey("async-immediate", clock=clock, immediate=True)
    yield app
    app.flush()


def test_an_async_task_gives_the_awaited_value(immediate: MemoryHuey) -> None:
    """Calling an async task runs its coroutine; the result is what it returned."""

    @immediate.task()
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    assert double(21).get() == 42
    assert immediate.execute(double.s(4)) == 8


def test_call_local_runs_the_coroutine_to_completion(immediate: MemoryHuey) -> None:
    """call_local() of an async task returns the awaited value, as a worker's run would."""

    @immediate.task()
    async def greet(name: str) -> str:
        await asyncio.sleep(0)
        return f"hello {name}"

    assert greet.call_local("ann") == "hello ann"


def test_async_context_task_receives_its_task(immediate: MemoryHuey) -> None:
    """context=True passes the running Task to an async task too."""

    @immediate.task(context=True, retries=2)
    async def retries_left(task: Task[int] | None = None) -> int:
        assert task is not None
        return task.retries

    assert retries_left().get() == 2


def test_an_async_periodic_task_runs(immediate: MemoryHuey) -> None:
    """A periodic async task is enqueued by read_periodic and runs like any other."""
    ran: list[str] = []

    @immediate.periodic_task(lambda moment: True)
    async def tick() -> None:
        await asyncio.sleep(0)
        ran.append("tick")

    (task,) = immediate.read_periodic(immediate.clock.time())
    immediate.execute(task)
    assert ran == ["tick"]


def test_an_async_task_keeps_its_thread_loop_between_runs(immediate: MemoryHuey) -> None:
    """Two async tasks in one thread share one event loop (a pool bound to it survives)."""
    loops: list[asyncio.AbstractEventLoop] = []

    @immediate.task()
    async def remember_loop() -> None:
        loops.append(asyncio.get_running_loop())

    remember_loop()
    remember_loop()
    assert len(loops) == 2
    assert loops[0] is loops[1]
    assert not loops[0].is_running()
    assert not loops[0].is_closed()


def test_async_failures_map_like_plain_ones(clock: MockClock) -> None:
    """RetryTask, CancelExecution, TaskLockedException, errors: as in a plain function."""
    app = MemoryHuey("async-failures", clock=clock, immediate=True)
    signals: list[Signal] = []

    @app.signal()
    def record(signal: Signal, task: Task[Any], *extra: object) -> None:
        del task, extra
        signals.append(signal)

    attempts: list[int] = []

    @app.task()
    async def asks_for_a_retry() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise RetryTask("not yet")
        return len(attempts)

    assert asks_for_a_retry().get() == 2  # RetryTask retries without retries left
    assert SIGNAL_RETRYING in signals

    @app.task()
    async def cancels() -> None:
        raise CancelExecution("no")

    with pytest.raises(TaskException, match="CancelExecution"):
        cancels().get()
    assert SIGNAL_CANCELED in signals

    @app.task()
    async def locked() -> None:
        raise TaskLockedException("held")

    with pytest.raises(TaskException, match="TaskLockedException"):
        locked().get()
    assert SIGNAL_LOCKED in signals

    @app.task(retries=1)
    async def fails() -> None:
        raise ValueError("bad value")

    with pytest.raises(TaskException, match="bad value") as info:
        fails().get()
    assert info.value.metadata["retries"] == 0  # retried once before failing for good


def test_an_async_task_is_cut_short_at_its_timeout(immediate: MemoryHuey) -> None:
    """The event loop enforces ``timeout`` (threads included): TaskTimeout, SIGNAL_TIMEOUT."""
    signals: list[Signal] = []
    finished: list[bool] = []

    @immediate.signal(SIGNAL_TIMEOUT)
    def record(signal: Signal, task: Task[Any]) -> None:
        del task
        signals.append(signal)

    @immediate.task(timeout=0.05)
    async def too_slow() -> None:
        await asyncio.sleep(30)
        finished.append(True)

    with pytest.raises(TaskException, match="TaskTimeout"):
        too_slow().get()
    assert signals == [SIGNAL_TIMEOUT]
    assert finished == []


def test_a_timeout_error_of_the_task_itself_is_a_plain_error(immediate: MemoryHuey) -> None:
    """Only the task's own deadline becomes TaskTimeout; its own TimeoutError stays one."""

    @immediate.task(timeout=30)
    async def gives_up() -> None:
        async with asyncio.timeout(0):
            await asyncio.sleep(1)

    with pytest.raises(TaskException, match="TimeoutError"):
        gives_up().get()


def test_a_cancelled_await_inside_a_task_is_a_failure(immediate: MemoryHuey) -> None:
    """A CancelledError escaping the coroutine fails the task instead of the worker."""

    @immediate.task()
    async def awaits_a_cancelled_task() -> None:
        other = asyncio.get_running_loop().create_task(asyncio.sleep(1))
        other.cancel()
        await other

    with pytest.raises(TaskException, match="CancelledError"):
        awaits_a_cancelled_task().get()


def test_async_context_task_holds_the_context_while_the_coroutine_runs(
    immediate: MemoryHuey,
) -> None:
    """context_task() wraps the whole await, not just the creation of the coroutine."""
    events: list[str] = []

    class Tracked:
        def __enter__(self) -> str:
            events.append("enter")
            return "conn"

        def __exit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None:
            events.append("exit")

    @immediate.context_task(Tracked(), as_argument=True)
    async def query(conn: str, sql: str) -> str:
        await asyncio.sleep(0)
        events.append("query")
        return f"{conn}: {sql}"

    @immediate.context_task(Tracked())
    async def plain() -> None:
        await asyncio.sleep(0)
        events.append("plain")

    assert query("select 1").get() == "conn: select 1"
    plain()
    assert events == ["enter", "query", "exit", "enter", "plain", "exit"]


def test_lock_task_holds_the_lock_while_the_coroutine_runs(immediate: MemoryHuey) -> None:
    """lock_task() below @task() on an async function locks the run, not the call."""
    lock = immediate.lock_task("async-lock")

    @immediate.task()
    @lock
    async def locked_work() -> bool:
        await asyncio.sleep(0)
        return lock.is_locked()

    assert locked_work().get() is True
    assert not lock.is_locked()


def test_an_async_generator_function_is_refused(immediate: MemoryHuey) -> None:
    """It has no single value to store: ConfigurationError at decoration."""
    with pytest.raises(ConfigurationError, match="async generator"):

        @immediate.task()
        async def numbers() -> AsyncIterator[int]:
            yield 1


REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="-")


def test_immediate_mode_inside_a_running_loop_uses_a_helper_thread(
    immediate: MemoryHuey,
) -> None:
    """From async code the task runs on a helper thread's loop (no deadlock), with the
    caller's context variables; the caller waits for it, as immediate mode does."""
    seen: list[tuple[str, str]] = []

    @immediate.task()
    async def where() -> str:
        await asyncio.sleep(0)
        seen.append((threading.current_thread().name, REQUEST_ID.get()))
        return "done"

    @immediate.task()
    async def calls_another() -> str | None:
        return where().get()  # immediate mode inside the running loop of a task

    async def handler() -> str | None:
        REQUEST_ID.set("req-1")
        return where().get()

    assert asyncio.run(handler()) == "done"
    assert seen == [("huey-async-task", "req-1")]
    assert calls_another().get() == "done"
    assert seen[1][0] == "huey-async-task"


def test_the_helper_thread_keeps_the_timeout(immediate: MemoryHuey) -> None:
    """A timeout still cuts the task short when it runs on the helper thread."""

    @immediate.task(timeout=0.05)
    async def too_slow() -> None:
        await asyncio.sleep(30)

    async def handler() -> None:
        with pytest.raises(TaskException, match="TaskTimeout"):
            too_slow().get()

    asyncio.run(handler())


# --- async tasks in a consumer's workers -----------------------------------------------


def test_a_worker_closes_its_loop_when_it_stops(clock: MockClock) -> None:
    """The worker's loop lives from its first async task until the worker stops."""
    app = MemoryHuey("async-worker", clock=clock)
    loops: list[asyncio.AbstractEventLoop] = []

    @app.task()
    async def remember_loop() -> None:
        loops.append(asyncio.get_running_loop())

    remember_loop()
    remember_loop()
    flag = PipeFlag()
    worker = Worker(app, check_options(max_tasks=2), ThreadEnvironment(), flag, "w")
    runner = threading.Thread(target=worker.run)
    runner.start()
    runner.join(10)
    assert worker.recycled
    assert len(loops) == 2
    assert loops[0] is loops[1]
    assert loops[0].is_closed()


def _run_in_consumer(app: Huey[Any]) -> None:
    """Run the async tasks of ``app`` on two consumer worker threads."""
    loops: dict[int, set[int]] = {}
    opened: list[asyncio.AbstractEventLoop] = []
    lock = threading.Lock()

    failed: list[bool] = []

    @app.task(retries=1)
    async def square(x: int, *, fail_once: bool = False) -> int:
        loop = asyncio.get_running_loop()
        with lock:
            loops.setdefault(threading.get_ident(), set()).add(id(loop))
            if loop not in opened:
                opened.append(loop)
        await asyncio.sleep(0.001)
        if fail_once and not failed:
            failed.append(True)
            raise ValueError("first attempt fails")
        return x * x

    results = [square(i) for i in range(10)]
    retried = square(7, fail_once=True)
    consumer = app.create_consumer(workers=2, initial_delay=0.01, max_delay=0.05)
    consumer.start()
    try:
        values = [result.get(blocking=True, timeout=10) for result in results]
        assert retried.get(blocking=True, timeout=10) == 49
    finally:
        consumer.stop(graceful=True)
    assert values == [i * i for i in range(10)]
    assert all(len(ids) == 1 for ids in loops.values())  # one loop per worker thread
    assert opened
    assert all(loop.is_closed() for loop in opened)  # closed when the workers stopped


def test_async_tasks_on_memory_through_a_consumer() -> None:
    """Thread workers on the memory storage run async tasks, retries included."""
    _run_in_consumer(MemoryHuey("async-consumer-memory"))


def test_async_tasks_on_sqlite_through_a_consumer(tmp_path: Path) -> None:
    """Thread workers on SQLite run async tasks, retries included."""
    _run_in_consumer(SqliteHuey("async-consumer-sqlite", filename=str(tmp_path / "q.db")))


# --- aget_result / aget_result_group ----------------------------------------------------


@pytest.fixture
def app(clock: MockClock) -> Iterator[MemoryHuey]:
    """A ``MemoryHuey`` (not immediate) whose tasks the test runs with execute()."""
    instance = MemoryHuey("async-results", clock=clock)
    yield instance
    instance.flush()


def _run_next(app: Huey[Any]) -> None:
    task = app.dequeue()
    assert task is not None
    app.execute(task)


def test_aget_result_awaits_the_value(app: MemoryHuey) -> None:
    """The value once a worker stored it; the handle keeps it (reads are destructive)."""

    @app.task()
    async def add(a: int, b: int) -> int:
        return a + b

    result = add(1, 2)

    async def main() -> int:
        waiting = asyncio.ensure_future(aget_result(result))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        _run_next(app)
        return await waiting

    assert asyncio.run(main()) == 3
    assert result.get() == 3
    assert app.result_count() == 0


def test_aget_result_preserve_leaves_the_value_stored(app: MemoryHuey) -> None:
    """preserve=True peeks, as Result.get(preserve=True) does."""

    @app.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 3)
    _run_next(app)
    assert asyncio.run(aget_result(result, preserve=True)) == 5
    assert app.result_count() == 1


def test_aget_result_raises_the_task_error(app: MemoryHuey) -> None:
    """A task that failed for good raises TaskException."""

    @app.task()
    def broken() -> int:
        raise ValueError("broken")

    result = broken()
    _run_next(app)
    with pytest.raises(TaskException, match="broken"):
        asyncio.run(aget_result(result))


def test_aget_result_waits_past_an_error_that_will_be_retried(app: MemoryHuey) -> None:
    """The error of an attempt with a retry due is not final: the retry's value comes back."""
    attempts: list[int] = []

    @app.task(retries=1)
    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first attempt")
        return "second attempt"

    result = flaky()
    _run_next(app)  # fails; its error is stored, not final

    async def main() -> str:
        waiting = asyncio.ensure_future(aget_result(result))
        await asyncio.sleep(0.1)  # several reads see the retried attempt's error
        assert not waiting.done()
        _run_next(app)  # the retry
        return await waiting

    assert asyncio.run(main()) == "second attempt"


def test_aget_result_times_out(app: MemoryHuey, clock: MockClock) -> None:
    """ResultTimeout once ``timeout`` seconds of the huey's clock have passed."""

    @app.task()
    def never_run() -> int:
        return 1

    result = never_run()

    async def main() -> None:
        waiting = asyncio.ensure_future(aget_result(result, timeout=60))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        clock.advance(61)
        with pytest.raises(ResultTimeout, match=result.id):
            await waiting

    asyncio.run(main())
    with pytest.raises(ResultTimeout):
        asyncio.run(aget_result(result, timeout=0))


class GatedStorage(MemoryStorage):
    """A memory storage whose result reads wait until the test opens the gate.

    Were a read made on the event loop, the coroutine that opens the gate could never
    run: the read would give up after five seconds and fail the test.
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.reading = threading.Event()
        self.gate = threading.Event()
        self.gate.set()  # open while the test sets up

    def close_gate(self) -> None:
        """From now on, a read waits for ``gate``."""
        self.reading.clear()
        self.gate.clear()

    def _wait(self) -> None:
        self.reading.set()
        if not self.gate.wait(5):
            raise AssertionError("a result read blocked the event loop")

    @override
    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        self._wait()
        return super().pop_data(key)

    @override
    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        self._wait()
        return super().peek_data(key)


@pytest.mark.parametrize("preserve", [False, True])
def test_aget_result_does_not_block_the_event_loop(clock: MockClock, preserve: bool) -> None:
    """Another coroutine keeps running while a read of the store is under way."""
    storage = GatedStorage("gated")
    app = Huey("gated", clock=clock, storage=storage)

    @app.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(20, 22)
    _run_next(app)
    storage.close_gate()
    opened_by: list[str] = []

    async def other_coroutine() -> None:
        while not storage.reading.is_set():
            await asyncio.sleep(0.001)
        # Runs while the read waits in its thread; on the loop, the read would block it.
        opened_by.append("other coroutine")
        storage.gate.set()

    async def main() -> int:
        value, _ = await asyncio.gather(aget_result(result, preserve=preserve), other_coroutine())
        return value

    assert asyncio.run(main()) == 42
    assert opened_by == ["other coroutine"]


def test_aget_result_group_awaits_every_value_in_order(app: MemoryHuey) -> None:
    """The values of a map() group, in the order of the calls."""

    @app.task()
    async def square(x: int) -> int:
        return x * x

    group = square.map(range(5))
    for _ in range(5):
        _run_next(app)
    assert asyncio.run(aget_result_group(group)) == [0, 1, 4, 9, 16]


def test_aget_result_group_cancels_the_other_waits_on_failure(app: MemoryHuey) -> None:
    """A failed member raises at once; the waits for the others stop (none left running)."""

    @app.task()
    def maybe(fail: bool) -> int:
        if fail:
            raise ValueError("member failed")
        return 1

    group = maybe.map([False, True])  # the first never runs: its wait would go on for ever
    app.dequeue()
    _run_next(app)

    async def main() -> set[asyncio.Task[Any]]:
        with pytest.raises(TaskException, match="member failed"):
            await aget_result_group(group)
        current = asyncio.current_task()
        return {task for task in asyncio.all_tasks() if task is not current}

    assert asyncio.run(main()) == set()


def test_aget_result_cancelled_while_reading_keeps_the_value_on_the_handle(
    clock: MockClock,
) -> None:
    """A destructive read finishing after the wait was cancelled caches on the handle."""
    storage = GatedStorage("gated-cancel")
    app = Huey("gated-cancel", clock=clock, storage=storage)

    @app.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(1, 1)
    _run_next(app)
    storage.close_gate()

    async def main() -> None:
        waiting = asyncio.ensure_future(aget_result(result))
        while not storage.reading.is_set():
            await asyncio.sleep(0.001)
        waiting.cancel()
        storage.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(main())  # asyncio.run waits for the read's thread before returning
    storage.gate.set()
    assert app.result_count() == 0  # the read took it out of the store...
    assert result.get() == 2  # ...and left it on the handle


def test_aget_result_refuses_what_is_not_a_result(app: MemoryHuey) -> None:
    """A huey without results returns None from task calls: a TypeError says so."""
    untyped: Any = None  # what untyped code may pass
    with pytest.raises(TypeError, match="results=False"):
        asyncio.run(aget_result(untyped))
    untyped = []
    with pytest.raises(TypeError, match="ResultGroup"):
        asyncio.run(aget_result_group(untyped))


def test_aget_result_checks_its_options(app: MemoryHuey) -> None:
    """Out-of-range options raise ValueError before any read."""

    @app.task()
    def one() -> int:
        return 1

    result = one()
    group = one.map([()])
    with pytest.raises(ValueError, match="backoff"):
        asyncio.run(aget_result(result, backoff=0.5))
    with pytest.raises(ValueError, match="max_delay"):
        asyncio.run(aget_result(result, max_delay=0))
    with pytest.raises(ValueError, match="timeout"):
        asyncio.run(aget_result_group(group, timeout=-1))


def test_aget_result_reads_a_result_of_immediate_mode(immediate: MemoryHuey) -> None:
    """Immediate mode stores the value before the call returns: the first read has it."""

    @immediate.task()
    async def answer() -> int:
        return 42

    async def main() -> int:
        return await aget_result(answer())

    assert asyncio.run(main()) == 42
    assert isinstance(answer(), Result)
