"""Django settings for the tests that import ``huey.contrib.djhuey`` in pytest's process.

A minimal project: a ``MemoryHuey`` (not immediate), an in-memory SQLite database and
two ``HueyBackend`` aliases of Django's Tasks framework (``expiring`` has ``EXPIRES``).
Everything that needs a real project runs in the generated projects' own processes
(:mod:`tests.django.project`).
"""

from __future__ import annotations

from django.conf import settings

import django

__all__ = ("configure",)


def configure() -> None:
    """Configure Django once for this process (later calls do nothing)."""
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        INSTALLED_APPS=["huey.contrib.djhuey"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        HUEY={"huey_class": "huey.MemoryHuey", "name": "in-process", "immediate": False},
        TASKS={
            "default": {"BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend"},
            "expiring": {
                "BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend",
                "OPTIONS": {"EXPIRES": 30},
            },
        },
    )
    django.setup()
