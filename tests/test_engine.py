"""The engine under the façade: what a run returns, where its writes go, who listens.

These pin the shape of the shell: the runner reports the core's own outcome types, a
sink decides whether writes happen now or at the settle, the registry refuses what the
storage cannot do, and the constructors refuse keywords they do not know.
"""

from __future__ import annotations

import os
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from huey import BlackHoleHuey, CancelExecution, FileHuey, Huey, MemoryHuey, SqliteHuey
from huey import _delivery as delivery
from huey._core import Defer, Drop, Failure, Success
from huey._engine import Settlement, WriteThrough
from huey.constants import EmptyData
from huey.exceptions import ConfigurationError
from huey.signals import ALL_SIGNALS
from huey.storage import MemoryStorage
from tests.conftest import MockClock


def _run(huey: MemoryHuey, task_id: str, now: float) -> object:
    """Run the task ``task_id`` taken from the queue through the engine's runner."""
    engine = huey.engine
    task = next(t for t in huey.pending() if t.id == task_id)
    return engine.runner.run(task, now, None, WriteThrough(engine.ports))


def test_runner_returns_success_with_the_value(huey: MemoryHuey, clock: MockClock) -> None:
    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(1, 2)
    assert _run(huey, result.id, clock.time()) == Success(3)
    assert result.get() == 3


def test_runner_returns_failure_for_an_error(huey: MemoryHuey, clock: MockClock) -> None:
    @huey.task()
    def boom() -> None:
        raise ValueError("no")

    outcome = _run(huey, boom().id, clock.time())
    assert isinstance(outcome, Failure)
    assert outcome.signal == "error"
    assert isinstance(outcome.exception, ValueError)


def test_runner_defers_a_task_that_is_not_due(huey: MemoryHuey, clock: MockClock) -> None:
    @huey.task()
    def later() -> None: ...

    # A message that reaches a worker before its eta goes (back) to the schedule.
    eta_task = later.with_options(delay=timedelta(seconds=30)).s()
    deferred = huey.engine.runner.run(eta_task, clock.time(), None, WriteThrough(huey.engine.ports))
    assert deferred == Defer(clock.time() + 30)
    assert huey.scheduled_count() == 1


def test_runner_drops_revoked_and_cancelled_tasks(huey: MemoryHuey, clock: MockClock) -> None:
    ran: list[str] = []

    @huey.task()
    def job(name: str) -> None:
        ran.append(name)

    revoked = job("revoked")
    revoked.revoke()
    assert _run(huey, revoked.id, clock.time()) == Drop("revoked")

    @huey.pre_execute()
    def cancel(task: object) -> None:
        raise CancelExecution

    assert _run(huey, job("cancelled").id, clock.time()) == Drop("canceled")
    assert ran == []


def test_runner_reports_an_interruption(huey: MemoryHuey, clock: MockClock) -> None:
    @huey.task()
    def interrupted() -> None:
        raise KeyboardInterrupt

    outcome = _run(huey, interrupted().id, clock.time())
    assert isinstance(outcome, Failure)
    assert outcome.signal == "interrupted"


def test_runner_rejects_flags_of_the_wrong_shape(huey: MemoryHuey, clock: MockClock) -> None:
    @huey.task()
    def job() -> None: ...

    with pytest.raises(ValueError, match="2 flags"):
        huey.engine.runner.run(job.s(), clock.time(), [None], WriteThrough(huey.engine.ports))


def test_a_settlement_collects_the_writes_instead_of_storing_them(
    huey: MemoryHuey, clock: MockClock
) -> None:
    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    task = add.s(2, 3)
    sink = Settlement()
    assert huey.engine.runner.run(task, clock.time(), None, sink) == Success(5)
    assert [key for key, _ in sink.results] == [task.id]
    assert sink.discarded == [task.revoke_id]
    assert huey.storage.peek_data(task.id) is EmptyData  # nothing written yet
    sink.write_to(WriteThrough(huey.engine.ports))
    assert huey.result(task.id) == 5


def test_the_delivery_flow_adds_no_receiver_of_its_own(huey: MemoryHuey) -> None:
    """An interrupted run is read from the outcome; the user's receivers stay the only ones."""
    calls: list[int] = []

    @huey.task()
    def job() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt

    job()
    assert delivery.process_next(huey).status == "released"
    assert delivery.process_next(huey).status == "completed"
    assert all(receivers == [] for receivers in huey.engine.events.receivers.values())
    assert set(huey.engine.events.receivers) == set(ALL_SIGNALS)


def test_the_registry_refuses_priorities_the_storage_cannot_keep() -> None:
    storage = MemoryStorage("fifo")
    storage.priority = False  # the original huey's way for a storage to say so
    app = Huey("fifo", storage=storage)
    with pytest.raises(ConfigurationError, match="does not support task priorities"):

        @app.task(priority=5)
        def urgent() -> None: ...

    @app.task()
    def normal() -> None: ...

    assert normal.name in app.engine.registry


@pytest.mark.parametrize(
    "make",
    [
        lambda: MemoryHuey("x", reslts=False),  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
        lambda: BlackHoleHuey("x", filename="x.db"),  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
        lambda: Huey("x", result=False),
    ],
    ids=["memory", "blackhole", "default-sqlite"],
)
def test_an_unknown_keyword_is_a_type_error_listing_the_valid_ones(make: object) -> None:
    assert callable(make)
    with pytest.raises(TypeError, match=r"unexpected keyword argument.*valid options: .*results"):
        make()


def test_sqlite_and_file_hueys_name_the_unknown_keyword(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="'filname'"):
        SqliteHuey("x", filname=tmp_path / "x.db")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    with pytest.raises(TypeError, match=r"'level'.*levels"):
        FileHuey("x", path=tmp_path, level=2)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    assert not os.listdir(tmp_path)  # refused before anything was created


def test_an_explicit_storage_class_is_checked_against_its_signature() -> None:
    class Strict(MemoryStorage):
        def __init__(self, name: str = "huey", *, depth: int = 1) -> None:
            super().__init__(name)
            self.depth = depth

    app = Huey("x", storage_class=Strict, depth=3)
    assert isinstance(app.storage, Strict)
    assert app.storage.depth == 3
    with pytest.raises(TypeError, match=r"'deep'.*depth"):
        Huey("x", storage_class=Strict, deep=3)
    # A storage class taking **kwargs decides for itself (MemoryStorage ignores them).
    assert isinstance(Huey("x", storage_class=MemoryStorage, anything=1).storage, MemoryStorage)


def test_memory_storage_follows_the_applications_clock(clock: MockClock) -> None:
    """A lock's ttl on MemoryHuey (and in immediate mode) moves with an injected clock."""
    app = MemoryHuey("ttl", clock=clock)
    lock = app.lock_task("nightly", ttl=60)
    lock.acquire()
    assert app.is_locked("nightly")
    clock.advance(61)
    assert not app.is_locked("nightly")
    app.immediate = True
    lock.acquire()
    clock.advance(61)
    assert not app.is_locked("nightly")


def test_task_ids_are_version_4_uuids_in_their_usual_form() -> None:
    """A call's task id reads as ``str(uuid.uuid4())`` does: 36 characters, version 4,
    the RFC 4122 variant; and ids do not repeat."""
    huey = MemoryHuey("ids", immediate=False)

    @huey.task()
    def noop() -> None:
        pass

    ids = [noop.s().id for _ in range(500)]
    assert len(set(ids)) == len(ids)
    for task_id in ids:
        parsed = uuid.UUID(task_id)
        assert str(parsed) == task_id
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_calls_without_options_take_the_task_defaults() -> None:
    """A call without options takes the task's defaults, converted as a per-call option
    would be (a timedelta to seconds), on its first call and on later ones."""
    huey = MemoryHuey("defaults", immediate=False)

    @huey.task(retries=2, retry_delay=3, priority=5, timeout=7, expires=timedelta(seconds=9))
    def ok() -> None:
        pass

    for _ in range(2):  # the second call takes the remembered defaults
        task = ok.s()
        assert (task.retries, task.retry_delay, task.priority) == (2, 3.0, 5)
        assert (task.timeout, task.expires, task.expires_at) == (7.0, 9.0, None)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_repeat_its_parents_task_ids() -> None:
    """Random digits are drawn many ids at a time; a forked child draws its own rather
    than going on with the ones its parent had drawn."""
    huey = MemoryHuey("fork-ids", immediate=False)

    @huey.task()
    def noop() -> None:
        pass

    noop.s()  # the parent has drawn digits for many more ids
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave at once
        os.write(write_end, noop.s().id.encode())
        os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert len(child_id) == 36
    assert child_id != noop.s().id


def test_each_thread_draws_its_own_task_ids() -> None:
    """Threads enqueueing at once never share an id."""
    huey = MemoryHuey("thread-ids", immediate=False)

    @huey.task()
    def noop() -> None:
        pass

    ids: list[list[str]] = [[] for _ in range(4)]

    def draw(into: list[str]) -> None:
        into.extend(noop.s().id for _ in range(1000))

    threads = [threading.Thread(target=draw, args=(into,)) for into in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [task_id for drawn in ids for task_id in drawn]
    assert len(set(every)) == len(every) == 4000
