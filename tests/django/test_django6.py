"""The Django 6 path: ``django.tasks`` built in, on Python 3.12 (see ``django6.py``).

Skipped, with the reason, when no Python 3.12 or newer is installed.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, cast

import pytest

from .django6 import django6_python
from .project import make_project

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.mark.timeout(600)  # the first run makes the venv (pip install of Django 6)
def test_django6_tasks_and_huey_tasks_run_under_run_huey(tmp_path: Path) -> None:
    python = django6_python()
    if python is None:
        pytest.skip("no Python 3.12+ interpreter: the Django 6 (django.tasks) path is untested")
    database: dict[str, object] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "shop.sqlite3"),
        "OPTIONS": {"timeout": 30},
    }
    project = make_project(tmp_path / "site", database, python=python)
    project.manage("makemigrations", "shop")
    project.manage("migrate")
    log = tmp_path / "consumer.log"
    consumer = project.start_consumer(log=log)
    try:
        seen = cast(
            dict[str, Any],
            project.shell(
                """
                import importlib.util, json, time
                import django
                from shop.models import Order
                from shop.tasks import explode, ship, total

                order = Order.objects.create(reference="B-1")
                shipped = ship(order.pk).get(blocking=True, timeout=60)
                ids = [total.enqueue(4, 5).id, explode.enqueue().id]
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    results = [total.get_result(ids[0]), explode.get_result(ids[1])]
                    if all(result.is_finished for result in results):
                        break
                    time.sleep(0.05)
                print(json.dumps({
                    "django": django.VERSION[0],
                    "module": type(total).__module__,
                    "backport": importlib.util.find_spec("django_tasks") is not None,
                    "shipped": shipped,
                    "total": [results[0].status.value, results[0].return_value],
                    "explode": [results[1].status.value,
                                [e.exception_class_path for e in results[1].errors]],
                }))
                """
            ),
        )
    finally:
        consumer.send_signal(signal.SIGINT)
        status = consumer.wait(60)
    assert status == 0, log.read_text()
    assert seen["django"] >= 6
    assert (seen["module"], seen["backport"]) == ("django.tasks.base", False)
    assert seen["shipped"] == "shipped"
    assert seen["total"] == ["SUCCESSFUL", {"sum": 9}]
    assert seen["explode"] == ["FAILED", ["builtins.ValueError"]]
