"""PostgreSQL storage: a queue shared by many hosts, transactional with the application's data.

Importing this module imports psycopg 3 and psycopg_pool (install ``huey[postgres]``);
``import huey`` does not.

Design notes (why it looks like this):

* **Leases on the task row.** ``reserve`` is one ``UPDATE ... RETURNING`` of the best
  ready row, picked with ``FOR UPDATE SKIP LOCKED`` so that concurrent workers never wait
  for each other; the row keeps its lease token and deadline until ``ack``/``settle``
  deletes it, so a message is never only in a worker's memory. The same statement reads
  the keys the item watches (huey's revocation flags), and ``settle`` stores the result,
  drops the one-shot keys and deletes the row in one statement that does nothing unless
  the lease token is still current.
* **One connection pool per process.** psycopg_pool keeps connections for the threads
  of a process; a pool (or a listening connection) made before a ``fork()`` is never
  used, nor closed, in the child (closing it there would end the parent's sessions): the
  child notices the new process id and opens its own.
* **LISTEN/NOTIFY instead of polling.** Every enqueue calls ``pg_notify`` on the queue's
  channel (delivered when the enqueuing transaction commits) and storing a result
  notifies the result channel. One listening connection per process wakes the waiting
  workers and result readers; when it is down they fall back to re-checking every
  ``read_timeout`` seconds, and it reconnects on its own.
* **Resending after a lost connection.** After a server restart, every idle pooled
  connection is dead; a statement failing on one is sent once more on a new connection
  (and the pool drops its other dead ones). The statement may have run before the
  connection died, so it is resent only where that is harmless. An enqueue carries a
  key made once per call by the client, and so does a ``settle`` (``ack``); an applied
  one's key is kept for 30 seconds in ``<prefix>_recent``, written by the same
  statement, so a resent enqueue inserts nothing (even once its task ran) and a resent
  settle reports the first one's success (expired keys are pruned by the consumers'
  periodic check for expired leases). Reads, ``put_data``/``put_result``,
  ``extend_lease`` and the flushes change nothing more; a repeated ``reserve`` leaves
  the first lease to expire (the item comes back, delivered once more); a repeated
  ``release``, ``dead_letter``,
  ``requeue_dead_letter``, ``delete_dead_letter`` or ``delete_if_equal`` finds its token
  (or letter, key) gone and reports ``False`` although the first run succeeded. Never
  resent, so a lost connection raises :class:`PostgresConnectionFailed`: ``incr``,
  ``put_if_empty*``, ``pop_data``, ``read_schedule``, ``purge_dead_letters`` and the
  semaphores (they would count twice, report their own write as someone else's, or lose
  the values they removed), and the multi-statement transactions (``move_due``, ``requeue_expired``,
  ``flush_all``), which a lost connection rolls back whole.
* **Transactional enqueue.** Inside :meth:`PostgresStorage.transaction`, enqueueing
  and scheduling write through the application's own connection, so the task exists
  only if the application's transaction commits (and its notification is only sent
  then).
* The server's clock times key expiry and semaphores, so hosts never disagree on them.
* Every psycopg error becomes a typed :class:`~huey.exceptions.StorageError` naming the
  server (never the password) and the cause.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, Protocol, TypeVar

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow, tuple_row
from psycopg_pool import ConnectionPool, PoolTimeout
from typing_extensions import override

from .. import _core
from ..constants import EmptyData, EmptyDataType
from ..exceptions import (
    ConfigurationError,
    StorageAccessError,
    StorageBusy,
    StorageError,
    StorageFull,
)
from ..protocols import DeadLetter, Lease, LeaseCounts
from ._checks import check_limit, check_priority, row_id
from ._postgres_schema import (
    SCHEMA_VERSION,
    TABLES,
    channel_name,
    check_table_prefix,
    schema_sql,
)
from ._postgres_sql import Statements

__all__ = ("PostgresStorage", "PostgresConnectionFailed", "schema_sql", "main")

_Conn = psycopg.Connection[TupleRow]
_Row = TypeVar("_Row")
_T = TypeVar("_T")

# Objects inherited from a parent process through fork(): kept referenced so that garbage
# collection never closes them in the child (see the module docstring).
_inherited: list[object] = []


class _Executes(Protocol):
    """What the storage needs of the application's connection it joins: ``execute``."""

    def execute(self, query: bytes, params: Mapping[str, object], /) -> object: ...


class PostgresConnectionFailed(StorageError):
    """PostgreSQL could not be reached or refused the credentials.

    Attributes:
        storage: the server (host, port, database, user), without the password.
    """


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_connection(value: object) -> bool:
    return isinstance(value, ConnectionPool | psycopg.Connection)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _describe(params: Mapping[str, object]) -> str:
    """Where the storage connects, for messages: never the password."""
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or 5432
    where = f"postgresql://{host}:{port}"
    if params.get("dbname"):
        where += f"/{params['dbname']}"
    if params.get("user"):
        where += f" (user {params['user']})"
    return where


class _Listener:
    """One listening connection per process: wakes waiting workers and result readers.

    ``generation`` grows with every notification on the queue channel (and on every
    reconnection, which may have missed some), so a waiter that read it before looking
    at the queue cannot miss a wake-up that came in between.
    """

    def __init__(
        self,
        connect: Callable[[], _Conn],
        queue_channel: str,
        result_channel: str,
    ):
        self._connect = connect
        self._queue_channel = queue_channel
        self._result_channel = result_channel
        self._condition = threading.Condition()
        self._stop = threading.Event()
        self.generation = 0
        self.connected = threading.Event()
        self._readers: dict[str, list[threading.Event]] = {}
        self.connection: _Conn | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"huey-postgres-listen-{queue_channel}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        pause = 0.05
        while not self._stop.is_set():
            try:
                with self._connect() as conn:
                    self.connection = conn
                    for channel in (self._queue_channel, self._result_channel):
                        conn.execute(f"LISTEN {_quoted(channel)}".encode())
                    self.connected.set()
                    self._wake_everyone()  # notifications sent while disconnected are lost
                    pause = 0.05
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.25):
                            self._deliver(note.channel, note.payload)
            except Exception:  # any failure (server gone, pool exhausted): reconnect later
                self.connected.clear()
                self._wake_everyone()
                self._stop.wait(pause)
                pause = min(pause * 2, 2.0)
            finally:
                self.connection = None
        self.connected.clear()

    def _deliver(self, channel: str, payload: str) -> None:
        if channel == self._queue_channel:
            with self._condition:
                self.generation += 1
                self._condition.notify_all()
            return
        with self._condition:
            for event in self._readers.get(payload, ()):
                event.set()

    def _wake_everyone(self) -> None:
        with self._condition:
            self.generation += 1
            self._condition.notify_all()
            for events in self._readers.values():
                for event in events:
                    event.set()

    def wait_for_queue(self, seen: int, timeout: float) -> None:
        """Wait until a notification came after ``generation`` was ``seen``, or ``timeout``."""
        with self._condition:
            self._condition.wait_for(lambda: self.generation != seen, timeout)

    @contextlib.contextmanager
    def reader(self, key: str) -> Generator[threading.Event]:
        """An event set when a result is stored under ``key`` (while the block runs)."""
        event = threading.Event()
        with self._condition:
            self._readers.setdefault(key, []).append(event)
        try:
            yield event
        finally:
            with self._condition:
                events = self._readers.get(key, [])
                if event in events:
                    events.remove(event)
                if not events:
                    self._readers.pop(key, None)

    def stop(self) -> None:
        """Stop listening and close the connection (within about a quarter second)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(2.0)


def _quoted(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier (channel names may hold any character)."""
    return '"' + identifier.replace('"', '""') + '"'


def _rows(
    conn: _Conn, query: str, params: Sequence[object] | Mapping[str, object] = ()
) -> list[TupleRow]:
    """Run ``query`` on ``conn``; its rows as tuples whatever the connection's row factory
    (a connection given by the application may make dicts)."""
    with conn.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(query.encode(), params)
        return cursor.fetchall() if cursor.description is not None else []


def _new_token() -> str:
    return secrets.token_hex(16)


class PostgresStorage:
    """Queue, schedule, results, counters, leases and dead letters in PostgreSQL.

    Satisfies :class:`~huey.protocols.Storage` and the capabilities
    :class:`~huey.protocols.SupportsLeases`,
    :class:`~huey.protocols.SupportsDeadLetterDeletion`,
    :class:`~huey.protocols.SupportsLeaseCounts`, :class:`~huey.protocols.SupportsKeyedEnqueue`,
    :class:`~huey.protocols.SupportsSettle`,
    :class:`~huey.protocols.SupportsScheduleTransfer`,
    :class:`~huey.protocols.SupportsBlockingDequeue`,
    :class:`~huey.protocols.SupportsResultNotification`,
    :class:`~huey.protocols.SupportsCounters`, :class:`~huey.protocols.SupportsExpiringKeys`,
    :class:`~huey.protocols.SupportsCompareAndDelete`,
    :class:`~huey.protocols.SupportsPeekMany`, :class:`~huey.protocols.SupportsDeleteData`,
    :class:`~huey.protocols.SupportsFlushAll`, :class:`~huey.protocols.SupportsSemaphores`,
    :class:`~huey.protocols.SupportsConnectionCheck`,
    :class:`~huey.protocols.SupportsDurabilityReport` and
    :class:`~huey.protocols.SupportsClose`. Several queues (huey names) may share one
    database and one set of tables. Safe to use from many threads, processes and hosts.

    Nothing is connected when the storage is made: the first use in each process
    connects (and creates the tables with ``create_tables=True``).

    Args:
        name: the queue's name; rows of other queues in the same tables are invisible.
        dsn: a libpq connection string or URL
            (``postgresql://user:password@host:5432/db``); the ``connection_params``
            add to it or override it.
        connection: a :class:`psycopg_pool.ConnectionPool` or a
            :class:`psycopg.Connection` to use instead of opening a pool (with a pool,
            the storage listens on one more connection made with the pool's
            parameters). A given connection is shared by every thread (one statement
            at a time) and cannot listen, so the storage then polls; neither can be
            used after ``fork()``.
        blocking: an idle worker waits for a notification (``LISTEN``) instead of
            polling, so it takes a new task within milliseconds.
        read_timeout: seconds one blocking wait lasts before looking at the queue again.
        table_prefix: the tables are ``<table_prefix>_task``, ``<table_prefix>_kv``...
        create_tables: create the tables on first use if missing; with ``False`` they
            must exist (see :func:`schema_sql`).
        notify_result: storing a result wakes a blocked ``Result.get(blocking=True)``
            at once instead of it polling (needs ``blocking``'s listening connection).
        max_connections: the most connections the pool of one process opens (the
            listening connection comes on top).
        lock_timeout: seconds a statement waits for a lock held by another transaction
            before raising :class:`~huey.exceptions.StorageBusy`.
        statement_timeout: seconds any statement may run (``None``: the server's
            setting) before raising :class:`~huey.exceptions.StorageBusy`.
        connection_params: libpq parameters (``host``, ``port``, ``dbname``, ``user``,
            ``password``, ``sslmode``, ``connect_timeout``...) passed to psycopg.

    Raises:
        ConfigurationError: a parameter is invalid.
    """

    priority = True

    def __init__(
        self,
        name: str = "huey",
        dsn: str | None = None,
        connection: ConnectionPool[_Conn] | _Conn | None = None,
        blocking: bool = True,
        read_timeout: float = 1,
        table_prefix: str = "huey",
        create_tables: bool = True,
        *,
        notify_result: bool = True,
        max_connections: int = 10,
        lock_timeout: float = 5.0,
        statement_timeout: float | None = None,
        **connection_params: Any,
    ) -> None:
        if not _is_str(name) or not name:
            raise ConfigurationError(f"storage name must be a non-empty string, got {name!r}")
        if not _is_number(read_timeout) or not read_timeout > 0:
            raise ConfigurationError(
                f"read_timeout must be a positive number of seconds, got {read_timeout!r}"
            )
        if not _is_number(lock_timeout) or not lock_timeout > 0:
            raise ConfigurationError(
                f"lock_timeout must be a positive number of seconds, got {lock_timeout!r}"
            )
        if statement_timeout is not None and (
            not _is_number(statement_timeout) or not statement_timeout > 0
        ):
            raise ConfigurationError(
                "statement_timeout must be a positive number of seconds or None, "
                f"got {statement_timeout!r}"
            )
        if not _is_int(max_connections) or max_connections < 1:
            raise ConfigurationError(
                f"max_connections must be a positive int, got {max_connections!r}"
            )
        try:
            prefix = check_table_prefix(table_prefix)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        if connection is not None and (dsn is not None or connection_params):
            raise ConfigurationError(
                "give either connection= or dsn=/connection parameters, not both"
            )
        if connection is not None and not _is_connection(connection):
            raise ConfigurationError(
                "connection must be a psycopg_pool.ConnectionPool or a psycopg.Connection, "
                f"got {type(connection).__name__}"
            )
        try:
            conninfo = make_conninfo(dsn or "", **connection_params)
            self._params: dict[str, Any] = conninfo_to_dict(conninfo)
        except psycopg.ProgrammingError as exc:
            raise ConfigurationError(f"invalid PostgreSQL connection parameters: {exc}") from None
        self.name = name
        self.table_prefix = prefix
        self.create_tables: bool = bool(create_tables)
        self.read_timeout: float = float(read_timeout)
        self.lock_timeout: float = float(lock_timeout)
        self.statement_timeout: float | None = (
            None if statement_timeout is None else float(statement_timeout)
        )
        self.max_connections = max_connections
        # A single given connection cannot listen while it runs statements: poll instead.
        can_listen = not isinstance(connection, psycopg.Connection)
        self.blocking: bool = bool(blocking) and can_listen
        self.notify_result: bool = bool(notify_result) and can_listen
        self._conninfo = conninfo
        self._given = connection
        self._where = _describe(
            self._params if connection is None else self._given_params(connection)
        )
        self._queue_channel = channel_name(prefix, name, "q")
        self._result_channel = channel_name(prefix, name, "r")
        self._joined: ContextVar[_Executes | None] = ContextVar(f"huey-pg-{id(self)}", default=None)
        self._lock = threading.Lock()
        self._single = threading.Lock()
        self._pid = os.getpid()
        self._pool: ConnectionPool[_Conn] | None = None
        self._listener: _Listener | None = None
        self._ready = False
        self._sql = Statements(prefix)

    @staticmethod
    def _given_params(connection: ConnectionPool[_Conn] | _Conn) -> dict[str, Any]:
        if isinstance(connection, psycopg.Connection):
            return conninfo_to_dict(connection.info.dsn)
        conninfo = connection.conninfo
        return conninfo_to_dict(conninfo) if isinstance(conninfo, str) else {}

    @override
    def __repr__(self) -> str:
        return f"PostgresStorage(name={self.name!r}, server={self._where!r})"

    # --- connections and errors ---------------------------------------------------

    def _connect(self) -> _Conn:
        """A connection apart from the pool (schema check, listening), in autocommit.

        With a given pool it is made with the pool's parameters, so that listening never
        holds one of the application's pooled connections for good.
        """
        given = self._given
        if isinstance(given, ConnectionPool):
            conninfo = given.conninfo() if callable(given.conninfo) else given.conninfo
            kwargs = given.kwargs() if callable(given.kwargs) else dict(given.kwargs or {})
            kwargs["autocommit"] = True
            return psycopg.Connection.connect(conninfo, **kwargs)
        return psycopg.Connection.connect(self._conninfo, autocommit=True)

    def _configure(self, conn: _Conn) -> None:
        conn.execute(f"SET lock_timeout = {round(self.lock_timeout * 1000)}".encode())
        if self.statement_timeout is not None:
            conn.execute(f"SET statement_timeout = {round(self.statement_timeout * 1000)}".encode())

    def _source(self) -> ConnectionPool[_Conn] | _Conn:
        """This process's pool (made on first use), or the connection given."""
        pid = os.getpid()
        if self._pid != pid:
            self._forked(pid)
        if self._given is not None:
            self._ensure_schema()
            return self._given
        pool = self._pool
        if pool is not None:
            return pool
        with self._lock:
            if self._pool is None:
                self._ensure_schema()
                self._pool = ConnectionPool(
                    self._conninfo,
                    kwargs={"autocommit": True},
                    min_size=1,
                    max_size=self.max_connections,
                    configure=self._configure,
                    name=f"huey-{self.name}",
                    timeout=max(self.lock_timeout, 5.0),
                    open=True,
                )
            return self._pool

    def _forked(self, pid: int) -> None:
        """Forget the parent's pool and listener (never closing them here)."""
        if self._given is not None:
            raise ConfigurationError(
                f"{self!r} was given a connection made in another process; after fork() "
                "each process needs its own: pass dsn= instead of connection="
            )
        _inherited.extend(item for item in (self._pool, self._listener) if item is not None)
        if self._listener is not None and self._listener.connection is not None:
            _inherited.append(self._listener.connection)
        # A parent's thread may have held these locks at fork(): start with new ones.
        self._lock = threading.Lock()
        self._single = threading.Lock()
        self._pool = None
        self._listener = None
        self._pid = pid

    def _ensure_schema(self) -> None:
        """Check (or create) the tables once per process, on a connection of its own."""
        if self._ready:
            return
        with self._errors("checking the tables"):
            if isinstance(self._given, psycopg.Connection):
                with self._single:
                    self._check_or_create(self._given)
            else:
                with self._connect() as conn:
                    self._configure(conn)
                    self._check_or_create(conn)
        self._ready = True

    def _check_or_create(self, conn: _Conn) -> None:
        table = f"{self.table_prefix}_schema"
        with conn.transaction():
            rows = _rows(conn, "SELECT to_regclass(%s) IS NOT NULL", (table,))
            version = None
            if rows and rows[0][0]:
                found = _rows(conn, f"SELECT version FROM {table}")
                version = int(found[0][0]) if found else None
        if version == SCHEMA_VERSION:
            return
        if version is not None and version > SCHEMA_VERSION:
            raise ConfigurationError(
                f"the tables {self.table_prefix}_* on {self._where} have schema version "
                f"{version}, newer than this huey's {SCHEMA_VERSION}: upgrade huey"
            )
        if not self.create_tables:
            state = "do not exist" if version is None else f"have schema version {version}"
            raise ConfigurationError(
                f"the tables {self.table_prefix}_* {state} on {self._where} and "
                "create_tables=False: create or upgrade them with the SQL printed by "
                f"'python -m huey.storage.postgres --schema --table-prefix {self.table_prefix}'"
            )
        with conn.transaction():
            # Concurrent first uses (several workers starting at once) create them in turn.
            conn.execute(b"SELECT pg_advisory_xact_lock(hashtext(%s))", (table,))
            conn.execute(schema_sql(self.table_prefix).encode())

    def _error(self, exc: Exception, what: str) -> StorageError:
        text = _first_line(exc)
        password = self._params.get("password")
        if isinstance(password, str) and password:
            text = text.replace(password, "***")
        where = f"PostgreSQL at {self._where}"
        if isinstance(exc, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable):
            return StorageBusy(
                f"{where} did not finish in time while {what} ({text}); nothing was "
                "written. A lock held by another transaction (lock_timeout="
                f"{self.lock_timeout:g}s) or statement_timeout stopped it.",
                storage=self._where,
            )
        if isinstance(exc, psycopg.errors.DiskFull | psycopg.errors.OutOfMemory):
            return StorageFull(
                f"{where} is out of space while {what} ({text}); nothing was written.",
                storage=self._where,
            )
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return StorageAccessError(
                f"{where} refused {what} ({text}): grant the user rights on the "
                f"{self.table_prefix}_* tables.",
                storage=self._where,
            )
        if isinstance(exc, PoolTimeout):
            return PostgresConnectionFailed(
                f"{where} gave no connection while {what} ({text}): the server is down or "
                "every connection of the pool is busy.",
                storage=self._where,
            )
        if isinstance(exc, psycopg.OperationalError):
            return PostgresConnectionFailed(
                f"{where} could not be reached or refused the connection while {what}: {text}",
                storage=self._where,
            )
        return StorageError(f"{where} failed while {what}: {text}", storage=self._where)

    @contextlib.contextmanager
    def _errors(self, what: str) -> Generator[None]:
        try:
            yield
        except (psycopg.Error, PoolTimeout) as exc:
            error = self._error(exc, what)
            if isinstance(error, PostgresConnectionFailed) and not isinstance(exc, PoolTimeout):
                self._discard_broken()
            raise error from exc

    @contextlib.contextmanager
    def _borrow(self) -> Generator[_Conn]:
        source = self._source()
        if isinstance(source, psycopg.Connection):
            with self._single:
                if source.autocommit:
                    yield source
                else:
                    with source.transaction():
                        yield source
            return
        with source.connection() as conn:
            yield conn

    def _run(
        self,
        what: str,
        query: str,
        params: Sequence[object] | Mapping[str, object] = (),
        *,
        retry: bool = True,
    ) -> list[TupleRow]:
        """Run one statement (its own transaction); return its rows.

        A statement that lost its connection (most often a pooled connection the server
        closed while idle, before the statement was even sent) is sent once more on a
        new one, unless ``retry`` is false: for the statements whose repetition would
        count or report twice (see the module docstring).
        """
        attempts = 2 if retry else 1
        for attempt in range(attempts):
            try:
                with self._errors(what), self._borrow() as conn:
                    return _rows(conn, query, params)
            except PostgresConnectionFailed as exc:
                # No connection within the pool's timeout: the server is down, and
                # waiting as long again would only delay the caller's back-off.
                if attempt + 1 == attempts or isinstance(exc.__cause__, PoolTimeout):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _discard_broken(self) -> None:
        """After a lost connection (a server restart), drop the pool's other dead ones.

        Otherwise every idle connection of the pool would fail once in turn.
        """
        pool = self._pool
        if pool is not None and self._pid == os.getpid():
            with contextlib.suppress(psycopg.Error, PoolTimeout):
                pool.check()

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Generator[_Conn]:
        with self._errors(what), self._borrow() as conn, conn.transaction():
            yield conn

    def _writer(self, what: str, query: str, params: Mapping[str, object]) -> None:
        """Run a write that may join the application's transaction (enqueue, schedule)."""
        joined = self._joined.get()
        if joined is None:
            self._run(what, query, params)
            return
        self._source()  # the tables exist (checked on a connection of our own)
        with self._errors(what):
            joined.execute(query.encode(), params)

    def _get_listener(self) -> _Listener | None:
        if not self.blocking:
            return None
        self._source()
        listener = self._listener
        if listener is not None:
            return listener
        with self._lock:
            if self._listener is None:
                self._listener = _Listener(self._connect, self._queue_channel, self._result_channel)
                self._listener.connected.wait(self.read_timeout)
            return self._listener

    def check_connection(self) -> None:
        """Connect once (creating the tables if allowed).

        Raises:
            PostgresConnectionFailed: the server cannot be reached or refuses the
                credentials.
            ConfigurationError: the tables are missing and ``create_tables`` is false.
        """
        self._run("checking the connection", "SELECT 1")

    def persistence_warning(self) -> str | None:
        """A warning when the server may lose committed tasks in a crash, else ``None``."""
        rows = self._run(
            "reading the durability settings",
            "SELECT current_setting('fsync'), current_setting('synchronous_commit')",
        )
        fsync, synchronous = (str(value) for value in rows[0])
        if fsync == "off":
            return (
                f"PostgreSQL at {self._where} runs with fsync=off: a crash of the machine "
                "can lose or corrupt queued tasks"
            )
        if synchronous == "off":
            return (
                f"PostgreSQL at {self._where} runs with synchronous_commit=off: a server "
                "crash can lose the last enqueued tasks and acknowledgements"
            )
        return None

    def close(self) -> None:
        """Close this process's pool and listening connection; the next call reopens them.

        A connection or pool given to the storage is left open (it is the caller's).
        """
        with self._lock:
            pool, self._pool = self._pool, None
            listener, self._listener = self._listener, None
            self._ready = False
        if self._pid != os.getpid():
            return  # the parent's: never closed here
        if listener is not None:
            listener.stop()
        if pool is not None:
            pool.close()

    # --- transactional enqueue ----------------------------------------------------

    @contextlib.contextmanager
    def transaction(
        self, connection: psycopg.Connection[_Row]
    ) -> Generator[psycopg.Connection[_Row]]:
        """Enqueue and schedule through ``connection``, inside its transaction.

        Within the block, this storage's ``enqueue``, ``enqueue_keyed`` and
        ``add_to_schedule*`` (so task calls of a huey using it) run on ``connection``
        instead of the pool, in the transaction the block opens with
        ``connection.transaction()``: a savepoint when the application already has a
        transaction open. The tasks are visible to workers, and their notifications
        sent, only when that transaction commits; a rollback (an exception leaving the
        block, or the application's own rollback) discards them. Only the calling
        thread (or asyncio task) is affected.

        Args:
            connection: the application's psycopg connection, to the same database.

        Yields:
            ``connection``.
        """
        token = self._joined.set(connection)
        try:
            with connection.transaction():
                yield connection
        finally:
            self._joined.reset(token)

    # --- queue --------------------------------------------------------------------

    def _insert(self, data: bytes, priority: int | None, watch: Sequence[str] | None) -> None:
        self._writer(
            "enqueueing",
            self._sql.enqueue,
            {
                "queue": self.name,
                "data": data,
                "priority": check_priority(priority),
                "watch": None if watch is None else list(watch),
                "uid": _new_token(),
                "channel": self._queue_channel,
            },
        )

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        """Append ``data``; higher ``priority`` is dequeued first. Wakes a waiting worker."""
        self._insert(data, priority, None)

    def enqueue_keyed(self, data: bytes, priority: int | None, keys: Sequence[str], /) -> None:
        """Like :meth:`enqueue`; :meth:`reserve` returns the values of ``keys`` with the lease."""
        self._insert(data, priority, keys)

    def _blocking_wait(self, attempt: Callable[[float], _T | None]) -> _T | None:
        """``attempt(0)``; when it finds nothing, wait for a notification and try again.

        The second attempt gets the seconds waited (a lease's deadline moves with them).
        """
        listener = self._get_listener()
        seen = 0 if listener is None else listener.generation
        found = attempt(0.0)
        if found is not None or listener is None:
            return found
        started = time.monotonic()
        listener.wait_for_queue(seen, self.read_timeout)
        return attempt(time.monotonic() - started)

    def dequeue(self) -> bytes | None:
        """Remove and return the next ready item (at-most-once), or ``None``.

        With ``blocking``, waits up to ``read_timeout`` seconds for one.
        """

        def take(_waited: float) -> bytes | None:
            rows = self._run("dequeueing", self._sql.dequeue, {"queue": self.name})
            return bytes(rows[0][0]) if rows else None

        return self._blocking_wait(take)

    def queue_size(self) -> int:
        """Number of items ready to be delivered (leased items are not counted)."""
        rows = self._run("counting the queue", self._sql.queue_size, (self.name,))
        return int(rows[0][0])

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Ready items in delivery order, at most ``limit`` of them."""
        rows = self._run(
            "listing the queue", self._sql.enqueued_items, (self.name, check_limit(limit))
        )
        return [bytes(row[0]) for row in rows]

    def flush_queue(self) -> None:
        """Remove every item of the queue, leased ones included (their acks will fail)."""
        self._run("flushing the queue", self._sql.flush("task"), (self.name,))

    # --- schedule -----------------------------------------------------------------

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        """Store ``data`` to become due at ``timestamp`` (UTC epoch seconds)."""
        self._schedule(data, timestamp, None)

    def add_to_schedule_with_priority(
        self, data: bytes, timestamp: float, priority: int, /
    ) -> None:
        """Store ``data`` to become due at ``timestamp`` and to be queued with ``priority``.

        Raises:
            ValueError: ``priority`` is not an int that fits in 64 bits.
        """
        self._schedule(data, timestamp, check_priority(priority))

    def _schedule(self, data: bytes, timestamp: float, priority: int | None) -> None:
        self._writer(
            "adding to the schedule",
            self._sql.schedule,
            {"queue": self.name, "data": data, "ts": float(timestamp), "priority": priority},
        )

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        """Atomically remove and return the items due at ``timestamp``, earliest first."""
        rows = self._run(
            "reading the schedule",
            self._sql.read_schedule,
            (self.name, float(timestamp)),
            retry=False,
        )
        rows.sort(key=lambda row: (row[0], row[1]))
        return [bytes(row[2]) for row in rows]

    def move_due(
        self, timestamp: float, priority_of: Callable[[bytes], int | None], /
    ) -> Sequence[bytes]:
        """Move the items due at ``timestamp`` to the queue in one transaction.

        Items keep the priority stored with them; ``priority_of`` (called inside the
        transaction) only gives the priority of items scheduled without one. If it
        raises, nothing moves.
        """
        due = float(timestamp)
        if not self._run("checking the schedule", self._sql.has_due, (self.name, due)):
            return []
        with self._transaction("moving due items to the queue") as conn:
            rows = _rows(conn, self._sql.read_schedule, (self.name, due))
            rows.sort(key=lambda row: (row[0], row[1]))
            moved = [
                (
                    bytes(row[2]),
                    check_priority(priority_of(bytes(row[2])) if row[3] is None else row[3]),
                )
                for row in rows
            ]
            with conn.cursor() as cursor:
                cursor.executemany(
                    self._sql.insert_task.encode(),
                    [(self.name, data, priority) for data, priority in moved],
                )
            if moved:
                conn.execute(b"SELECT pg_notify(%s, '')", (self._queue_channel,))
        return [data for data, _ in moved]

    def schedule_size(self) -> int:
        """Number of items in the schedule."""
        rows = self._run("counting the schedule", self._sql.schedule_size, (self.name,))
        return int(rows[0][0])

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items in the schedule, earliest first, at most ``limit`` of them."""
        rows = self._run(
            "listing the schedule", self._sql.scheduled_items, (self.name, check_limit(limit))
        )
        return [bytes(row[0]) for row in rows]

    def flush_schedule(self) -> None:
        """Remove every item of the schedule."""
        self._run("flushing the schedule", self._sql.flush("schedule"), (self.name,))

    # --- key/value store ------------------------------------------------------------

    def put_data(self, key: str, value: bytes, /) -> None:
        """Store ``value`` under ``key`` (without expiry), replacing any value."""
        self._run("storing a value", self._sql.put_data, (self.name, key, value))

    def put_result(self, key: str, value: bytes, /) -> None:
        """Store the task result ``value`` under ``key`` and wake its readers."""
        if not self.notify_result:
            self.put_data(key, value)
            return
        self._run(
            "storing a result",
            self._sql.put_result,
            (self.name, key, value, self._result_channel, key),
        )

    def wait_result(self, key: str, timeout: float, /) -> bool:
        """Wait up to ``timeout`` seconds for a result under ``key``; whether one came."""
        listener = self._get_listener()
        if listener is None:
            time.sleep(max(0.0, min(timeout, self.read_timeout)))
            return False
        with listener.reader(key) as stored:
            if self.has_data_for_key(key):
                return True
            return stored.wait(max(0.0, timeout))

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """The value under ``key``, or ``EmptyData``."""
        rows = self._run("reading a value", self._sql.peek_data, (self.name, key))
        return bytes(rows[0][0]) if rows else EmptyData

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """Remove and return the value under ``key``, or ``EmptyData``."""
        rows = self._run("removing a value", self._sql.pop_data, (self.name, key), retry=False)
        if not rows or not rows[0][1]:
            return EmptyData
        return bytes(rows[0][0])

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None, /) -> bool:
        """Store ``value`` only if ``key`` holds nothing; whether it was stored.

        With ``ttl`` (huey 3.5's form) it is :meth:`put_if_empty_ttl`.
        """
        if ttl is not None:
            return self.put_if_empty_ttl(key, value, ttl)
        return self._put_if_empty(key, value, None)

    def put_if_empty_ttl(self, key: str, value: bytes, ttl: float, /) -> bool:
        """Like :meth:`put_if_empty`; the key disappears ``ttl`` seconds later (server clock)."""
        if not _is_number(ttl) or not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        return self._put_if_empty(key, value, float(ttl))

    def _put_if_empty(self, key: str, value: bytes, ttl: float | None) -> bool:
        rows = self._run(
            "storing a value if absent",
            self._sql.put_if_empty,
            (self.name, key, value, ttl),
            retry=False,
        )
        return bool(rows)

    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        """Delete ``key`` if it holds ``value`` (one statement); whether it did."""
        rows = self._run(
            "deleting a value if unchanged", self._sql.delete_if_equal, (self.name, key, value)
        )
        return bool(rows)

    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        """The values under ``keys`` (``EmptyData`` for an empty one), in one statement."""
        rows = self._run("reading values", self._sql.peek_many, (self.name, list(keys)))
        found = {str(row[0]): bytes(row[1]) for row in rows}
        return [found.get(key, EmptyData) for key in keys]

    def delete_data(self, key: str, /) -> bool:
        """Remove ``key``; whether it held a value."""
        return self.pop_data(key) is not EmptyData

    def has_data_for_key(self, key: str, /) -> bool:
        """Whether ``key`` holds a value."""
        rows = self._run("looking up a key", self._sql.has_key, (self.name, key))
        return bool(rows)

    def result_store_size(self) -> int:
        """Number of keys holding a value."""
        rows = self._run("counting values", self._sql.kv_size, (self.name,))
        return int(rows[0][0])

    def result_items(self) -> Mapping[str, bytes]:
        """Every key and value of the key/value store."""
        rows = self._run("listing values", self._sql.kv_items, (self.name,))
        return {str(row[0]): bytes(row[1]) for row in rows}

    def flush_results(self) -> None:
        """Remove every key of the key/value store."""
        self._run("flushing values", self._sql.flush("kv"), (self.name,))

    # --- counters -------------------------------------------------------------------

    def incr(self, key: str, amount: int = 1, /) -> int:
        """Add ``amount`` to the counter ``key`` (created at 0); return the new value."""
        rows = self._run(
            "incrementing a counter", self._sql.incr, (self.name, key, amount), retry=False
        )
        return int(rows[0][0])

    def delete_counter(self, key: str, /) -> None:
        """Remove the counter ``key``."""
        self._run("deleting a counter", self._sql.delete_counter, (self.name, key))

    def flush_counters(self) -> None:
        """Remove every counter."""
        self._run("flushing counters", self._sql.flush("counter"), (self.name,))

    # --- leases ---------------------------------------------------------------------

    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        """Lease the next ready item until ``now + lease_seconds`` (one statement).

        With ``blocking``, waits up to ``read_timeout`` seconds for an item.
        """

        def attempt(waited: float) -> Lease | None:
            token = _new_token()
            deadline = now + waited + lease_seconds
            rows = self._run(
                "reserving a message",
                self._sql.reserve,
                {"queue": self.name, "token": token, "deadline": deadline},
            )
            if not rows:
                return None
            data, deliveries, watch, values = rows[0]
            watched: tuple[bytes | None, ...] | None = None
            if watch is not None:
                found: list[bytes | None] = list(values or [])
                watched = tuple(None if value is None else bytes(value) for value in found)
            return Lease(
                token=token,
                data=bytes(data),
                deliveries=int(deliveries),
                deadline=deadline,
                watched=watched,
            )

        return self._blocking_wait(attempt)

    def extend_lease(self, token: str, now: float, lease_seconds: float, /) -> bool:
        """Move the lease's deadline to ``now + lease_seconds``; ``False`` if stale."""
        rows = self._run(
            "extending a lease", self._sql.extend_lease, (now + lease_seconds, self.name, token)
        )
        return bool(rows)

    def ack(self, token: str, /) -> bool:
        """Delete the leased item; ``False`` (nothing deleted) if the token is stale."""
        return self.settle(token, None, ())

    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        """Store ``result``, delete ``discard`` and acknowledge the lease, in one statement.

        With a stale token nothing is stored, deleted or acknowledged.
        """
        key, value = result if result is not None else (None, None)
        rows = self._run(
            "settling a message",
            self._sql.settle,
            {
                "queue": self.name,
                "token": token,
                "call": _new_token(),  # the same in a resend: see the module docstring
                "key": key,
                "value": value,
                "discard": list(discard),
                "channel": self._result_channel if self.notify_result else None,
            },
        )
        return bool(rows and rows[0][0])

    def release(self, token: str, /) -> bool:
        """Return the leased item to its place in the queue; this delivery is not counted."""
        rows = self._run(
            "releasing a message",
            self._sql.release,
            {"queue": self.name, "token": token, "channel": self._queue_channel},
        )
        return bool(rows)

    def dead_letter(self, token: str, reason: str, now: float, /) -> bool:
        """Move the leased item to the dead letters; ``False`` if the token is stale."""
        rows = self._run(
            "dead-lettering a message",
            self._sql.dead_letter,
            {"queue": self.name, "token": token, "reason": reason, "now": now},
        )
        return bool(rows)

    def requeue_expired(self, now: float, max_deliveries: int, /) -> int:
        """Return leases expired at ``now`` to the queue, or dead-letter them.

        An item whose next delivery would exceed ``max_deliveries`` goes to the dead
        letters. Returns how many items moved.
        """
        if not self._run("checking expired leases", self._sql.has_expired, (self.name, now)):
            return 0
        with self._transaction("requeueing expired leases") as conn:
            rows = _rows(conn, self._sql.lock_expired, (self.name, now))
            back = [row[0] for row in rows if _core.delivery_allowed(row[1] + 1, max_deliveries)]
            buried = [
                (_core.too_many_deliveries_reason(row[1], max_deliveries), now, row[0])
                for row in rows
                if not _core.delivery_allowed(row[1] + 1, max_deliveries)
            ]
            if back:
                conn.execute(self._sql.unlease.encode(), (back,))
                conn.execute(b"SELECT pg_notify(%s, '')", (self._queue_channel,))
            if buried:
                with conn.cursor() as cursor:
                    cursor.executemany(self._sql.bury.encode(), buried)
            return len(rows)

    def leased_count(self) -> int:
        """Number of items leased right now (held by workers)."""
        rows = self._run("counting leases", self._sql.leased_count, (self.name,))
        return int(rows[0][0])

    def dead_letters(self, limit: int | None = None, /) -> Sequence[DeadLetter]:
        """The dead letters, oldest first, at most ``limit`` of them."""
        rows = self._run(
            "listing dead letters", self._sql.dead_letters, (self.name, check_limit(limit))
        )
        return [
            DeadLetter(
                id=str(row[0]),
                data=bytes(row[1]),
                reason=str(row[2]),
                deliveries=int(row[3]),
                timestamp=float(row[4]),
            )
            for row in rows
        ]

    def requeue_dead_letter(self, letter_id: str, /) -> bool:
        """Put a dead letter back at the end of the queue with a fresh delivery count."""
        try:
            row_id = int(letter_id)
        except (TypeError, ValueError):
            return False
        rows = self._run(
            "requeueing a dead letter",
            self._sql.requeue_dead_letter,
            {"queue": self.name, "id": row_id, "channel": self._queue_channel},
        )
        return bool(rows)

    def purge_dead_letters(self) -> int:
        """Delete every dead letter of this queue; return how many there were."""
        rows = self._run(
            "purging dead letters", self._sql.purge_dead_letters, (self.name,), retry=False
        )
        return int(rows[0][0])

    def delete_dead_letter(self, letter_id: str, /) -> bool:
        """Delete one dead letter; whether it existed (``SupportsDeadLetterDeletion``)."""
        letter = row_id(letter_id)
        if letter is None:
            return False
        rows = self._run(
            "deleting a dead letter", self._sql.delete_dead_letter, (self.name, letter)
        )
        return bool(rows)

    def lease_counts(self, now: float, /) -> LeaseCounts:
        """The leases in flight and expired at ``now`` (``SupportsLeaseCounts``)."""
        rows = self._run(
            "counting leases", self._sql.lease_counts, {"queue": self.name, "now": now}
        )
        return LeaseCounts(in_flight=int(rows[0][0]), expired=int(rows[0][1]))

    # --- semaphores -----------------------------------------------------------------
    # Holders expire by the server's clock; each semaphore is changed under an advisory
    # lock of its own, so concurrent acquirers never exceed the limit.

    def semaphore_acquire(self, name: str, holder: str, limit: int, timeout: float, /) -> bool:
        """Take a slot of ``name`` for ``holder`` unless ``limit`` others hold one.

        Raises:
            ValueError: ``timeout`` is not a positive number of seconds.
        """
        if not _is_number(timeout) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        with self._transaction("acquiring a semaphore") as conn:
            conn.execute(self._sql.semaphore_lock.encode(), (self.name, name))
            conn.execute(self._sql.semaphore_expire.encode(), (self.name, name))
            rows = _rows(
                conn,
                self._sql.semaphore_acquire,
                {
                    "queue": self.name,
                    "name": name,
                    "holder": holder,
                    "limit": limit,
                    "timeout": float(timeout),
                },
            )
        return bool(rows and rows[0][0])

    def semaphore_renew(self, name: str, holder: str, timeout: float, /) -> bool:
        """Restart ``holder``'s timeout; ``False`` if its slot is gone."""
        if not _is_number(timeout) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        rows = self._run(
            "renewing a semaphore",
            self._sql.semaphore_renew,
            (float(timeout), self.name, name, holder),
        )
        return bool(rows)

    def semaphore_release(self, name: str, holder: str, /) -> bool:
        """Free ``holder``'s slot; whether it held one (an expired slot is not held)."""
        rows = self._run(
            "releasing a semaphore",
            self._sql.semaphore_release,
            (self.name, name, holder),
            retry=False,
        )
        return bool(rows and rows[0][0])

    def semaphore_holders(self, name: str, /) -> Sequence[str]:
        """The current holders of ``name``, earliest to expire first."""
        rows = self._run(
            "listing semaphore holders", self._sql.semaphore_holders, (self.name, name)
        )
        return [str(row[0]) for row in rows]

    def semaphore_clear(self, name: str, /) -> int:
        """Free every slot of ``name``; return how many were held."""
        rows = self._run(
            "clearing a semaphore", self._sql.semaphore_clear, (self.name, name), retry=False
        )
        return int(rows[0][0])

    # --- everything -----------------------------------------------------------------

    def flush_all(self) -> None:
        """Remove every row of this queue (other queues stay), in one transaction."""
        with self._transaction("flushing everything") as conn:
            for table in TABLES:
                # recent holds no queue's rows, only random keys that expire on their own.
                if table not in {"schema", "recent"}:
                    conn.execute(self._sql.flush(table).encode(), (self.name,))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m huey.storage.postgres --schema``: print the tables' SQL."""
    parser = argparse.ArgumentParser(
        prog="python -m huey.storage.postgres",
        description="Print the SQL creating huey's PostgreSQL tables (for your migrations).",
    )
    parser.add_argument("--schema", action="store_true", help="print the CREATE statements")
    parser.add_argument("--table-prefix", default="huey", help="the tables' prefix (huey)")
    args = parser.parse_args(argv)
    if not args.schema:
        parser.print_help()
        return 2
    try:
        print(schema_sql(str(args.table_prefix)), end="")
    except ValueError as exc:
        parser.error(str(exc))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
