"""A PostgreSQL server for the tests: a private one when possible, else a database of our own.

Shared by ``tests/postgres/`` and the reliability battery (``tests/reliability/``).
:func:`pg_environment` finds, in this order:

1. the server named by ``HUEY_PG_DSN``, when set (it overrides the others);
2. a private server that :class:`PgServer` makes with ``initdb`` and starts with
   ``postgres`` on a free port in a temporary directory (as the ``postgres`` user when
   running as root, which ``initdb`` refuses), so tests may restart it and test passwords;
3. the local server on 127.0.0.1:5432 (trust authentication).

On 2 and 3 the run creates a database of its own and drops it at the end; nothing else
on those servers is touched. With no server at all the tests are skipped with a loud
reason, except under ``CI=true`` where they fail instead.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

__all__ = ("PASSWORD", "PgEnvironment", "PgServer", "free_port", "no_server", "pg_environment")

PASSWORD = "s3cret-test-pw"
"""The superuser's password on the private server (scram-sha-256 over TCP)."""


def _server_binary(name: str) -> str | None:
    """``name`` on PATH, else in Debian's versioned directory (not on PATH there)."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


_INITDB = _server_binary("initdb")
_POSTGRES = _server_binary("postgres")
_NO_SERVER = (
    "NO POSTGRESQL SERVER: the PostgreSQL tests did not run. Install PostgreSQL's server "
    "(initdb and postgres on PATH), set HUEY_PG_DSN, or run a server on 127.0.0.1:5432."
)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _run_as() -> str | None:
    """The user to run the server as: ``postgres`` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return "postgres"


class PgServer:
    """A private PostgreSQL server the tests may stop, kill and restart.

    Args:
        settings: server settings (``name=value``) added to, or overriding, the
            defaults; the defaults turn ``fsync`` off (the tests crash the server
            process, never the machine, so nothing committed is lost).
    """

    restartable = True

    def __init__(self, *settings: str) -> None:
        assert _INITDB is not None
        assert _POSTGRES is not None
        self.user = _run_as()
        if os.geteuid() == 0 and self.user is None:
            raise RuntimeError("running as root without a 'postgres' user for initdb")
        # Under /tmp, not pytest's tmp_path: the server's user must reach the directory.
        self.directory = Path(tempfile.mkdtemp(prefix="huey-pg-"))
        self.data = self.directory / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.settings = settings
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        pwfile = self.directory / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.user is not None:
            os.chown(pwfile, pwd.getpwnam(self.user).pw_uid, -1)
        subprocess.run(
            [_INITDB, "-D", str(self.data), "-U", "huey", f"--pwfile={pwfile}",
             "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync",
             "--locale=C"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, user=self.user,
        )  # fmt: skip

    @property
    def dsn(self) -> str:
        """A DSN to the ``postgres`` database as the superuser ``huey``."""
        return f"host=127.0.0.1 port={self.port} user=huey password={PASSWORD} dbname=postgres"

    def start(self) -> None:
        """Start the server and wait until it accepts connections (at most 30 s)."""
        log = open(self.directory / "server.log", "ab")  # noqa: SIM115  # the server owns it
        self.process = subprocess.Popen(
            [_POSTGRES or "postgres", "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.directory}",
             "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
             "-c", "shared_buffers=32MB",
             *(arg for setting in self.settings for arg in ("-c", setting))],
            stdout=log, stderr=log, user=self.user, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    text = (self.directory / "server.log").read_text(errors="replace")[-2000:]
                    self.stop()
                    raise RuntimeError(f"postgres did not start on {self.port}:\n{text}") from None
                time.sleep(0.05)

    def stop(self, sig: signal.Signals = signal.SIGINT) -> None:
        """Stop the server: SIGINT is a fast shutdown, SIGQUIT an immediate one (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def restart(self, sig: signal.Signals = signal.SIGQUIT) -> None:
        """Stop the server (a crash by default) and start it again on the same port."""
        self.stop(sig)
        self.start()

    def remove(self) -> None:
        """Stop the server and delete its directory."""
        self.stop(signal.SIGQUIT)
        shutil.rmtree(self.directory, ignore_errors=True)


def _reachable(dsn: str) -> bool:
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def no_server(reason: str = _NO_SERVER) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


class PgEnvironment:
    """The server of this run and the database the tests use on it."""

    def __init__(self, server: PgServer | None, admin_dsn: str) -> None:
        self.server = server
        self.admin_dsn = admin_dsn
        self.database = f"huey_test_{os.getpid()}_{int(time.time())}"
        self.dsn = make_conninfo(admin_dsn, dbname=self.database)

    def create(self) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"'.encode())

    def drop(self) -> None:
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self.admin_dsn, autocommit=True) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'.encode())

    @contextlib.contextmanager
    def scratch_database(self, suffix: str) -> Generator[str]:
        """Another database of this run, ``<database>_<suffix>``, dropped after; its DSN."""
        name = f"{self.database}_{suffix}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        try:
            yield make_conninfo(self.admin_dsn, dbname=name)
        finally:
            with (
                contextlib.suppress(psycopg.Error),
                psycopg.connect(self.admin_dsn, autocommit=True) as conn,
            ):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _private_server() -> PgServer | None:
    """A started private server, or ``None`` (with a warning) when it cannot be made."""
    try:
        server = PgServer()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        print(f"no private PostgreSQL server: {exc}", file=sys.stderr)
        return None
    try:
        server.start()
    except RuntimeError as exc:
        server.remove()
        print(f"no private PostgreSQL server: {exc}", file=sys.stderr)
        return None
    except BaseException:
        server.remove()
        raise
    return server


@contextlib.contextmanager
def pg_environment() -> Generator[PgEnvironment]:
    """The PostgreSQL of this run (see the module docstring), with a fresh database.

    Skips the test (fails it under ``CI=true``) when no server can be had.
    """
    server: PgServer | None = None
    admin = os.environ.get("HUEY_PG_DSN")
    if admin is None and _INITDB is not None and _POSTGRES is not None:
        server = _private_server()
        admin = None if server is None else server.dsn
    if admin is None:
        local = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
        admin = local if _reachable(local) else None
    if admin is None or not _reachable(admin):
        if server is not None:
            server.remove()
        no_server()
    env = PgEnvironment(server, admin)
    env.create()
    try:
        yield env
    finally:
        env.drop()
        if server is not None:
            server.remove()
