"""The original huey's options and hooks: ``store_intermediate_errors``,
``Result.get_raw_result``, ``Result.reschedule(preserve_pipeline=...)``,
``Huey.build_error_result``, ``is_revoked(peek=...)`` and a re-raised sub-task error.

On a ``MemoryHuey`` with a fake clock; ``tests/storage/options_checks.py`` runs the parts
that touch the storage on SQLite, files and Redis too.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any, Literal, assert_type

import pytest
from typing_extensions import override

from huey import Huey, MemoryHuey, SqliteHuey
from huey.api import Task
from huey.exceptions import ConfigurationError, ResultTimeout, TaskException
from huey.storage import MemoryStorage
from huey.utils import Error

from .conftest import START, MockClock
from .storage import options_checks as checks


def run_all(huey: Huey[Any]) -> None:
    """Run every queued task, including those the runs enqueue."""
    while (task := huey.dequeue()) is not None:
        huey.execute(task)


# --- store_intermediate_errors -------------------------------------------------------


def test_intermediate_errors_are_stored_by_default(huey: MemoryHuey) -> None:
    """Each failed attempt that will be retried stores its error (final=False), as 3.x."""
    assert huey.store_intermediate_errors is True
    checks.check_intermediate_errors(huey, stored=True, run=run_all_one)


def test_intermediate_errors_can_be_withheld(clock: MockClock) -> None:
    """``store_intermediate_errors=False``: only the final error is stored."""
    huey = MemoryHuey("q", clock=clock, store_intermediate_errors=False)
    assert huey.store_intermediate_errors is False
    checks.check_intermediate_errors(huey, stored=False, run=run_all_one)


def run_all_one(huey: Huey[Any]) -> None:
    """Run the next queued task."""
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)


@pytest.mark.parametrize("option", [True, False])
def test_error_handler_runs_once_on_the_final_failure(clock: MockClock, option: bool) -> None:
    """``.error()`` handlers run once, on the final failure, whatever the option (the
    original ran them on each stored intermediate failure too: a listed difference)."""
    huey = MemoryHuey("q", clock=clock, store_intermediate_errors=option)
    handled: list[str] = []

    @huey.task(retries=2)
    def fails() -> int:
        raise ValueError("boom")

    @huey.task()
    def handler(exc: Exception) -> None:
        handled.append(repr(exc))

    huey.enqueue(fails.s().error(handler))
    run_all(huey)
    assert handled == ["ValueError('boom')"]


def test_intermediate_errors_option_is_checked(clock: MockClock) -> None:
    """A value that is not a bool fails at construction, naming the option."""
    not_a_bool: Any = 1
    with pytest.raises(ConfigurationError, match="store_intermediate_errors must be True or False"):
        MemoryHuey("q", clock=clock, store_intermediate_errors=not_a_bool)


def test_intermediate_errors_option_in_every_signature(tmp_path: Any) -> None:
    """Accepted where the original took it: positionally after ``storage_class`` (as in
    huey 3.x), by keyword in each results mode, and by the ``*Huey`` subclasses."""
    positional = Huey("a", True, False, True, False, None, False, False, True, MemoryStorage, False)
    assert positional.store_intermediate_errors is False
    assert_type(positional, Huey[Literal[True]])
    quiet = Huey("b", results=False, storage_class=MemoryStorage, store_intermediate_errors=False)
    assert quiet.store_intermediate_errors is False
    flag: bool = False
    either = Huey("c", results=flag, storage_class=MemoryStorage, store_intermediate_errors=False)
    assert either.store_intermediate_errors is False
    sqlite = SqliteHuey("d", filename=tmp_path / "d.db", store_intermediate_errors=False)
    assert sqlite.store_intermediate_errors is False
    assert MemoryHuey("e").store_intermediate_errors is True


def test_lock_and_retry_task_are_not_stored_while_a_retry_is_pending(huey: MemoryHuey) -> None:
    """As huey 3.5: a locked task or a RetryTask with a retry to come stores nothing."""
    lock = huey.lock_task("held")

    @huey.task(retries=1)
    @lock
    def locked() -> int:
        return 1

    result = locked()
    with lock:
        run_all_one(huey)
    assert result.get_raw_result(preserve=True) is None
    assert huey.pending_count() == 1


def test_cancellation_with_a_retry_is_stored_as_intermediate(huey: MemoryHuey) -> None:
    """A CancelExecution that will be retried is stored (not final), as in huey 3.5."""
    from huey import CancelExecution

    @huey.task(retries=1)
    def cancels() -> int:
        raise CancelExecution()

    result = cancels()
    run_all_one(huey)
    raw = result.get_raw_result(preserve=True)
    assert isinstance(raw, Error)
    assert raw.error == "CancelExecution()"
    with pytest.raises(ResultTimeout, match="a retry is due"):
        result.get(blocking=True, timeout=0)


# --- Result.get_raw_result ---------------------------------------------------------------


def test_get_raw_result(huey: MemoryHuey) -> None:
    """The value, ``None`` while not ready, or the error as ``huey.utils.Error``."""
    checks.check_get_raw_result(huey, run=run_all)


def test_get_raw_result_blocking_times_out_and_may_revoke(huey: MemoryHuey) -> None:
    """Blocking waits like ``get``: ``ResultTimeout`` after ``timeout``, then revoked."""

    @huey.task()
    def slow() -> int:
        return 1

    result = slow()
    with pytest.raises(ResultTimeout):
        result.get_raw_result(blocking=True, timeout=0, revoke_on_timeout=True)
    assert result.is_revoked()


def test_get_raw_result_types(huey: MemoryHuey) -> None:
    """Blocking reads cannot return ``None``; non-blocking ones can."""

    @huey.task()
    def one() -> int:
        return 1

    result = one()
    run_all(huey)
    assert assert_type(result.get_raw_result(blocking=True, preserve=True), int | Error) == 1
    assert assert_type(result.get_raw_result(), int | Error | None) == 1


def test_get_raw_result_shares_the_cache_with_get(huey: MemoryHuey) -> None:
    """A destructive raw read caches the error: ``get`` then raises it without a store read."""

    @huey.task()
    def fails() -> int:
        raise KeyError("k")

    result = fails()
    run_all(huey)
    raw = result.get_raw_result()
    assert isinstance(raw, Error)
    assert huey.result_count() == 0
    with pytest.raises(TaskException) as caught:
        result.get()
    assert caught.value.metadata == raw.metadata


# --- Result.reschedule(preserve_pipeline=...) ----------------------------------------------


@pytest.mark.parametrize("preserve", [True, False])
def test_reschedule_pipeline(huey: MemoryHuey, preserve: bool) -> None:
    """The copy keeps the later stages and the error handler unless told not to."""
    checks.check_reschedule_pipeline(huey, preserve=preserve, run=run_all)


def test_reschedule_keeps_the_pipeline_by_default(huey: MemoryHuey) -> None:
    """``preserve_pipeline`` defaults to ``True``; the copy is scheduled at ``eta``."""

    @huey.task()
    def first(x: int) -> int:
        return x

    @huey.task()
    def second(x: int) -> int:
        return x * 10

    @huey.task()
    def handler(exc: Exception) -> None:
        del exc

    group = huey.enqueue(first.s(1).error(handler).then(second))
    head = next(iter(group))
    copy = head.reschedule(eta=datetime.fromtimestamp(START + 60, UTC))
    [scheduled] = huey.scheduled()
    assert scheduled.id == copy.id
    assert scheduled.on_complete is not None
    assert scheduled.on_complete.name == second.name
    assert scheduled.on_error is not None
    assert scheduled.on_error.name == handler.name


# --- Huey.build_error_result -------------------------------------------------------------


def test_build_error_result_override_adds_a_field(clock: MockClock) -> None:
    """The override's fields reach ``TaskException.metadata`` and ``get_raw_result``; it is
    called once per failure, even when the error is stored for every pipeline stage."""
    calls: list[str] = []

    class TaggingHuey(MemoryHuey):
        """Adds the worker's name to every stored error (the original's override hook)."""

        @override
        def build_error_result(
            self, task: Task[Any], exception: BaseException
        ) -> dict[str, object]:
            calls.append(type(exception).__name__)
            metadata = super().build_error_result(task, exception)
            metadata["worker"] = "w1"
            return metadata

    huey = TaggingHuey("q", clock=clock)
    checks.check_error_builder_field(huey, run=run_all)
    assert calls == ["ValueError"]

    @huey.task()
    def a() -> int:
        raise KeyError("k")

    @huey.task()
    def b(x: int) -> int:
        return x

    group = huey.enqueue(a.s().then(b))
    run_all(huey)
    assert calls == ["ValueError", "KeyError"]
    for result in group:
        raw = result.get_raw_result()
        assert isinstance(raw, Error)
        assert raw.metadata["worker"] == "w1"
        assert raw.metadata["task_id"] == next(iter(group)).id


def test_build_error_result_gets_the_task_and_the_exception(clock: MockClock) -> None:
    """The default metadata: error, retries (left when it failed), traceback and task id."""
    seen: list[tuple[Task[Any], BaseException]] = []

    class Spy(MemoryHuey):
        @override
        def build_error_result(
            self, task: Task[Any], exception: BaseException
        ) -> dict[str, object]:
            seen.append((task, exception))
            return super().build_error_result(task, exception)

    huey = Spy("q", clock=clock)

    @huey.task(retries=1)
    def fails() -> int:
        raise ValueError("boom")

    result = fails()
    run_all_one(huey)
    [(task, exc)] = seen
    assert task.id == result.id
    assert repr(exc) == "ValueError('boom')"
    raw = result.get_raw_result()
    assert isinstance(raw, Error)
    assert raw.metadata["error"] == "ValueError('boom')"
    assert raw.metadata["retries"] == 1
    assert raw.metadata["task_id"] == result.id
    assert "raise ValueError" in str(raw.metadata["traceback"])


class ReplacingHuey(MemoryHuey):
    """Returns its own metadata, leaving out the standard fields."""

    @override
    def build_error_result(self, task: Task[Any], exception: BaseException) -> dict[str, object]:
        return {"error": f"failed: {exception}", "code": 7}


def test_build_error_result_fields_left_out_keep_their_defaults(clock: MockClock) -> None:
    """``error`` may be replaced; a left-out standard field keeps its default value."""
    huey = ReplacingHuey("q", clock=clock)

    @huey.task()
    def fails() -> int:
        raise ValueError("boom")

    result = fails()
    run_all(huey)
    with pytest.raises(TaskException, match=r"^failed: boom$") as caught:
        result.get()
    metadata = caught.value.metadata
    assert metadata["code"] == 7
    assert metadata["task_id"] == result.id
    assert metadata["retries"] == 0
    assert "raise ValueError" in str(metadata["traceback"])


class BrokenHuey(MemoryHuey):
    """An override that fails in one of three ways, chosen by ``mode``."""

    mode = "raise"

    @override
    def build_error_result(self, task: Task[Any], exception: BaseException) -> dict[str, object]:
        if self.mode == "raise":
            raise RuntimeError("bug in the override")
        if self.mode == "unstorable":
            return {"error": "x", "lock": threading.Lock()}
        return "not a mapping"  # type: ignore[return-value]  # pyright: ignore[reportReturnType]  # an untyped override


@pytest.mark.parametrize("mode", ["raise", "unstorable", "not-a-mapping"])
def test_a_failing_build_error_result_stores_the_default(
    clock: MockClock, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker survives a broken override: the default record is stored, and logged."""
    huey = BrokenHuey("q", clock=clock)
    huey.mode = mode

    @huey.task()
    def fails() -> int:
        raise ValueError("boom")

    result = fails()
    with caplog.at_level(logging.ERROR, logger="huey"):
        run_all(huey)
    with pytest.raises(TaskException, match=r"^ValueError\('boom'\)$") as caught:
        result.get()
    assert set(caught.value.metadata) == {"error", "traceback", "task_id", "retries"}
    assert any("error" in record.getMessage() for record in caplog.records)


# --- is_revoked(peek=...) ------------------------------------------------------------------


def test_is_revoked_peek(huey: MemoryHuey) -> None:
    """``peek=False`` uses up a once-revocation; ``peek=True`` (the default) does not."""
    checks.check_is_revoked_peek(huey)


def test_is_revoked_peek_false_removes_a_lapsed_revocation(
    huey: MemoryHuey, clock: MockClock
) -> None:
    """A ``revoke_until`` in the past is removed by a consuming check, kept by a peek."""

    @huey.task()
    def work() -> int:
        return 1

    result = work()
    huey.revoke_by_id(result.id, revoke_until=datetime.fromtimestamp(START + 10, UTC))
    assert huey.is_revoked(result, peek=False)  # still in force: kept
    assert huey.is_revoked(result.id)
    clock.advance(11)
    assert not huey.is_revoked(result)
    assert huey.result_count() == 1
    assert not huey.is_revoked(result.task, peek=False)
    assert huey.result_count() == 0


def test_is_revoked_peek_on_a_whole_task(huey: MemoryHuey) -> None:
    """The task wrapper's revocation: through ``huey.is_revoked`` and the wrapper itself."""

    @huey.task()
    def work() -> int:
        return 1

    work.revoke(revoke_once=True)
    assert huey.is_revoked(work)
    assert work.is_revoked(peek=True)
    assert huey.is_revoked(work, peek=False)
    assert not work.is_revoked()
    work.revoke(revoke_once=True)
    assert work.is_revoked(peek=False)
    assert not huey.is_revoked(work)


# --- a re-raised sub-task error ----------------------------------------------------------


def test_reraised_sub_task_error_stores_the_inner_error(huey: MemoryHuey) -> None:
    """A task letting a sub-task's ``TaskException`` propagate stores the sub-task's error
    text (not ``TaskException(...)``), with its own id, retries and traceback."""
    checks.check_reraised_task_exception(huey, run=run_all)


def test_reraised_sub_task_error_in_immediate_mode(clock: MockClock) -> None:
    """The same in immediate mode, where the sub-task's blocking read happens inline."""
    huey = MemoryHuey("q", clock=clock, immediate=True)

    @huey.task()
    def inner() -> int:
        raise ValueError("inner")

    @huey.task()
    def outer() -> int:
        return inner().get(blocking=True)

    result = outer()
    with pytest.raises(TaskException) as caught:
        result.get()
    assert caught.value.metadata["error"] == "ValueError('inner')"
    assert caught.value.metadata["task_id"] == result.id
