"""A private PostgreSQL server for the Django tests, or the one ``HUEY_PG_DSN`` names.

The server is made with ``initdb`` in a temporary folder and started with ``pg_ctl`` on
a free port (as the ``postgres`` user when the tests run as root, since PostgreSQL
refuses to run as root); it is stopped when the test session ends. Each test gets a
database of its own, created and dropped here.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

__all__ = ("PgServer", "database", "private_server", "server_from_dsn")


@dataclass(frozen=True)
class PgServer:
    """Where a PostgreSQL server listens and who to connect as."""

    host: str
    port: int
    user: str
    password: str = ""

    def dsn(self, dbname: str = "postgres") -> str:
        parts = [f"host={self.host}", f"port={self.port}", f"user={self.user}"]
        if self.password:
            parts.append(f"password={self.password}")
        return " ".join([*parts, f"dbname={dbname}"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def private_server() -> Generator[PgServer]:
    """Start a throwaway server (initdb + pg_ctl); stop and delete it afterwards.

    Raises:
        RuntimeError: the binaries are missing, or the server did not start (the
            message has its log).
    """
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("initdb/pg_ctl are not on PATH")
    prefix: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="huey-django-pg-"))
    if os.geteuid() == 0:  # PostgreSQL will not run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError("running as root and there is no postgres user") from None
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = folder / "data", folder / "server.log"
    port = _free_port()
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
            capture_output=True,
        )
        if started.returncode != 0:
            text = log.read_text() if log.exists() else started.stderr.decode()
            raise RuntimeError(f"pg_ctl start failed:\n{text}")
        try:
            yield PgServer("127.0.0.1", port, "postgres")
        finally:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def server_from_dsn(dsn: str) -> PgServer:
    """The server a ``HUEY_PG_DSN`` connection string names."""
    info = conninfo_to_dict(dsn)
    return PgServer(
        host=str(info.get("host", "127.0.0.1")),
        port=int(str(info.get("port", 5432))),
        user=str(info.get("user", "postgres")),
        password=str(info.get("password", "")),
    )


@contextmanager
def database(server: PgServer) -> Generator[str]:
    """A fresh database on ``server`` (its name), dropped afterwards."""
    name = f"huey_django_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(server.dsn(), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
