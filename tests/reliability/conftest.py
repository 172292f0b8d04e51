"""Fixtures of the reliability battery: the storage target of each scenario."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.postgres_server import PgEnvironment, PgServer, no_server, pg_environment
from tests.redis.conftest import RedisServer, private_redis

__all__ = ("Target", "battery_pg", "pg_url", "private_pg", "private_redis", "target")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a scenario's queue lives.

    Attributes:
        kind: ``"sqlite"``, ``"redis"`` or ``"postgres"``.
        location: the SQLite file, the Redis URL, or the PostgreSQL URL.
        server: the private redis-server (AOF, ``appendfsync always``), which the
            scenario may kill and restart.
    """

    kind: str
    location: str
    server: RedisServer | None = None


def pg_url(dsn: str) -> str:
    """``dsn`` as a ``postgresql://`` URL (every parameter kept, as query parameters)."""
    return "postgresql://?" + urlencode(conninfo_to_dict(dsn))


@pytest.fixture(scope="session")
def battery_pg() -> Iterator[PgEnvironment]:
    """The battery's PostgreSQL (see :mod:`tests.postgres_server`); each scenario makes a
    database of its own on it."""
    with pg_environment() as env:
        yield env


_databases = itertools.count()


@pytest.fixture(
    params=["sqlite", "redis", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def target(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    private_redis: Callable[..., RedisServer],  # the fixture imported above
) -> Iterator[Target]:
    """The scenario's storage: a SQLite file, a private redis-server of its own, or a
    PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield Target("sqlite", str(tmp_path / "battery.db"))
    elif request.param == "redis":
        server = private_redis()
        yield Target("redis", server.url, server)
    else:
        env: PgEnvironment = request.getfixturevalue("battery_pg")
        with env.scratch_database(f"b{next(_databases)}") as dsn:
            yield Target("postgres", pg_url(dsn))


@pytest.fixture
def private_pg() -> Iterator[PgServer]:
    """A private PostgreSQL server of the test's own, which it may crash and restart.

    Skipped (failed under ``CI=true``) when ``initdb`` and ``postgres`` cannot make one.
    """
    try:
        server = PgServer()
    except (AssertionError, RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        no_server(f"NO PRIVATE POSTGRESQL SERVER: the test did not run ({exc!r})")
    try:
        server.start()
    except RuntimeError as exc:
        server.remove()
        no_server(f"NO PRIVATE POSTGRESQL SERVER: the test did not run ({exc})")
    try:
        yield server
    finally:
        server.remove()
