"""Fixtures for the PostgreSQL tests: a private server when possible, else a database of our own.

The server comes from :func:`tests.postgres_server.pg_environment` (``HUEY_PG_DSN``, else
a private server made with ``initdb``, else the local server on 127.0.0.1:5432); the
tests that restart the server or rely on its password are skipped without a private
one. With no server at all every PostgreSQL test is skipped with a loud reason, except
under ``CI=true`` where they fail instead.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg.conninfo import make_conninfo

from huey.storage.postgres import PostgresStorage
from tests.postgres_server import PASSWORD, PgEnvironment, PgServer, free_port, pg_environment

__all__ = ("PASSWORD", "PgServer", "StorageFactory", "dsn_with", "free_port")


@pytest.fixture(scope="session")
def pg_env() -> Iterator[PgEnvironment]:
    """The PostgreSQL of this run (see :mod:`tests.postgres_server`), with a fresh database."""
    with pg_environment() as env:
        yield env


@pytest.fixture
def pg_dsn(pg_env: PgEnvironment) -> str:
    """A DSN to the run's own database."""
    return pg_env.dsn


@pytest.fixture
def pg_server(pg_env: PgEnvironment) -> PgServer:
    """The private server, for tests that restart it or test passwords (else skipped)."""
    if pg_env.server is None:
        pytest.skip(
            "needs a private server (initdb and postgres on PATH): it restarts the server "
            "or relies on its settings (a password, fsync=off)"
        )
    return pg_env.server


_names = itertools.count()


class StorageFactory:
    """Makes storages on fresh queue names; deletes their rows and closes them after."""

    def __init__(self, dsn: str, test_name: str) -> None:
        self.dsn = dsn
        self.test_name = test_name
        self.made: list[PostgresStorage] = []

    def name(self) -> str:
        """A queue name no other storage of this run uses."""
        return f"t{os.getpid()}-{next(_names)}-{self.test_name[:40]}"

    def __call__(self, name: str | None = None, **kwargs: Any) -> PostgresStorage:
        """``PostgresStorage(name, dsn, **kwargs)``, remembered for cleanup."""
        storage = PostgresStorage(name or self.name(), self.dsn, **kwargs)
        self.made.append(storage)
        return storage

    def cleanup(self) -> None:
        """Delete the rows of every queue made here, then close the storages."""
        for storage in self.made:
            with contextlib.suppress(Exception):  # the test may have stopped the server
                storage.flush_all()
            storage.close()


@pytest.fixture
def make_storage(pg_dsn: str, request: pytest.FixtureRequest) -> Iterator[StorageFactory]:
    """A :class:`StorageFactory` on the run's database."""
    factory = StorageFactory(pg_dsn, request.node.name)
    yield factory
    factory.cleanup()


def dsn_with(dsn: str, **changes: Any) -> str:
    """``dsn`` with some parameters changed."""
    return make_conninfo(dsn, **changes)
