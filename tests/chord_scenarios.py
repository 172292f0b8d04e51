"""Behaviour of groups and chords, written once and run on every storage.

``tests/test_chords.py`` runs each scenario on the memory, SQLite and file storages,
``tests/redis/test_redis_chords.py`` on the four Redis storages (through their scripts).
A scenario takes a :class:`App`: a ``Huey`` at least-once on the storage under test,
driven by a :class:`~huey.testing.MockClock`, with the tasks below registered. Workers
are simulated with the consumer's own task flow (``huey._delivery.process_next``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import pytest

from huey import CancelExecution, Huey, Task, _core, chord, group
from huey._delivery import Received, process_next, receive, requeue_expired
from huey.api import ChordResult
from huey.exceptions import TaskException, TaskSerializationError
from huey.testing import MockClock
from huey.utils import SKIPPED, Error, SkippedType

__all__ = ("SCENARIOS", "App")

Outcomes = list[Any]


class App:
    """A huey with the scenario tasks registered, and what the callbacks received."""

    def __init__(self, huey: Huey, clock: MockClock) -> None:
        self.huey = huey
        self.clock = clock
        self.callbacks: list[tuple[str, Outcomes]] = []
        self.handled: list[str] = []
        calls = self.callbacks
        handled = self.handled

        @huey.task()
        def add(a: int, b: int) -> int:
            return a + b

        @huey.task()
        def fail(a: int) -> int:
            raise ValueError(f"bad {a}")

        @huey.task(retries=2)
        def flaky(a: int) -> int:
            raise ValueError(f"flaky {a}")

        @huey.task()
        def collect(results: list[int | Error | SkippedType], label: str = "") -> int:
            calls.append((label, list(results)))
            return len(calls)

        @huey.task()
        def describe(results: list[int | Error | SkippedType]) -> str:
            calls.append(("describe", list(results)))
            return ",".join(str(r) if isinstance(r, int) else type(r).__name__ for r in results)

        @huey.task()
        def handler(exc: Exception) -> None:
            handled.append(str(exc))

        self.add = add
        self.fail = fail
        self.flaky = flaky
        self.collect = collect
        self.describe = describe
        self.handler = handler

    def drain(self, limit: int = 200) -> None:
        """Run queued tasks until queue and schedule are empty (advancing the clock)."""
        for _ in range(limit):
            for task in self.huey.read_schedule(self.clock.time()):
                self.huey.enqueue(task)
            if process_next(self.huey).status != "empty":
                continue
            if not self.huey.scheduled_count():
                return
            self.clock.advance(60)
        raise AssertionError(f"the queue did not drain in {limit} steps")

    def take_all(self) -> list[Task[Any]]:
        """Pop every queued message without running it (to run them in another order)."""
        tasks: list[Task[Any]] = []
        while (task := self.huey.dequeue()) is not None:
            tasks.append(task)
        return tasks

    def chord_keys(self) -> list[str]:
        """Keys of the chord bookkeeping still in the key/value store."""
        return sorted(key for key in self.huey.all_results() if key.startswith("chord:"))


def callback_order_is_member_order(app: App) -> None:
    """Members finishing in reverse order still reach the callback in member order."""
    handle = app.huey.enqueue(
        chord([app.add.s(1, 0), app.add.s(2, 0), app.add.s(3, 0)], app.collect, label="order")
    )
    members = app.take_all()
    assert len(members) == 3
    for task in reversed(members):
        app.huey.execute(task)
    assert app.callbacks == []
    app.drain()
    assert app.callbacks == [("order", [1, 2, 3])]
    assert isinstance(handle, ChordResult)
    assert handle.get(blocking=True) == 1
    assert handle.results.get(blocking=True) == [1, 2, 3]


def group_then_is_a_chord(app: App) -> None:
    """``group(...).then(cb)`` builds the chord; ``enqueue(group)`` gives a ResultGroup."""
    plain = app.huey.enqueue(group([app.add.s(1, 1), app.add.s(2, 2)]))
    app.drain()
    assert plain is not None
    assert plain.get(blocking=True) == [2, 4]
    handle = app.huey.enqueue(group([app.add.s(1, 1), app.add.s(2, 2)]).then(app.describe))
    app.drain()
    assert handle is not None
    assert handle.get(blocking=True) == "2,4"


def failing_member_contributes_an_error(app: App) -> None:
    """A member that fails for good contributes an ``Error`` with its metadata."""
    handle = app.huey.enqueue(chord([app.add.s(1, 1), app.fail.s(7)], app.collect))
    app.drain()
    [(_, outcomes)] = app.callbacks
    assert outcomes[0] == 2
    error = outcomes[1]
    assert isinstance(error, Error)
    assert error.error == "ValueError('bad 7')"
    assert "Traceback" in str(error.metadata["traceback"])
    failed = list(handle.results)[1]
    assert error.metadata["task_id"] == failed.id
    with pytest.raises(TaskException, match="bad 7"):
        failed.get(blocking=True)


def retried_member_reports_only_its_final_error(app: App) -> None:
    """Attempts that will be retried do not report: only the final failure counts."""
    app.huey.enqueue(chord([app.flaky.s(1)], app.collect))
    app.drain()
    [(_, [error])] = app.callbacks
    assert isinstance(error, Error)
    assert error.metadata["retries"] == 0


def skipped_members_contribute_skipped(app: App) -> None:
    """Revoked, expired and cancelled members contribute ``SKIPPED``."""
    cancelled: list[str] = []

    @app.huey.pre_execute()
    def cancel_nines(task: Task[Any]) -> None:
        if task.args == (9, 9):
            cancelled.append(task.id)
            raise CancelExecution()

    members = [
        app.add.s(1, 1),
        app.add.s(2, 2),
        app.add.with_options(expires=10).s(3, 3),
        app.add.s(9, 9),
    ]
    handle = app.huey.enqueue(chord(members, app.collect))
    list(handle.results)[1].revoke()
    app.clock.advance(30)  # the third member expires
    app.drain()
    assert len(cancelled) == 1
    assert app.callbacks == [("", [2, SKIPPED, SKIPPED, SKIPPED])]


def empty_chord_calls_back_with_an_empty_list(app: App) -> None:
    """A chord without members calls back at once with ``[]``."""
    handle = app.huey.enqueue(chord([], app.collect, label="empty"))
    app.drain()
    assert app.callbacks == [("empty", [])]
    assert handle.get(blocking=True) == 1
    assert len(handle.results) == 0


def duplicate_member_before_the_end_fires_once(app: App) -> None:
    """A member run twice (redelivered) before the others finish counts once."""
    app.huey.enqueue(chord([app.add.s(1, 0), app.add.s(2, 0)], app.collect))
    first, second = app.take_all()
    app.huey.execute(first)
    app.huey.execute(first)
    app.huey.execute(second)
    app.drain()
    assert app.callbacks == [("", [1, 2])]


def duplicate_member_after_the_end_fires_once(app: App) -> None:
    """A member run again after the callback fired changes nothing and leaves nothing."""
    app.huey.enqueue(chord([app.add.s(1, 0), app.add.s(2, 0)], app.collect))
    first, second = app.take_all()
    app.huey.execute(first)
    app.huey.execute(second)
    app.drain()
    app.huey.execute(first)
    app.huey.execute(second)
    app.drain()
    assert app.callbacks == [("", [1, 2])]
    assert [key for key in app.chord_keys() if not key.endswith(":done")] == []


def duplicate_single_member_fires_once(app: App) -> None:
    """Even in a chord of one, running the member twice fires the callback once."""
    app.huey.enqueue(chord([app.add.s(5, 0)], app.collect))
    [member] = app.take_all()
    app.huey.execute(member)
    app.huey.execute(member)
    app.drain()
    assert app.callbacks == [("", [5])]


def redelivered_member_fires_once(app: App) -> None:
    """A worker dies after running the last member: the redelivery fires nothing more."""
    app.huey.enqueue(chord([app.add.s(1, 0), app.add.s(2, 0)], app.collect))
    process_next(app.huey)
    received = receive(app.huey)
    assert isinstance(received, Received)
    app.huey.execute(received.task)  # ran, then the worker died before acknowledging
    app.clock.advance(app.huey.lease_timeout + 1)
    assert requeue_expired(app.huey) == 1
    app.drain()
    assert app.callbacks == [("", [1, 2])]


def crash_between_claim_and_enqueue_is_recovered(app: App) -> None:
    """The worker that claimed the callback dies before enqueueing it: its redelivery does."""
    chords = app.huey.engine.chords
    enqueue = chords.enqueue
    failures: list[str] = []

    def dies_once(task: Task[Any]) -> None:
        if not failures:
            failures.append(task.id)
            raise RuntimeError("worker lost its storage connection")
        enqueue(task)

    chords.enqueue = dies_once
    app.huey.enqueue(chord([app.add.s(1, 0), app.add.s(2, 0)], app.collect))
    process_next(app.huey)
    assert process_next(app.huey).status == "failed"
    assert failures
    assert app.callbacks == []
    app.clock.advance(app.huey.lease_timeout + 1)
    assert requeue_expired(app.huey) == 1
    app.drain()
    assert app.callbacks == [("", [1, 2])]
    assert [key for key in app.chord_keys() if not key.endswith(":done")] == []


def crash_during_clean_up_is_finished_by_the_redelivery(app: App) -> None:
    """The worker dies after marking the callback enqueued, mid clean-up: nothing refires."""
    chords = app.huey.engine.chords
    enqueue = chords.enqueue

    def dies(task: Task[Any]) -> None:
        raise RuntimeError("worker died")

    app.huey.enqueue(chord([app.add.s(1, 0), app.add.s(2, 0)], app.collect))
    first, second = app.take_all()
    app.huey.execute(first)
    chords.enqueue = dies
    with pytest.raises(RuntimeError, match="worker died"):
        app.huey.execute(second)
    chords.enqueue = enqueue
    # Both outcomes and the claim of the second member are stored: keep a copy.
    bookkeeping = {key: app.huey.storage.peek_data(key) for key in app.chord_keys()}
    assert len(bookkeeping) == 3
    app.huey.execute(second)  # delivered again: fires, marks "done", cleans up
    assert len(app.callbacks) == 0
    app.drain()
    assert app.callbacks == [("", [1, 2])]
    # Had that worker died before removing them, the keys would still be there.
    for key, value in bookkeeping.items():
        assert isinstance(value, bytes)
        app.huey.storage.put_data(key, value)
    app.huey.execute(second)  # delivered once more: only finishes the clean-up
    app.drain()
    assert app.callbacks == [("", [1, 2])]
    assert [key for key in app.chord_keys() if not key.endswith(":done")] == []


def members_finishing_together_fire_once(app: App) -> None:
    """Members run at the same moment by several workers fire the callback once."""
    rounds, size = 10, 4
    for _ in range(rounds):
        app.huey.enqueue(chord([app.add.s(i, 0) for i in range(size)], app.collect))
        members = app.take_all()
        start = threading.Barrier(size)
        errors: list[BaseException] = []

        def work(task: Task[Any], start: threading.Barrier, errors: list[BaseException]) -> None:
            start.wait()
            try:
                app.huey.execute(task)
                app.huey.execute(task)  # and each is delivered twice
            except BaseException as exc:  # reported below, not lost in the thread
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(task, start, errors)) for task in members]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        app.drain()
    assert app.callbacks == [("", list(range(size)))] * rounds


def pipelines_as_members(app: App) -> None:
    """A pipeline member contributes its last stage; a failure upstream, its Error."""
    members = [
        app.add.s(1, 1).then(app.add, b=10),
        app.fail.s(3).then(app.add, b=10),
        app.add.s(2, 2).then(app.add, b=20).then(app.add, b=300),
    ]
    handle = app.huey.enqueue(chord(members, app.collect))
    app.drain()
    [(_, outcomes)] = app.callbacks
    assert outcomes[0] == 12
    assert isinstance(outcomes[1], Error)
    assert outcomes[1].error == "ValueError('bad 3')"
    assert outcomes[2] == 324
    last_stage = _core.pipeline_stages(cast("Task[int]", members[2]))[-1]
    assert [result.id for result in handle.results][2] == last_stage.id


def group_error_reaches_every_member(app: App) -> None:
    """``group.error(handler)`` runs the handler for each member that fails."""
    members = group([app.fail.s(1), app.add.s(1, 1), app.fail.s(2)]).error(app.handler)
    handle = app.huey.enqueue(members.then(app.describe))
    app.drain()
    assert sorted(app.handled) == ["bad 1", "bad 2"]
    assert handle.get(blocking=True) == "Error,2,Error"


def nested_chords(app: App) -> None:
    """A chord member that is a chord contributes its callback's value."""
    inner = chord([app.add.s(1, 0), app.add.s(2, 0)], app.collect, label="inner")
    members: list[chord[Any, Any, int] | Task[int]] = [inner, app.add.s(3, 0)]
    outer = app.huey.enqueue(chord(members, app.collect, label="outer"))
    app.drain()
    # The inner callback returns how many callbacks ran so far: 1.
    assert app.callbacks == [("inner", [1, 2]), ("outer", [1, 3])]
    assert outer.results.get(blocking=True) == [1, 3]


def then_after_the_callback(app: App) -> None:
    """``chord.then()`` chains after the callback; ``pipeline_results`` holds every stage."""
    handle = app.huey.enqueue(chord([app.add.s(1, 0)], app.collect).then(app.add, b=100))
    app.drain()
    assert handle.pipeline_results is not None
    assert handle.pipeline_results.get(blocking=True, preserve=True) == [1, 101]
    assert handle.get(blocking=True) == 1


def bookkeeping_is_cleaned_up(app: App) -> None:
    """Once the callback is enqueued only the expiring ``done`` marker is left."""
    app.huey.enqueue(chord([app.add.s(1, 0), app.fail.s(2), app.add.s(3, 0)], app.collect))
    app.drain()
    [marker] = app.chord_keys()
    assert marker.endswith(":done")
    assert len(app.callbacks) == 1


def unserializable_member_enqueues_nothing(app: App) -> None:
    """An argument the serializer refuses fails the enqueue before any member is queued."""
    members = [app.add.s(1, 0), app.add.s(lambda: 1, 0)]  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    with pytest.raises(TaskSerializationError):
        app.huey.enqueue(chord(members, app.collect))
    assert len(app.huey) == 0
    assert app.huey.scheduled_count() == 0


SCENARIOS: tuple[Callable[[App], None], ...] = (
    callback_order_is_member_order,
    group_then_is_a_chord,
    failing_member_contributes_an_error,
    retried_member_reports_only_its_final_error,
    skipped_members_contribute_skipped,
    empty_chord_calls_back_with_an_empty_list,
    duplicate_member_before_the_end_fires_once,
    duplicate_member_after_the_end_fires_once,
    duplicate_single_member_fires_once,
    redelivered_member_fires_once,
    crash_between_claim_and_enqueue_is_recovered,
    crash_during_clean_up_is_finished_by_the_redelivery,
    members_finishing_together_fire_once,
    pipelines_as_members,
    group_error_reaches_every_member,
    nested_chords,
    then_after_the_callback,
    bookkeeping_is_cleaned_up,
    unserializable_member_enqueues_nothing,
)
"""Every scenario, in the order they are reported."""
