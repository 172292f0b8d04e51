"""A real Django project, written into a temporary folder by the tests.

``shop`` is its app: two models (``Order`` and ``Event``, the rows tasks write), and a
``tasks.py`` with huey tasks (``db_task``, ``on_commit_task``) and tasks of Django's Tasks
framework run by :class:`~huey.contrib.djhuey.tasks_backend.HueyBackend`, and
``waiting.py``, whose ``finished_results()`` waits for Django Tasks results. Everything is
run through ``manage.py`` in child processes, as in a deployment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

__all__ = ("DjangoProject", "make_project")

_MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

_SETTINGS = """\
import json
import os

SECRET_KEY = "only-for-tests"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = []
INSTALLED_APPS = ["django.contrib.contenttypes", "huey.contrib.djhuey", "shop"]
DATABASES = {{"default": json.loads(os.environ["SHOP_DATABASE"])}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
HUEY = {{
    "huey_class": "huey.SqliteHuey",
    "name": "shop",
    "filename": {huey_db!r},
    "consumer": {{"workers": 2, "initial_delay": 0.05, "max_delay": 0.2}},
}}
TASKS = {{
    "default": {{"BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend"}},
    "on_commit": {{
        "BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend",
        "OPTIONS": {{"ENQUEUE_ON_COMMIT": True}},
    }},
}}
{extra}
"""

_MODELS = """\
from django.db import models


class Order(models.Model):
    reference = models.CharField(max_length=50, unique=True)
    status = models.CharField(max_length=20, default="new")


class Event(models.Model):
    name = models.CharField(max_length=100)
    pid = models.IntegerField()
"""

_TASKS = """\
import os

try:
    from django.tasks import task as django_task
except ImportError:
    from django_tasks import task as django_task

from huey.contrib.djhuey import db_task, on_commit_task, task

from .models import Event, Order


@db_task()
def ship(order_id: int) -> str:
    Order.objects.filter(pk=order_id).update(status="shipped")
    Event.objects.create(name=f"ship:{order_id}", pid=os.getpid())
    return "shipped"


@on_commit_task()
def welcome(reference: str) -> str:
    Event.objects.create(name=f"welcome:{reference}", pid=os.getpid())
    return reference


@task()
def add(a: int, b: int) -> int:
    return a + b


@django_task(priority=5)
def total(a: int, b: int) -> dict[str, int]:
    Event.objects.create(name=f"total:{a}+{b}", pid=os.getpid())
    return {"sum": a + b}


@django_task()
async def async_total(a: int, b: int) -> int:
    return a + b


@django_task(takes_context=True)
def attempt_number(context, label: str) -> int:
    return context.attempt


@django_task()
def explode() -> None:
    raise ValueError("boom")
"""


_WAITING = """\
import time


def finished_results(pending, timeout=60.0):
    \"\"\"{key: (task, result id)} -> {key: result}, once all are finished (or at timeout).\"\"\"
    deadline = time.monotonic() + timeout
    while True:
        found = {key: task.get_result(result_id) for key, (task, result_id) in pending.items()}
        if all(result.is_finished for result in found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
"""


@dataclass(frozen=True)
class DjangoProject:
    """A generated project: its folder and the environment its processes get."""

    root: Path
    env: dict[str, str]
    python: str = sys.executable

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``manage.py ARGS`` to completion; return what it printed."""
        done = subprocess.run(
            [self.python, "manage.py", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done

    def shell(self, code: str) -> object:
        """Run ``code`` in ``manage.py shell``; return the JSON it prints last."""
        done = self.manage("shell", "-c", textwrap.dedent(code))
        lines = done.stdout.strip().splitlines()
        assert lines, f"the shell printed nothing:\n{done.stderr}"
        return json.loads(lines[-1])

    def start_consumer(self, *flags: str, log: Path) -> subprocess.Popen[bytes]:
        """Start ``manage.py run_huey FLAGS`` in the background, logging to ``log``."""
        with log.open("wb") as out:
            return subprocess.Popen(
                [self.python, "manage.py", "run_huey", *flags],
                cwd=self.root,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )


def make_project(
    root: Path,
    database: dict[str, object],
    *,
    extra_settings: str = "",
    python: str = sys.executable,
) -> DjangoProject:
    """Write the project into ``root`` and return it (no migration run yet).

    Args:
        root: the folder to create.
        database: ``DATABASES["default"]``.
        extra_settings: lines appended to ``settings.py``.
        python: the interpreter of its processes (another venv's, for Django 6).
    """
    (root / "proj").mkdir(parents=True)
    (root / "shop").mkdir()
    (root / "manage.py").write_text(_MANAGE)
    (root / "proj" / "__init__.py").write_text("")
    settings = _SETTINGS.format(huey_db=str(root / "huey.db"), extra=extra_settings)
    (root / "proj" / "settings.py").write_text(settings)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(_MODELS)
    (root / "shop" / "tasks.py").write_text(_TASKS)
    (root / "shop" / "waiting.py").write_text(_WAITING)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key != "PYTHONPATH"
    }
    env["SHOP_DATABASE"] = json.dumps(database)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return DjangoProject(root, env, python)
