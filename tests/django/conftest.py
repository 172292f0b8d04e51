"""Fixtures of the Django tests: a generated project on SQLite and on PostgreSQL.

PostgreSQL is a private server started by :mod:`tests.django.postgres` (``initdb`` and
``pg_ctl`` on PATH), else the server ``HUEY_PG_DSN`` names; without either the
PostgreSQL tests are skipped with the reason, and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

from .in_process import configure
from .postgres import PgServer, database, private_server, server_from_dsn
from .project import DjangoProject, make_project

__all__ = ("make_sqlite_project", "migrated", "project", "sqlite_project")

configure()  # for the tests that import huey.contrib.djhuey in this process


@pytest.fixture(scope="session")
def pg_server() -> Generator[PgServer]:
    """A PostgreSQL server for the session (private, or ``HUEY_PG_DSN``'s)."""
    dsn = os.environ.get("HUEY_PG_DSN")
    if dsn:
        yield server_from_dsn(dsn)
        return
    try:
        with private_server() as server:
            yield server
            return
    except RuntimeError as exc:
        reason = f"no PostgreSQL for the Django tests: {exc}; set HUEY_PG_DSN to use a server"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


def migrated(project: DjangoProject) -> DjangoProject:
    """``project`` after ``makemigrations shop`` and ``migrate``."""
    project.manage("makemigrations", "shop")
    project.manage("migrate")
    return project


def make_sqlite_project(
    tmp_path: Path, extra_settings: str = "", python: str = sys.executable
) -> DjangoProject:
    sqlite: dict[str, object] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(tmp_path / "shop.sqlite3"),
        "OPTIONS": {"timeout": 30},
    }
    return make_project(tmp_path / "site", sqlite, extra_settings=extra_settings, python=python)


@pytest.fixture
def sqlite_project(tmp_path: Path) -> DjangoProject:
    """The generated project on SQLite, migrated."""
    return migrated(make_sqlite_project(tmp_path))


@pytest.fixture(params=["sqlite", "postgresql"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Generator[DjangoProject]:
    """The generated project, migrated, on each database."""
    if request.param == "sqlite":
        yield migrated(make_sqlite_project(tmp_path))
        return
    server: PgServer = request.getfixturevalue("pg_server")
    with database(server) as name:
        postgres: dict[str, object] = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "HOST": server.host,
            "PORT": str(server.port),
            "USER": server.user,
            "PASSWORD": server.password,
        }
        yield migrated(make_project(tmp_path / "site", postgres))
