"""The code examples of the API contract (``docs``: huey-api.rst), run as written.

Adaptations, and only these: ``MemoryHuey`` (with a fake clock) instead of
``RedisHuey``; type annotations on the functions; immediate mode or a hand-driven
``dequeue()``/``execute()`` instead of a consumer process; ``time.sleep`` and
``datetime.now()`` inside tasks and hooks read the huey's clock; placeholder calls
(``do_something()``, ``run_report()``...) record that they ran.
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Self, TypeVar

import pytest

from huey import CancelExecution, MemoryHuey, crontab
from huey._localtime import datetime_to_epoch
from huey.api import Result, Task
from huey.exceptions import HueyException, TaskException, TaskLockedException
from huey.signals import SIGNAL_ERROR, SIGNAL_LOCKED

from .conftest import MockClock

F = TypeVar("F", bound=Callable[..., object])


def run_all(huey: MemoryHuey) -> None:
    """Play the consumer: execute every queued task."""
    while (task := huey.dequeue()) is not None:
        huey.execute(task)


@pytest.fixture
def calls() -> list[str]:
    """What the placeholder functions of the examples record."""
    return []


# --- Huey object -------------------------------------------------------------------------


def test_demo_module(clock: MockClock, calls: list[str]) -> None:
    """demo.py: add_numbers via the "huey" way, then in immediate mode; nightly report."""
    huey = MemoryHuey("my-app", clock=clock)

    def generate_nightly_report() -> None:
        calls.append("report")

    @huey.task()
    def add_numbers(a: int, b: int) -> int:
        return a + b

    @huey.periodic_task(crontab(minute="0", hour="2"))
    def nightly_report() -> None:
        generate_nightly_report()

    res = add_numbers(1, 2)
    run_all(huey)  # the consumer
    assert res(blocking=True) == 3

    huey.immediate = True  # Tasks executed immediately.
    res = add_numbers(2, 3)
    assert res() == 5

    huey.immediate = False
    [due] = huey.read_periodic(datetime.datetime(2026, 1, 1, 2, 0))
    assert huey.read_periodic(datetime.datetime(2026, 1, 1, 2, 1)) == []
    huey.execute(due)
    assert calls == ["report"]
    assert nightly_report.name.endswith("nightly_report")


def test_immediate_property(clock: MockClock) -> None:
    """Enabling and disabling immediate mode, or at construction."""
    huey = MemoryHuey(clock=clock)

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    # Enable immediate mode. Tasks now executed synchronously.
    # Additionally, huey will now use in-memory storage.
    huey.immediate = True
    assert add(1, 2)() == 3

    # Disable immediate mode. Tasks will now be enqueued.
    huey.immediate = False
    assert add(1, 2)() is None
    assert len(huey) == 1

    huey = MemoryHuey(immediate=True, clock=clock)
    assert huey.immediate


# --- task() --------------------------------------------------------------------------------


def test_task_decorator_add(huey: MemoryHuey) -> None:
    """``res = add(1, 2)``: a Result whose repr names the task, and ``res()`` gives 3."""

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    res = add(1, 2)
    assert repr(res) == f"<Result: task {res.id}>"
    run_all(huey)
    assert res() == 3


def test_task_slow(huey: MemoryHuey) -> None:
    """``slow(10)`` returns at once; ``res(blocking=True)`` waits for 10."""

    @huey.task()
    def slow(n: float) -> float:
        huey.clock.sleep(n)  # time.sleep(n), on the fake clock
        return n

    huey.immediate = True
    res = slow(10)  # Returns immediately (here: runs immediately).
    assert res(blocking=True) == 10


def test_context_true_prints_task_id(huey: MemoryHuey, capsys: pytest.CaptureFixture[str]) -> None:
    """``print_a_task_id('hello')`` prints the message and the task's id."""

    @huey.task(context=True)  # Include task as an argument.
    def print_a_task_id(message: str, task: Task[None] | None = None) -> None:
        assert task is not None
        print("%s: %s" % (message, task.id))  # noqa: UP031  # as written in the docs

    hello = print_a_task_id("hello")
    goodbye = print_a_task_id("goodbye")
    run_all(huey)
    assert capsys.readouterr().out == f"hello: {hello.id}\ngoodbye: {goodbye.id}\n"


def test_other_decorators_evaluation_place(huey: MemoryHuey, calls: list[str]) -> None:
    """``@a`` over ``@huey.task()`` runs in the caller, ``@b`` under it in the worker."""

    def a(fn: F) -> F:
        calls.append("a applied")
        return fn

    def b(fn: Callable[[], None]) -> Callable[[], None]:
        def inner() -> None:
            calls.append("b ran")
            fn()

        return inner

    @a
    @huey.task()
    @b
    def task() -> None:
        calls.append("task ran")

    task()
    assert calls == ["a applied"]
    run_all(huey)
    assert calls == ["a applied", "b ran", "task ran"]


# --- periodic_task() ------------------------------------------------------------------------


def test_periodic_update_feeds(huey: MemoryHuey, calls: list[str]) -> None:
    """``crontab(minute='0', hour='*/3')`` runs every three hours, on the hour."""
    my_list_of_feeds = ["a", "b"]

    def fetch_feed_data(feed: str) -> None:
        calls.append(feed)

    @huey.periodic_task(crontab(minute="0", hour="*/3"))
    def update_feeds() -> None:
        for feed in my_list_of_feeds:
            fetch_feed_data(feed)

    due = [
        hour
        for hour in range(24)
        if huey.read_periodic(datetime.datetime(2026, 1, 1, hour, 0))
        and not huey.read_periodic(datetime.datetime(2026, 1, 1, hour, 1))
    ]
    assert due == [0, 3, 6, 9, 12, 15, 18, 21]
    [task] = huey.read_periodic(datetime.datetime(2026, 1, 1, 3, 0))
    huey.execute(task)
    assert calls == ["a", "b"]
    assert update_feeds.name == task.name


def test_periodic_results_not_stored_but_put_works(huey: MemoryHuey) -> None:
    """A periodic task's return value is not stored; ``huey.put`` stores data by hand."""
    some_data_to_store = {"rows": 3}

    def do_something() -> str:
        return "done"

    @huey.periodic_task(crontab(minute="*/10"))
    def my_task() -> str:
        # do some work...
        result = do_something()

        # Manually store some data in the result store.
        huey.put("my-task", some_data_to_store)
        return result

    [task] = huey.read_periodic(datetime.datetime(2026, 1, 1, 0, 20))
    assert huey.execute(task) == "done"
    assert huey.get("my-task") == {"rows": 3}
    assert huey.result_count() == 0
    my_task.revoke()
    assert my_task.is_revoked()


# --- context_task() -------------------------------------------------------------------------


class Database:
    """Stands in for ``PostgresqlDatabase(...)``: a re-usable context manager."""

    def __init__(self) -> None:
        self.connected = False
        self.uses = 0

    def __enter__(self) -> Self:
        self.connected = True
        self.uses += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.connected = False


def test_context_task(huey: MemoryHuey) -> None:
    """``context_task(db)`` is ``task()`` with ``with db:`` around the body."""
    db = Database()

    def do_something(n: int) -> tuple[int, bool]:
        return n, db.connected

    @huey.task()
    def without_context_task(n: int) -> tuple[int, bool]:
        with db:
            return do_something(n)

    @huey.context_task(db)
    def with_context_task(n: int) -> tuple[int, bool]:
        return do_something(n)

    huey.immediate = True
    assert without_context_task(1)() == (1, True)
    assert with_context_task(2)() == (2, True)
    assert db.uses == 2
    assert not db.connected


# --- hooks ---------------------------------------------------------------------------------


def test_pre_execute_sunday(huey: MemoryHuey, clock: MockClock, calls: list[str]) -> None:
    """The Sunday pre-execute hook cancels tasks on Sundays only."""

    @huey.pre_execute()
    def my_pre_execute_hook(task: Task[Any]) -> None:
        # datetime.datetime.now(), read from the huey clock
        if datetime.datetime.fromtimestamp(huey.clock.time()).weekday() == 6:
            raise CancelExecution("Sunday -- no work will be done.")

    @huey.task()
    def work() -> None:
        calls.append("worked")

    clock.now = datetime_to_epoch(datetime.datetime(2026, 1, 1, 12))  # a Thursday
    work()
    run_all(huey)
    clock.now = datetime_to_epoch(datetime.datetime(2026, 1, 4, 12))  # a Sunday
    work()
    run_all(huey)
    assert calls == ["worked"]
    assert huey.unregister_pre_execute(my_pre_execute_hook)


def test_post_execute(huey: MemoryHuey, calls: list[str]) -> None:
    """``my_post_execute_hook(task, task_value, exc)`` runs after every task."""

    def do_something() -> None:
        calls.append("post")

    @huey.post_execute()
    def my_post_execute_hook(
        task: Task[Any], task_value: object, exc: BaseException | None
    ) -> None:
        do_something()

    @huey.task()
    def work() -> int:
        return 1

    work()
    run_all(huey)
    assert calls == ["post"]
    assert huey.unregister_post_execute(my_post_execute_hook)


db_connection: sqlite3.Connection | None = None


@pytest.fixture
def reset_db_connection() -> Iterator[None]:
    """Close and forget the module's global connection after the test."""
    global db_connection
    yield
    if db_connection is not None:
        db_connection.close()
    db_connection = None


@pytest.mark.usefixtures("reset_db_connection")
def test_on_startup_db_connection(huey: MemoryHuey) -> None:
    """A startup hook opens the connection the tasks then use (sqlite for psycopg2)."""

    @huey.on_startup()
    def setup_db_connection() -> None:
        global db_connection
        db_connection = sqlite3.connect(":memory:")

    @huey.task()
    def write_data(rows: list[tuple[int]]) -> int:
        assert db_connection is not None
        cursor = db_connection.cursor()
        cursor.execute("create table if not exists t (x int)")
        cursor.executemany("insert into t values (?)", rows)
        return cursor.rowcount

    huey.run_startup_hooks()  # what each consumer worker does when it starts
    result = write_data([(1,), (2,)])
    run_all(huey)
    assert result() == 2
    assert huey.unregister_on_startup(setup_db_connection)


# --- signals -------------------------------------------------------------------------------


def test_signal_handler_for_error_and_locked(huey: MemoryHuey) -> None:
    """``task_not_run_handler(signal, task, exc=None)`` gets error (with exc) and locked."""
    seen: list[tuple[str, str | None]] = []

    @huey.signal(SIGNAL_ERROR, SIGNAL_LOCKED)
    def task_not_run_handler(signal: str, task: Task[Any], exc: Exception | None = None) -> None:
        # Do something in response to the "ERROR" or "LOCKED" signals.
        seen.append((signal, None if exc is None else type(exc).__name__))

    @huey.task()
    def fails() -> None:
        raise ValueError("x")

    @huey.task()
    @huey.lock_task("held")
    def locked() -> None: ...

    fails()
    with huey.lock_task("held"):
        locked()
        run_all(huey)
    assert seen == [(SIGNAL_ERROR, "ValueError"), (SIGNAL_LOCKED, None)]
    huey.disconnect_signal(task_not_run_handler)


# --- lock_task() ----------------------------------------------------------------------------


def test_lock_task_examples(huey: MemoryHuey, calls: list[str]) -> None:
    """``generate_report`` under a lock decorator; ``backup`` with the lock as a context."""

    def run_report() -> None:
        calls.append("report")

    def do_code_backup() -> None:
        calls.append("code")

    def do_db_backup() -> None:
        calls.append("db")

    @huey.periodic_task(crontab(minute="*/5"))
    @huey.lock_task("reports-lock")  # Goes *after* the task decorator.
    def generate_report() -> None:
        # If a report takes longer than 5 minutes to generate, we do
        # not want to kick off another until the previous invocation
        # has finished.
        run_report()

    @huey.periodic_task(crontab(minute="0"))
    def backup() -> None:
        # Generate backup of code
        do_code_backup()

        # Generate database backup. Since this may take longer than an
        # hour, we want to ensure that it is not run concurrently.
        with huey.lock_task("db-backup"):
            do_db_backup()

    tasks = huey.read_periodic(datetime.datetime(2026, 1, 1, 1, 0))
    assert sorted(task.name for task in tasks) == sorted([generate_report.name, backup.name])
    for task in tasks:
        huey.execute(task)
    assert sorted(calls) == ["code", "db", "report"]

    calls.clear()
    with huey.lock_task("reports-lock"), huey.lock_task("db-backup"):
        for task in huey.read_periodic(datetime.datetime(2026, 1, 1, 2, 0)):
            huey.execute(task)
    assert calls == ["code"]  # the report and the db backup found their locks held
    with pytest.raises(TaskLockedException), huey.lock_task("x"), huey.lock_task("x"):
        pass


# --- put / get --------------------------------------------------------------------------------


def test_put_and_get(huey: MemoryHuey) -> None:
    """``put`` stores, ``get`` reads destructively unless ``peek=True``."""
    huey.put("key", "data")
    assert huey.get("key", peek=True) == "data"
    assert huey.get("key") == "data"
    assert huey.get("key") is None


# --- TaskWrapper ------------------------------------------------------------------------------


def test_schedule_with_eta_and_delay(huey: MemoryHuey, calls: list[str]) -> None:
    """``check_feeds.schedule(args=..., eta=one_hour)`` and the equivalent ``delay=3600``."""
    url1, url2, url3 = "u1", "u2", "u3"

    @huey.task()
    def check_feeds(a: str, b: str, c: str) -> None:
        calls.extend([a, b, c])

    one_hour = datetime.datetime.now() + datetime.timedelta(hours=1)

    # Schedule the task to be run in an hour. It will be called with
    # three arguments.
    res = check_feeds.schedule(args=(url1, url2, url3), eta=one_hour)

    # Equivalent, but uses delay rather than eta.
    res2 = check_feeds.schedule(args=(url1, url2, url3), delay=3600)

    by_id = {task.id: task for task in huey.scheduled()}
    assert by_id[res.id].eta == datetime_to_epoch(one_hour)
    assert by_id[res2.id].eta == huey.clock.time() + 3600
    assert len(huey) == 0
    later = max(datetime_to_epoch(one_hour), huey.clock.time() + 3600)
    for task in huey.read_schedule(later):
        huey.execute(task, later)
    assert calls == ["u1", "u2", "u3"] * 2


def test_task_wrapper_revoke_examples(huey: MemoryHuey, clock: MockClock, calls: list[str]) -> None:
    """``send_emails.revoke(...)``: skip the next run, revoke for ever, revoke for 24 hours."""

    @huey.task()
    def send_emails() -> None:
        calls.append("sent")

    # Skip the next execution
    send_emails.revoke(revoke_once=True)
    send_emails()
    send_emails()
    run_all(huey)
    assert calls == ["sent"]

    # Prevent any invocation from executing.
    send_emails.revoke()
    send_emails()
    run_all(huey)
    assert calls == ["sent"]
    assert send_emails.restore()

    # Prevent any invocation for 24 hours.
    tomorrow = datetime.datetime.now() + datetime.timedelta(days=1)
    send_emails.revoke(revoke_until=tomorrow)
    clock.now = datetime_to_epoch(tomorrow) - 60
    assert send_emails.is_revoked()
    send_emails()
    run_all(huey)
    assert calls == ["sent"]
    clock.now = datetime_to_epoch(tomorrow) + 1
    assert not send_emails.is_revoked()
    send_emails()
    run_all(huey)
    assert calls == ["sent", "sent"]


def test_call_local_and_s(huey: MemoryHuey) -> None:
    """``add.call_local(1, 2)`` is 3; ``add.s(1, 2)`` + ``enqueue`` equals ``add(1, 2)``."""

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    assert add.call_local(1, 2) == 3

    result = add(1, 2)

    # Is equivalent to:
    task = add.s(1, 2)
    result2 = huey.enqueue(task)
    run_all(huey)
    assert (result(), result2()) == (3, 3)


def test_pipeline_example(huey: MemoryHuey, capsys: pytest.CaptureFixture[str]) -> None:
    """The add pipeline prints ``[3, 6, 10, 15]``."""
    huey.immediate = True

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    add_task = add.s(1, 2)  # Represent task invocation.
    pipeline = (
        add_task.then(add, 3)  # Call add() with previous result and 3.
        .then(add, 4)  # etc...
        .then(add, 5)
    )

    results = huey.enqueue(pipeline)

    # Print results of above pipeline.
    print(results.get(blocking=True))
    assert capsys.readouterr().out == "[3, 6, 10, 15]\n"

    result_group = huey.enqueue(pipeline)
    print(result_group.get(blocking=True))
    assert capsys.readouterr().out == "[3, 6, 10, 15]\n"


def test_map_example(huey: MemoryHuey) -> None:
    """``add.map([(i, i * i) ...])`` resolves to ``[0, 2, 6, ..., 90]``."""
    huey.immediate = True

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    rg = add.map([(i, i * i) for i in range(10)])

    # Resolve all results.
    assert rg.get(blocking=True) == [0, 2, 6, 12, 20, 30, 42, 56, 72, 90]


# --- Task ---------------------------------------------------------------------------------------


def test_task_refresher(huey: MemoryHuey, capsys: pytest.CaptureFixture[str]) -> None:
    """``ret = add(1, 2)`` and ``huey.enqueue(add.s(1, 2))`` both print 3."""
    huey.immediate = True

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    ret = add(1, 2)
    print(ret.get(blocking=True))  # "3".

    # The above two lines are equivalent to:
    task_instance = add.s(1, 2)  # Create a Task instance.
    ret = huey.enqueue(task_instance)  # Enqueue the queue task.
    print(ret.get(blocking=True))  # "3".
    assert capsys.readouterr().out == "3\n3\n"


def test_fib_pipeline(huey: MemoryHuey, capsys: pytest.CaptureFixture[str]) -> None:
    """A tuple result is passed as ``*args``: ``[(2, 1), (3, 2), (5, 3)]``."""
    huey.immediate = True

    @huey.task()
    def fib(a: int, b: int = 1) -> tuple[int, int]:
        a, b = a + b, a
        return (a, b)  # returns tuple, which is passed as *args

    pipe = fib.s(1).then(fib).then(fib)
    result_group = huey.enqueue(pipe)

    print(result_group.get(blocking=True))
    assert capsys.readouterr().out == "[(2, 1), (3, 2), (5, 3)]\n"


# --- Result -------------------------------------------------------------------------------------


def test_result_examples(huey: MemoryHuey) -> None:
    """``res()`` is 3; a slow task reads ``None``, times out, then gives 300."""

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    res = add(1, 2)
    assert repr(res) == f"<Result: task {res.id}>"
    run_all(huey)
    assert res() == 3  # Fetch the result of this task.

    res = add(100, 200)  # Imagine this is very slow.
    assert res.get() is None  # Data is not ready, so None is returned.
    assert res() is None  # We can omit ".get", it works the same way.
    with pytest.raises(HueyException):
        res(blocking=True, timeout=5)  # Block for up to 5 seconds
    run_all(huey)
    assert res(blocking=True) == 300  # No timeout, will block until it gets data.


def test_result_of_failed_task(huey: MemoryHuey) -> None:
    """Reading the result of ``fails()`` raises TaskException naming the error."""

    @huey.task()
    def fails() -> None:
        raise Exception("I failed")

    res = fails()
    run_all(huey)
    with pytest.raises(TaskException) as info:
        res()  # raises a TaskException!
    assert str(info.value) == "Exception('I failed')"


def test_result_revoke_example(huey: MemoryHuey) -> None:
    """A task scheduled for an hour from now is revoked and never runs."""
    ran: list[int] = []

    @huey.task()
    def add(a: int, b: int) -> int:
        ran.append(1)
        return a + b

    one_hour = datetime.datetime.now() + datetime.timedelta(hours=1)

    # Run this command in an hour
    res: Result[int] = add.schedule((1, 2), eta=one_hour)

    # I changed my mind, do not run it after all.
    res.revoke()

    for task in huey.read_schedule(datetime_to_epoch(one_hour)):
        huey.execute(task, datetime_to_epoch(one_hour))
    assert ran == []
    assert res.get() is None
