"""``HueyBackend`` in this process: what a worker's run, or drop, leaves in the record.

The worker is played by ``HUEY.dequeue()`` and ``HUEY.execute()``, the calls a consumer
worker makes, on the in-process ``MemoryHuey`` (see ``in_process.py``); times are
passed to ``execute()``, so nothing waits.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django_tasks import TaskResult, TaskResultStatus, task
from django_tasks.exceptions import TaskResultDoesNotExist
from django_tasks.signals import task_finished

from huey import CancelExecution
from huey.api import Task as HueyTask
from huey.contrib.djhuey import HUEY
from huey.contrib.djhuey.tasks_backend import (
    RECORD_PREFIX,
    TASK_NAME,
    HueyBackend,
    TaskCanceledError,
    TaskExpiredError,
    TaskNotImportableError,
    TaskRecord,
    TaskRevokedError,
)

calls: list[str] = []


@task()
def note(word: str) -> str:
    calls.append(word)
    return word.upper()


@pytest.fixture(autouse=True)
def fresh() -> Generator[list[TaskResult[Any]]]:
    """An empty queue and result store; the results ``task_finished`` announced."""
    HUEY.flush()
    calls.clear()
    finished: list[TaskResult[Any]] = []

    def on_finished(sender: object, task_result: TaskResult[Any], **kwargs: object) -> None:
        finished.append(task_result)

    task_finished.connect(on_finished)  # pyright: ignore[reportUnknownMemberType] - Signal's receiver type is partly untyped in django-stubs
    yield finished
    task_finished.disconnect(on_finished)  # pyright: ignore[reportUnknownMemberType] - as above
    HUEY.flush()


def _take() -> HueyTask[Any]:
    """The one message in the queue, as a worker takes it."""
    message = HUEY.dequeue()
    assert message is not None
    assert message.name == TASK_NAME
    assert HUEY.dequeue() is None
    return message


def test_a_run_stores_the_outcome(fresh: list[TaskResult[Any]]) -> None:
    result = note.enqueue("run")
    assert result.status == TaskResultStatus.READY
    HUEY.execute(_take())
    found = note.get_result(result.id)
    assert (found.status, found.return_value, found.attempts) == ("SUCCESSFUL", "RUN", 1)
    assert calls == ["run"]
    assert [done.id for done in fresh] == [result.id]


def test_a_revoked_task_fails_its_record_and_never_runs(fresh: list[TaskResult[Any]]) -> None:
    result = note.enqueue("revoked")
    HUEY.revoke_by_id(result.id)
    HUEY.execute(_take())
    found = note.get_result(result.id)
    assert found.status == TaskResultStatus.FAILED
    assert found.is_finished
    assert found.finished_at is not None
    assert (found.started_at, found.attempts) == (None, 0)
    [error] = found.errors
    assert error.exception_class is TaskRevokedError
    assert "note: revoked before it ran" in error.traceback
    assert calls == []
    [announced] = fresh
    assert (announced.id, announced.status) == (result.id, "FAILED")


def test_a_task_waiting_past_expires_fails_its_record() -> None:
    expiring = note.using(backend="expiring")
    kept = expiring.enqueue("in time")
    message = _take()
    assert message.expires_at is not None
    HUEY.execute(message, message.expires_at - 1)
    dropped = expiring.enqueue("too late")
    message = _take()
    assert message.expires_at is not None
    HUEY.execute(message, message.expires_at + 1)
    assert note.get_result(kept.id).status == TaskResultStatus.SUCCESSFUL
    found = note.get_result(dropped.id)
    assert found.status == TaskResultStatus.FAILED
    [error] = found.errors
    assert error.exception_class is TaskExpiredError
    assert "EXPIRES" in error.traceback
    assert calls == ["in time"]


def test_a_task_a_hook_cancels_fails_its_record() -> None:
    @HUEY.pre_execute()
    def refuse(message: HueyTask[Any]) -> None:
        raise CancelExecution

    try:
        result = note.enqueue("cancelled")
        HUEY.execute(_take())
    finally:
        HUEY.unregister_pre_execute(refuse)
    found = note.get_result(result.id)
    assert found.status == TaskResultStatus.FAILED
    assert [error.exception_class for error in found.errors] == [TaskCanceledError]
    assert calls == []


def test_a_drop_leaves_a_finished_record_alone() -> None:
    """A revocation that arrives after the run changes nothing."""
    result = note.enqueue("once")
    message = _take()
    HUEY.execute(message)
    HUEY.revoke_by_id(result.id)
    HUEY.execute(message)
    found = note.get_result(result.id)
    assert (found.status, found.errors, calls) == ("SUCCESSFUL", [], ["once"])


@pytest.mark.parametrize("value", [30, 0.5, timedelta(minutes=1), None])
def test_expires_takes_seconds_or_a_timedelta(value: object) -> None:
    backend = HueyBackend("ok", {"OPTIONS": {"EXPIRES": value}})
    assert backend.expires == (float(value) if isinstance(value, int | float) else value)


@pytest.mark.parametrize("value", [0, -1, timedelta(0), True, "30", float("nan")])
def test_a_bad_expires_is_refused_naming_it(value: object) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"TASKS\['bad'\]\['OPTIONS'\]\['EXPIRES'\]"):
        HueyBackend("bad", {"OPTIONS": {"EXPIRES": value}})


def _stored(module_path: str) -> TaskRecord:
    record = TaskRecord(
        id="orphan",
        module_path=module_path,
        backend="default",
        queue_name="default",
        priority=0,
        run_after=None,
        status=TaskResultStatus.SUCCESSFUL.value,
        args=[],
        kwargs={},
        return_value=42,
    )
    HUEY.put(RECORD_PREFIX + record.id, record)
    return record


@pytest.mark.parametrize(
    ("module_path", "cause"),
    [
        ("tests.django.no_such_module.gone", "ModuleNotFoundError"),
        ("tests.django.test_tasks_backend.renamed", "ImportError"),
        ("tests.django.test_tasks_backend.calls", "not a Django task but []"),
    ],
)
def test_get_result_of_a_task_gone_from_the_code_says_so(module_path: str, cause: str) -> None:
    stored = _stored(module_path)
    with pytest.raises(TaskNotImportableError) as caught:
        HueyBackend("default", {}).get_result(stored.id)
    message = str(caught.value)
    assert f"Django task result orphan belongs to {module_path}" in message
    assert cause in message
    assert "`record` attribute" in message
    assert caught.value.record == stored
    assert isinstance(caught.value, ImportError)  # what an older caller caught


def test_get_result_of_an_unknown_id_is_still_does_not_exist() -> None:
    with pytest.raises(TaskResultDoesNotExist):
        HueyBackend("default", {}).get_result("never-enqueued")
