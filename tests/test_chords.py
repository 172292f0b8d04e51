"""Groups and chords on the memory, SQLite and file storages, and in immediate mode.

The behaviour shared by every storage lives in ``tests/chord_scenarios.py`` (the Redis
storages run it in ``tests/redis/test_redis_chords.py``); this module adds what needs
no storage of its own: immediate mode, ``results=False``, argument checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from huey import Huey, MemoryHuey, Task, chord, group
from huey.api import ChordResult, Pipeline
from huey.exceptions import TaskException
from huey.protocols import Storage
from huey.storage import FileStorage, MemoryStorage, SqliteStorage
from huey.testing import MockClock
from huey.utils import SKIPPED, Error, SkippedType

from .chord_scenarios import SCENARIOS, App

STORAGES: dict[str, Callable[[Path], Storage]] = {
    "memory": lambda _: MemoryStorage("chords"),
    "sqlite": lambda path: SqliteStorage("chords", path / "chords.db"),
    "file": lambda path: FileStorage("chords", path / "files"),
}


@pytest.fixture(params=sorted(STORAGES))
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[App]:
    """The scenario tasks on a fresh huey over each storage."""
    clock = MockClock()
    make: Callable[[Path], Storage] = STORAGES[request.param]
    huey = Huey("chords", storage=make(tmp_path), clock=clock)
    yield App(huey, clock)
    huey.flush()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
def test_scenario(app: App, scenario: Callable[[App], None]) -> None:
    """Each behaviour of groups and chords, on each storage."""
    scenario(app)


def test_immediate_mode_runs_the_chord_at_enqueue() -> None:
    """In immediate mode the members and the callback run inside ``enqueue``."""
    huey = MemoryHuey("chords-immediate", immediate=True)
    app = App(huey, MockClock())
    members: list[Task[int] | Pipeline[object, int]] = [
        app.add.s(1, 2),
        app.fail.s(0),
        app.add.s(1, 1).then(app.add, b=5),
    ]
    handle = huey.enqueue(chord(members, app.collect))
    [(_, outcomes)] = app.callbacks
    assert outcomes[0] == 3
    assert isinstance(outcomes[1], Error)
    assert outcomes[2] == 7
    assert handle.get() == 1
    assert huey.enqueue(chord([], app.describe)).get() == ""
    assert huey.enqueue(group([app.add.s(2, 2)]).then(app.describe)).get() == "4"


def test_immediate_mode_skips_a_revoked_member() -> None:
    """A member revoked before it is enqueued is skipped in immediate mode too."""
    huey = MemoryHuey("chords-immediate-revoked", immediate=True)
    app = App(huey, MockClock())
    member = app.add.s(1, 1)
    huey.revoke_by_id(member.id, revoke_once=True)
    huey.enqueue(chord([member, app.add.s(2, 2)], app.collect))
    assert app.callbacks == [("", [SKIPPED, 4])]


def test_without_results_the_callback_still_runs() -> None:
    """``results=False`` stores no values, but the chord keeps its members' outcomes."""
    huey = MemoryHuey("chords-quiet", results=False, immediate=True)
    received: list[list[int | Error | SkippedType]] = []

    @huey.task()
    def double(a: int) -> int:
        return 2 * a

    @huey.task()
    def gather(results: list[int | Error | SkippedType]) -> None:
        received.append(results)

    assert huey.enqueue(chord([double.s(1), double.s(2)], gather)) is None
    assert huey.enqueue(group([double.s(3)])) is None
    assert received == [[2, 4]]
    assert huey.all_results() == {} or all(k.startswith("chord:") for k in huey.all_results())


def test_a_group_cannot_be_a_member(huey: MemoryHuey) -> None:
    """As in the original huey, a group inside a group or chord is a ValueError."""

    @huey.task()
    def one() -> int:
        return 1

    inner = group([one.s()])
    with pytest.raises(ValueError, match="member 1 of the chord is a group"):
        chord([one.s(), inner], one)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    with pytest.raises(ValueError, match="member 0 of the group is a group"):
        group([inner])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_members_and_callbacks_are_checked(huey: MemoryHuey) -> None:
    """A task function instead of a task, or a callback of the wrong kind: TypeError."""

    @huey.task()
    def one() -> int:
        return 1

    @huey.task()
    def gather(results: list[int | Error | SkippedType], label: str = "") -> str:
        return label

    with pytest.raises(TypeError, match=r"got TaskWrapper \(build a task with my_task.s"):
        group([one])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    with pytest.raises(TypeError, match="callback must be a task function or a task"):
        chord([one.s()], print)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    with pytest.raises(TypeError, match="unexpected keyword argument 'lable'"):
        chord([one.s()], gather, lable="x")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    built = chord([one.s()], gather.unchecked_s((), {"label": "a"}), label="b")
    assert built.callback.kwargs == {"label": "b"}


def test_group_and_chord_change_in_place_like_the_original(huey: MemoryHuey) -> None:
    """``group.error()``, ``chord.then()`` and ``chord.error()`` return the same object."""

    @huey.task()
    def one() -> int:
        return 1

    @huey.task()
    def inc(a: int) -> int:
        return a + 1

    @huey.task()
    def gather(results: list[int | Error | SkippedType]) -> int:
        return len(results)

    @huey.task()
    def handler(exc: Exception) -> None:
        pass

    inner = chord([one.s()], gather)
    tasks: list[Task[int] | Pipeline[object, int] | chord[Any, Any, int]] = [
        one.s(),
        one.s().then(inc),
        inner,
    ]
    members = group(tasks)
    assert members.error(handler) is members
    assert [task.on_error is not None for task in members.tasks if isinstance(task, Task)] == [
        True,
        True,
    ]
    assert inner.callback.on_error is not None
    callback = group([one.s()]).then(gather)
    assert callback.then(inc) is callback
    assert callback.error(handler) is callback
    assert callback.callback.on_complete is not None
    assert callback.callback.on_error is not None
    assert repr(members) == "<group: 3 tasks>"
    assert len(callback) == 1
    assert repr(callback).startswith("<chord: 1 tasks -> ")


def test_chord_result_reads_the_callback() -> None:
    """``ChordResult`` is the callback's handle plus the members'; ``reset`` re-reads."""
    huey = MemoryHuey("chords-result", immediate=True)
    app = App(huey, MockClock())
    handle = huey.enqueue(chord([app.add.s(1, 1)], app.describe))
    assert isinstance(handle, ChordResult)
    assert handle() == "2"
    assert handle.get() == "2"
    handle.reset()
    assert handle.get() is None  # the first read consumed it
    assert handle.pipeline_results is None
    assert repr(handle).startswith("<ChordResult: 1 members -> task ")


def test_a_callback_too_large_to_enqueue_becomes_its_error(clock: MockClock) -> None:
    """Outcomes that make the callback's message too large: the callback's handle (and
    an outer chord) get the error instead of waiting for ever."""
    huey = Huey("chords-large", storage=MemoryStorage("large"), clock=clock, max_message_size=2000)
    app = App(huey, clock)

    @huey.task()
    def text(n: int) -> str:
        return "x" * n

    @huey.task()
    def lengths(results: list[str | Error | SkippedType]) -> int:
        return len(results)

    inner = chord([text.s(900), text.s(900)], lengths)
    outer_members: list[chord[Any, Any, int] | Task[int]] = [inner, app.add.s(1, 1)]
    handle = huey.enqueue(chord(outer_members, app.collect))
    app.drain()
    with pytest.raises(TaskException, match="MessageTooLarge"):
        handle.results[0]
    [(_, [error, two])] = app.callbacks
    assert isinstance(error, Error)
    assert "MessageTooLarge" in error.error
    assert two == 2
    assert all(key.endswith(":done") for key in app.chord_keys())
