"""A real Django project: ``migrate``, ``manage.py run_huey``, enqueues from other processes.

Each test runs on SQLite and on PostgreSQL (see ``conftest.py``). The consumer is a real
``run_huey`` process; tasks are enqueued by ``manage.py shell`` processes, and what they
did is read back from the database.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast

import pytest

from .conftest import make_sqlite_project, migrated
from .django6 import django6_python_or_skip
from .project import DjangoProject

pytestmark = [pytest.mark.slow, pytest.mark.integration]

_DEADLINE = 60.0


def _stop(consumer: subprocess.Popen[bytes], log: Path) -> int:
    """SIGINT (a graceful stop), then the exit status."""
    consumer.send_signal(signal.SIGINT)
    try:
        return consumer.wait(_DEADLINE)
    except subprocess.TimeoutExpired:
        consumer.kill()
        raise AssertionError(f"run_huey did not stop:\n{log.read_text()}") from None


def _wait_for_line(log: Path, text: str, consumer: subprocess.Popen[bytes]) -> str:
    """The first log line containing ``text``, once the consumer has written it."""
    deadline = time.monotonic() + _DEADLINE
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if text in line:
                return line
        assert consumer.poll() is None, f"run_huey exited:\n{log.read_text()}"
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in the log:\n{log.read_text()}")


def test_tasks_run_in_run_huey_and_write_rows(project: DjangoProject, tmp_path: Path) -> None:
    """huey tasks and Django Tasks enqueued by one process run in run_huey's process."""
    log = tmp_path / "consumer.log"
    consumer = project.start_consumer(log=log)
    try:
        enqueued = cast(
            dict[str, Any],
            project.shell(
                """
                import json
                from django.db import transaction
                from huey.contrib.djhuey import HUEY
                from shop.models import Order
                from shop.tasks import async_total, attempt_number, explode, ship, total, welcome

                order = Order.objects.create(reference="A-1")
                shipped = ship(order.pk)
                with transaction.atomic():
                    committed = welcome("kept")
                try:
                    with transaction.atomic():
                        welcome("dropped")
                        raise RuntimeError("roll back")
                except RuntimeError:
                    pass
                print(json.dumps({
                    "order": order.pk,
                    "shipped": shipped.get(blocking=True, timeout=60),
                    "welcome": committed.get(blocking=True, timeout=60),
                    "total": total.enqueue(2, 3).id,
                    "explode": explode.enqueue().id,
                    "attempt": attempt_number.enqueue("x").id,
                    "async": async_total.enqueue(20, 22).id,
                }))
                """
            ),
        )
        # Read back by a third process, through Django's API only.
        results = cast(
            dict[str, Any],
            project.shell(
                f"""
                import json
                from shop.tasks import async_total, attempt_number, explode, total
                from shop.waiting import finished_results
                found = finished_results({{
                    "total": (total, {enqueued["total"]!r}),
                    "explode": (explode, {enqueued["explode"]!r}),
                    "attempt": (attempt_number, {enqueued["attempt"]!r}),
                    "async": (async_total, {enqueued["async"]!r}),
                }})
                print(json.dumps({{
                    key: {{
                        "status": result.status.value,
                        "value": result.return_value if result.status == "SUCCESSFUL" else None,
                        "attempts": result.attempts,
                        "errors": [(e.exception_class_path, e.traceback) for e in result.errors],
                        "priority": result.task.priority,
                        "started": result.started_at is not None,
                        "finished": result.finished_at is not None,
                        "exception_class": [e.exception_class.__name__ for e in result.errors],
                    }}
                    for key, result in found.items()
                }}))
                """
            ),
        )
        rows = cast(
            dict[str, Any],
            project.shell(
                f"""
                import json
                from huey.contrib.djhuey import HUEY
                from shop.models import Event, Order
                print(json.dumps({{
                    "status": Order.objects.get(pk={enqueued["order"]}).status,
                    "events": sorted(Event.objects.values_list("name", "pid")),
                    "pending": HUEY.pending_count(),
                }}))
                """
            ),
        )
    finally:
        status = _stop(consumer, log)
    assert status == 0, log.read_text()
    assert enqueued["shipped"] == "shipped"
    assert enqueued["welcome"] == "kept"
    assert rows["status"] == "shipped"
    names = [name for name, _ in rows["events"]]
    assert names == sorted([f"ship:{enqueued['order']}", "total:2+3", "welcome:kept"])
    # Every row was written by the consumer, not by the processes that enqueued.
    assert {pid for _, pid in rows["events"]} == {consumer.pid}
    assert rows["pending"] == 0  # the rolled-back call was never enqueued
    total = results["total"]
    assert (total["status"], total["value"], total["attempts"]) == ("SUCCESSFUL", {"sum": 5}, 1)
    assert (total["priority"], total["started"], total["finished"]) == (5, True, True)
    explode = results["explode"]
    assert (explode["status"], explode["attempts"]) == ("FAILED", 1)
    [(path, traceback)] = explode["errors"]
    assert path == "builtins.ValueError"
    assert "boom" in traceback
    assert explode["exception_class"] == ["ValueError"]
    assert (results["attempt"]["status"], results["attempt"]["value"]) == ("SUCCESSFUL", 1)
    assert (results["async"]["status"], results["async"]["value"]) == ("SUCCESSFUL", 42)


_EXPIRING = """
TASKS["expiring"] = {
    "BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend",
    "OPTIONS": {"EXPIRES": 0.001},
}
"""


@pytest.mark.timeout(600)  # the Django 6 venv may have to be made first (see django6.py)
@pytest.mark.parametrize("django", ["5.2", "6"])
def test_revoked_and_expired_django_tasks_fail_under_run_huey(tmp_path: Path, django: str) -> None:
    """``HUEY.revoke_by_id(result.id)`` and ``EXPIRES``: never run, FAILED for any reader.

    Both are enqueued before ``run_huey`` starts, so its workers see them revoked, and
    past their 1 ms ``EXPIRES``, whatever the machine's speed. On Django 5.2 with the
    backport, and on Django 6 when a Python 3.12 is installed.
    """
    python = sys.executable if django == "5.2" else django6_python_or_skip()
    project = migrated(make_sqlite_project(tmp_path, _EXPIRING, python))
    ids = cast(
        dict[str, str],
        project.shell(
            """
            import json
            from huey.contrib.djhuey import HUEY
            from shop.tasks import total

            revoked = total.enqueue(1, 2)
            HUEY.revoke_by_id(revoked.id)
            expired = total.using(backend="expiring").enqueue(3, 4)
            print(json.dumps({"revoked": revoked.id, "expired": expired.id,
                              "kept": total.enqueue(5, 6).id}))
            """
        ),
    )
    log = tmp_path / "consumer.log"
    consumer = project.start_consumer(log=log)
    try:
        seen = cast(
            dict[str, Any],
            project.shell(
                f"""
                import json
                from shop.models import Event
                from shop.tasks import total
                from shop.waiting import finished_results
                found = finished_results({{key: (total, value) for key, value in {ids!r}.items()}})
                print(json.dumps({{
                    "results": {{
                        key: [result.status.value, result.attempts,
                              [error.exception_class.__name__ for error in result.errors]]
                        for key, result in found.items()
                    }},
                    "events": sorted(Event.objects.values_list("name", flat=True)),
                }}))
                """
            ),
        )
    finally:
        status = _stop(consumer, log)
    assert status == 0, log.read_text()
    assert seen["results"] == {
        "revoked": ["FAILED", 0, ["TaskRevokedError"]],
        "expired": ["FAILED", 0, ["TaskExpiredError"]],
        "kept": ["SUCCESSFUL", 1, []],
    }
    assert seen["events"] == ["total:5+6"]  # the revoked and expired calls never ran


def test_enqueue_side_without_a_consumer(project: DjangoProject) -> None:
    """on_commit_task waits for the commit; run_after and priority reach huey's message."""
    seen = cast(
        dict[str, Any],
        project.shell(
            """
            import json
            from datetime import timedelta
            from django.db import transaction
            from django.utils import timezone
            from huey.contrib.djhuey import HUEY
            from shop.tasks import total, welcome

            counts = []
            with transaction.atomic():
                welcome("inside")
                counts.append(HUEY.pending_count())
            counts.append(HUEY.pending_count())
            try:
                with transaction.atomic():
                    welcome("rolled back")
                    raise RuntimeError
            except RuntimeError:
                pass
            counts.append(HUEY.pending_count())
            [message] = HUEY.pending()
            HUEY.flush()

            from huey.contrib.djhuey.tasks_backend import HueyBackend
            from django.core.exceptions import ImproperlyConfigured
            try:
                HueyBackend("bad", {"OPTIONS": {"ENQUEUE_ON_COMMIT": "yes"}})
                refused = ""
            except ImproperlyConfigured as exc:
                refused = str(exc)
            on_commit = total.using(backend="on_commit")
            with transaction.atomic():
                deferred_id = on_commit.enqueue(3, 4).id
                counts.append(HUEY.pending_count())
                try:
                    on_commit.get_result(deferred_id)
                    counts.append("visible before the commit")
                except Exception as exc:
                    counts.append(type(exc).__name__)
            counts.append(HUEY.pending_count())
            counts.append(on_commit.get_result(deferred_id).status.value)
            try:
                with transaction.atomic():
                    on_commit.enqueue(5, 6)
                    raise RuntimeError
            except RuntimeError:
                pass
            counts.append(HUEY.pending_count())
            HUEY.flush()
            later = timezone.now() + timedelta(hours=1)
            deferred = total.using(run_after=later).enqueue(1, 2)
            [scheduled] = HUEY.scheduled()
            print(json.dumps({
                "counts": counts,
                "message": [message.name, list(message.args)],
                "refused": refused,
                "scheduled": [scheduled.id == deferred.id, scheduled.priority,
                              abs(scheduled.eta - later.timestamp()) < 1e-3],
                "status": total.get_result(deferred.id).status.value,
                "run_after": total.get_result(deferred.id).task.run_after == later,
            }))
            """
        ),
    )
    assert seen["counts"] == [0, 1, 1, 0, "TaskResultDoesNotExist", 1, "READY", 1]
    assert "TASKS['bad']['OPTIONS']['ENQUEUE_ON_COMMIT'] must be True or False" in seen["refused"]
    assert seen["message"] == ["shop.tasks.welcome", ["inside"]]
    assert seen["scheduled"] == [True, 5, True]
    assert (seen["status"], seen["run_after"]) == ("READY", True)


def test_run_huey_takes_the_consumer_flags_and_autoload_switch(
    sqlite_project: DjangoProject, tmp_path: Path
) -> None:
    """Flags override HUEY['consumer']; -A skips the tasks modules; SIGTERM ends it too."""
    log = tmp_path / "consumer.log"
    consumer = sqlite_project.start_consumer("-w", "3", "-k", "process", "-A", log=log)
    try:
        line = _wait_for_line(log, "huey consumer shop", consumer)
    finally:
        consumer.send_signal(signal.SIGTERM)
        status = consumer.wait(_DEADLINE)
    assert "3 process worker(s)" in line
    assert "shop.tasks" not in line  # -A: the app's tasks module was not imported
    assert "djtasks.run" in line  # the Tasks backend's task, from settings.TASKS
    assert status == 0, log.read_text()


def test_run_huey_reads_its_defaults_from_the_settings(
    sqlite_project: DjangoProject, tmp_path: Path
) -> None:
    log = tmp_path / "consumer.log"
    consumer = sqlite_project.start_consumer(log=log)
    try:
        line = _wait_for_line(log, "huey consumer shop", consumer)
    finally:
        status = _stop(consumer, log)
    assert "2 thread worker(s)" in line  # HUEY["consumer"]["workers"]
    assert "shop.tasks.ship" in line  # autodiscovered
    assert status == 0


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-w", "0"], "expected a number >= 1"),
        (["-k", "fibre"], "invalid choice"),
        (["--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_a_bad_flag_exits_2_like_huey_consumer(
    sqlite_project: DjangoProject, flags: list[str], message: str
) -> None:
    done = sqlite_project.manage("run_huey", *flags, check=False)
    assert done.returncode == 2
    assert message in done.stderr


def test_a_bad_setting_stops_the_start_up_naming_it(tmp_path: Path) -> None:
    project = make_sqlite_project(tmp_path, 'HUEY["consumer"] = {"wrokers": 2}')
    done = project.manage("check", check=False)
    assert done.returncode == 1
    assert "ImproperlyConfigured: settings.HUEY['consumer']" in done.stderr
    assert "wrokers" in done.stderr


def test_immediate_mode_runs_django_tasks_in_the_caller(tmp_path: Path) -> None:
    """With HUEY["immediate"] (DEBUG's default), enqueue() returns the finished result."""
    project = migrated(make_sqlite_project(tmp_path, 'HUEY["immediate"] = True'))
    seen = project.shell(
        """
        import json, os
        from shop.models import Event
        from shop.tasks import explode, total
        done = total.enqueue(1, 2)
        failed = explode.enqueue()
        print(json.dumps([done.status.value, done.return_value, failed.status.value,
                          list(Event.objects.values_list("pid", flat=True)) == [os.getpid()]]))
        """
    )
    assert seen == ["SUCCESSFUL", {"sum": 3}, "FAILED", True]


def test_a_task_the_worker_cannot_import_fails_its_record(tmp_path: Path) -> None:
    project = migrated(make_sqlite_project(tmp_path, 'HUEY["immediate"] = True'))
    seen = project.shell(
        """
        import json
        from huey.contrib.djhuey import HUEY
        from huey.contrib.djhuey.tasks_backend import RECORD_PREFIX, TaskRecord, run_task
        record = TaskRecord(id="gone", module_path="shop.tasks.removed", backend="default",
                            queue_name="default", priority=0, run_after=None, status="READY",
                            args=[], kwargs={})
        HUEY.put(RECORD_PREFIX + record.id, record)
        run_task(record.id)
        stored = HUEY.get(RECORD_PREFIX + record.id, peek=True)
        print(json.dumps([stored.status, [path for path, _ in stored.errors],
                          stored.finished_at is not None, len(stored.worker_ids)]))
        """
    )
    assert seen == [
        "FAILED",
        ["huey.contrib.djhuey.tasks_backend.TaskNotImportableError"],
        True,
        1,
    ]


def test_an_unreachable_storage_exits_2_like_huey_consumer(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = {"huey_class": "huey.PriorityRedisHuey", "name": "shop", "connection": {"port": port}}
    project = make_sqlite_project(tmp_path, f"HUEY = {redis!r}")
    done = project.manage("run_huey", check=False)
    assert done.returncode == 2, done.stderr
    assert str(port) in done.stderr


def test_a_storage_without_priorities_refuses_a_task_priority(tmp_path: Path) -> None:
    """RedisHuey has no priorities, so Django refuses ``@task(priority=5)`` at import."""
    redis = {"huey_class": "huey.RedisHuey", "name": "shop"}  # never connected
    project = make_sqlite_project(tmp_path, f"HUEY = {redis!r}")
    done = project.manage("shell", "-c", "import shop.tasks", check=False)
    assert done.returncode == 1
    assert "does not support setting priority" in done.stderr
