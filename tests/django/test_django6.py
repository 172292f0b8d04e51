"""The Django 6 path: ``django.tasks`` built in, on Python 3.12 (see ``django6.py``).

Skipped, with the reason, when no Python 3.12 or newer is installed.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, cast

import pytest

from .conftest import make_sqlite_project, migrated
from .django6 import django6_python_or_skip

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.mark.timeout(600)  # the first run makes the venv (pip install of Django 6)
def test_django6_tasks_and_huey_tasks_run_under_run_huey(tmp_path: Path) -> None:
    project = migrated(make_sqlite_project(tmp_path, python=django6_python_or_skip()))
    log = tmp_path / "consumer.log"
    consumer = project.start_consumer(log=log)
    try:
        seen = cast(
            dict[str, Any],
            project.shell(
                """
                import importlib.util, json
                import django
                from shop.models import Order
                from shop.tasks import explode, ship, total
                from shop.waiting import finished_results

                order = Order.objects.create(reference="B-1")
                shipped = ship(order.pk).get(blocking=True, timeout=60)
                found = finished_results({
                    "total": (total, total.enqueue(4, 5).id),
                    "explode": (explode, explode.enqueue().id),
                })
                results = [found["total"], found["explode"]]
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
