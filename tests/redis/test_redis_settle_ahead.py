"""Settles sent ahead: a busy worker runs its next task while the last settle travels."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from huey import Huey
from huey import _delivery as delivery
from huey.constants import EmptyData
from huey.consumer import _worker as worker_module
from huey.consumer import check_options
from huey.consumer._environment import PipeFlag, create_environment
from huey.consumer._worker import Worker
from huey.exceptions import StorageError
from huey.protocols import Lease
from huey.storage.redis import PriorityRedisStorage, RedisStorage
from huey.testing import MockClock

from .conftest import StorageFactory

pytestmark = pytest.mark.redis

BOTH = [RedisStorage, PriorityRedisStorage]


@pytest.mark.parametrize("cls", BOTH)
def test_a_settle_sent_ahead_reports_when_read(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """The settle stores the result and leases the next item; a call made on the same
    connection before the reply is read reads it first and keeps it for finish()."""
    storage = make_storage(cls, blocking=False)
    for item in (b"A", b"B"):
        storage.enqueue(item)
    first = storage.reserve(1000.0, 30.0)
    assert first is not None
    flight = storage.send_settle_and_reserve(first.token, ("result-a", b"1"), (), 1001.0, 30.0)
    storage.enqueue(b"C")  # on this thread's connection, behind the unread reply
    settled, second = flight.finish()
    assert settled is True
    assert second is not None
    assert (second.token, second.data, second.deadline) == (flight.next_token, b"B", 1031.0)
    assert storage.peek_data("result-a") == b"1"
    assert list(storage.enqueued_items()) == [b"C"]
    # A reservation alone, sent ahead; then one that finds the queue empty.
    storage.ack(second.token)
    reserve = storage.send_reserve(1002.0, 30.0)
    done, third = reserve.finish()
    assert done is True
    assert third is not None
    assert (third.token, third.data) == (reserve.next_token, b"C")
    stale = storage.send_settle_and_reserve("unknown", None, (), 1003.0, 30.0)
    assert stale.finish() == (False, None)  # not a lease: refused; nothing queued
    assert storage.ack(third.token) is True
    assert storage.queue_size() == storage.leased_count() == 0


@pytest.mark.parametrize("cls", BOTH)
def test_a_settle_whose_reply_is_lost_is_sent_again_with_the_same_outcome(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """The connection breaks after the server ran the settle: finish() runs it again and
    gets what the first run did (the token settled, the same lease), not a second lease."""
    storage = make_storage(cls, blocking=False)
    for item in (b"A", b"B", b"C"):
        storage.enqueue(item)
    first = storage.reserve(1000.0, 30.0)
    assert first is not None
    flight = storage.send_settle_and_reserve(first.token, ("result-a", b"1"), (), 1001.0, 30.0)
    held = storage._held_connection()  # pyright: ignore[reportPrivateUsage]  # the connection to break
    assert held is not None
    # Once the server has run it (a reply on another connection comes after it), the
    # reply is lost with the connection.
    deadline = time.monotonic() + 5
    while storage.leased_count() != 1 or storage.queue_size() != 1:
        assert time.monotonic() < deadline, "the settle sent ahead never ran"
    held.disconnect()
    settled, second = flight.finish()
    assert settled is True
    assert second is not None
    assert (second.token, second.data) == (flight.next_token, b"B")
    assert list(storage.enqueued_items()) == [b"C"]  # not leased a second time
    assert storage.leased_count() == 1
    assert storage.peek_data("result-a") == b"1"


def _worker(huey: Huey[Any]) -> Worker:
    return Worker(huey, check_options(workers=1), create_environment("thread"), PipeFlag(), "w")


def _ahead(worker: Worker) -> tuple[bool, bool]:
    """Whether the worker has a call in flight, and a message in hand."""
    return worker.pending is not None, worker.next_lease is not None


class _Steps:
    """A huey on a fresh Redis queue with one task, ``step(name)``, which records the
    names it ran in :attr:`ran` and returns the name."""

    def __init__(self, make_storage: StorageFactory, name: str) -> None:
        self.storage = make_storage(RedisStorage, blocking=False)
        self.clock = MockClock()
        self.huey = Huey(name, storage=self.storage, clock=self.clock)
        self.ran: list[str] = []
        ran = self.ran

        @self.huey.task()
        def step(name: str) -> str:
            ran.append(name)
            return name

        self.step = step


def test_a_busy_worker_runs_short_tasks_with_their_settles_sent_ahead(
    make_storage: StorageFactory,
) -> None:
    """Every task runs once with its result stored; the worker keeps one settle in
    flight while it runs, and gives everything back when it stops."""
    storage = make_storage(RedisStorage, blocking=False)
    huey = Huey("ahead", storage=storage, clock=MockClock())
    ran: list[int] = []

    @huey.task()
    def square(n: int) -> int:
        ran.append(n)
        return n * n

    results = [square(n) for n in range(20)]
    worker = _worker(huey)
    in_flight: list[bool] = []
    for _ in range(15):
        assert worker.take_next() is True
        in_flight.append(worker.pending is not None)
    assert all(in_flight[1:])  # after the first task, a settle is always in flight
    assert _ahead(worker) == (True, True)  # and the next message is in hand
    worker._give_back_ahead()  # pyright: ignore[reportPrivateUsage]  # what run() does at its end
    assert _ahead(worker) == (False, False)
    assert storage.leased_count() == 0
    assert storage.queue_size() == 5
    while worker.take_next():
        pass
    worker._give_back_ahead()  # pyright: ignore[reportPrivateUsage]  # likewise
    assert sorted(ran) == list(range(20))
    assert [result.get() for result in results] == [n * n for n in range(20)]
    assert storage.leased_count() == storage.queue_size() == 0
    assert worker.isolation._running == 0  # pyright: ignore[reportPrivateUsage]  # every slot was given back


def test_a_message_leased_ahead_goes_back_when_the_task_before_it_runs_long(
    make_storage: StorageFactory,
) -> None:
    """While a long task runs, the message its worker leased ahead returns to the queue,
    where another worker takes it: it does not wait for the long task."""
    storage = make_storage(RedisStorage, blocking=False)
    huey = Huey("hand-back", storage=storage, clock=MockClock())
    started = threading.Event()
    finish = threading.Event()
    ran: list[str] = []

    @huey.task()
    def step(name: str) -> str:
        ran.append(name)
        if name == "long":
            started.set()
            assert finish.wait(10)
        return name

    results = [step(name) for name in ("a", "b", "long", "waiting")]
    worker = _worker(huey)
    assert worker.keeper is not None
    worker.keeper.hand_back_after = 0.05

    def run_worker() -> None:
        for _ in range(3):  # a, b and the long task
            worker.take_next()

    thread = threading.Thread(target=run_worker)
    thread.start()
    try:
        assert started.wait(10)
        assert worker.pending is not None  # "waiting" was leased ahead of the long task
        deadline = time.monotonic() + 10
        while storage.queue_size() != 1:
            assert time.monotonic() < deadline, "the message leased ahead was not handed back"
        other = delivery.receive(huey)
        assert isinstance(other, delivery.Received)
        assert other.task.args == ("waiting",)
        assert other.lease is not None
        assert other.lease.deliveries == 1  # handing back does not count a delivery
        assert delivery.run_received(huey, other).status == "completed"
    finally:
        finish.set()
        thread.join()
    assert worker.take_next() is False  # the reply brought "waiting", handed back: not run
    worker._give_back_ahead()  # pyright: ignore[reportPrivateUsage]  # what run() does at its end
    assert ran == ["a", "b", "long", "waiting"]
    assert [result.get() for result in results] == ["a", "b", "long", "waiting"]
    assert storage.leased_count() == storage.queue_size() == 0


def test_a_suspect_behind_a_settle_in_flight_runs_alone(make_storage: StorageFactory) -> None:
    """A redelivered message reaching a worker with a settle in flight: the worker gives
    back what it leased ahead before the suspect runs alone, and nothing is lost."""
    app = _Steps(make_storage, "suspects")
    storage, clock, huey, ran = app.storage, app.clock, app.huey, app.ran
    results = [app.step(name) for name in ("a", "b", "c", "d")]
    worker = _worker(huey)
    assert worker.take_next() is True  # "a" ran; its settle leases "b" ahead
    assert worker.pending is not None
    # "c" was leased by a worker that died: its lease expired, it is back at the head.
    lost = storage.reserve(clock.time() - 100, 1.0)  # long expired, unlike the others
    assert lost is not None
    assert storage.requeue_expired(clock.time() - 50, 5) == 1
    assert worker.take_next() is True  # "b"; the suspect "c" is leased ahead of it
    assert worker.next_lease is not None
    assert worker.next_lease.deliveries == 2
    assert worker.pending is not None  # and "d" is being leased ahead too
    assert worker.take_next() is True  # gives both back, then runs the suspect alone
    assert ran == ["a", "b", "c"]
    assert _ahead(worker) == (False, False)
    assert worker.isolation._running == 0  # pyright: ignore[reportPrivateUsage]  # no slot left behind
    assert storage.queue_size() == 1  # "d", given back
    assert storage.leased_count() == 0
    while worker.take_next():
        pass
    worker._give_back_ahead()  # pyright: ignore[reportPrivateUsage]  # what run() does at its end
    assert ran == ["a", "b", "c", "d"]
    assert [result.get() for result in results] == ["a", "b", "c", "d"]
    assert storage.leased_count() == storage.queue_size() == 0


def test_a_refused_settle_sent_ahead_is_logged_when_read(
    make_storage: StorageFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A settle sent after the task's lease went to another worker stores nothing, and
    reading its reply logs the refusal (the finish line was logged without it)."""
    app = _Steps(make_storage, "refused")
    storage, clock, huey = app.storage, app.clock, app.huey
    result = app.step("a")
    received = delivery.receive(huey)
    assert isinstance(received, delivery.Received)
    ran = delivery.run_leased(huey, received)
    assert isinstance(ran, delivery.Ran)
    # The lease expires meanwhile, and another worker gets the message.
    assert storage.requeue_expired(clock.time() + huey.lease_timeout + 1, 5) == 1
    other = storage.reserve(clock.time(), huey.lease_timeout)
    assert other is not None
    pending = delivery.send_settle(huey, ran)
    assert pending is not None
    with caplog.at_level(logging.WARNING, logger="huey.delivery"):
        assert delivery.finish_settle(pending) is None
    assert (
        f"the acknowledgement of task {received.task.name} ({result.id}), sent after it "
        "finished, was refused"
    ) in caplog.text
    assert storage.peek_data(result.id) is EmptyData  # the stale settle stored nothing
    assert storage.leased_count() == 1  # the other worker's lease stands


def test_a_settle_sent_ahead_is_sent_again_after_a_storage_failure(
    make_storage: StorageFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a settle's reply fails: the worker backs off and sends the settle again
    (its finish line is logged already, so it is not given up), and every task runs
    once with its result stored."""
    app = _Steps(make_storage, "flaky")
    storage, huey, ran = app.storage, app.huey, app.ran
    results = [app.step(name) for name in ("a", "b", "c")]
    options = check_options(workers=1, initial_delay=0.001)
    worker = Worker(huey, options, create_environment("thread"), PipeFlag(), "w")
    assert worker.take_next() is True  # "a" ran; its settle is sent ahead
    assert worker.pending is not None
    failures = [StorageError("connection reset"), StorageError("connection reset")]
    real_finish = delivery.finish_settle

    def flaky(pending: delivery.PendingSettle) -> Lease | None:
        if failures:
            raise failures.pop()
        return real_finish(pending)

    monkeypatch.setattr(worker_module, "finish_settle", flaky)
    while worker.take_next():
        pass
    worker._give_back_ahead()  # pyright: ignore[reportPrivateUsage]  # what run() does at its end
    assert failures == []
    assert worker.outage.failures == 0  # recovered
    assert ran == ["a", "b", "c"]
    assert [result.get() for result in results] == ["a", "b", "c"]
    assert storage.leased_count() == storage.queue_size() == 0
