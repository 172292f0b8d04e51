"""SQLite storage: durable, safe with several consumer processes on one machine.

Design notes (why it looks like this):

* **One connection per thread and per process.** ``sqlite3`` connections must not cross
  a ``fork()`` (a child using its parent's connection corrupts locks), and sharing one
  connection between threads serialises them behind a Python lock. Each thread opens
  its own connection on first use; a connection created in another process (detected
  with ``os.getpid()``) is abandoned, never closed, in the child: closing it there could
  release locks or unmap memory the parent still relies on.
* **WAL by default**, so readers never wait for the writer; every write is a short
  ``BEGIN IMMEDIATE`` transaction, which takes the write lock up front and waits for it
  up to ``timeout`` seconds (a deferred transaction that upgrades from read to write
  can fail at once with ``SQLITE_BUSY`` in WAL mode).
* **Several queues share one file**: every row carries its queue's name.
* **Leases live on the task row** (``token``, ``deadline``, ``deliveries``), so
  reserving is one ``UPDATE ... RETURNING`` on the best ready row and acknowledging is
  one ``DELETE`` by token: a message is never only in a worker's memory.
* **Waiting without polling the tables**: an idle worker and a blocked result reader
  sleep until a commit, signalled directly by this process's own writes and, for
  other processes', noticed by one thread reading ``PRAGMA data_version`` every few
  milliseconds while anyone waits (see ``_ChangeWatch``).
* Every ``sqlite3`` error is translated to a typed
  :class:`~huey.exceptions.StorageError` naming the file and the cause; a failed
  transaction is rolled back, so nothing is half-written.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Final, TypeVar

from typing_extensions import override

from .. import _core
from ..constants import EmptyData, EmptyDataType
from ..exceptions import (
    ConfigurationError,
    StorageAccessError,
    StorageBusy,
    StorageCorrupt,
    StorageError,
    StorageFull,
)
from ..protocols import DeadLetter, Lease, LeaseCounts
from ._checks import check_limit, check_priority, row_id
from ._operations import log_expired_dead_letter

__all__ = ("SqliteStorage",)

_JOURNAL_MODES: Final = frozenset({"wal", "delete", "truncate", "persist", "memory", "off"})
_PRAGMA_NAME: Final = re.compile(r"^[a-z_]+$")

# sqlite3 primary result codes (the low byte of ``sqlite_errorcode``).
_SQLITE_PERM: Final = 3
_SQLITE_BUSY: Final = 5
_SQLITE_LOCKED: Final = 6
_SQLITE_READONLY: Final = 8
_SQLITE_CORRUPT: Final = 11
_SQLITE_FULL: Final = 13
_SQLITE_CANTOPEN: Final = 14
_SQLITE_AUTH: Final = 23
_SQLITE_NOTADB: Final = 26

# Store a value without expiry, replacing any value (put_data, settle).
_PUT_VALUE: Final = """INSERT INTO huey_kv (queue, key, value, expires) VALUES (?, ?, ?, NULL)
    ON CONFLICT (queue, key) DO UPDATE SET value = excluded.value, expires = NULL"""

# Keys per ``IN (...)`` list: under SQLite's smallest limit on bound parameters (999).
_IN_BATCH: Final = 500

_TABLES: Final = frozenset(
    {
        "huey_task",
        "huey_schedule",
        "huey_kv",
        "huey_counter",
        "huey_dead_letter",
        "huey_semaphore",
    }
)


def _schema(strict_fifo: bool) -> tuple[str, ...]:
    autoincrement = " AUTOINCREMENT" if strict_fifo else ""
    return (
        f"""CREATE TABLE IF NOT EXISTS huey_task (
            id INTEGER PRIMARY KEY{autoincrement},
            queue TEXT NOT NULL,
            data BLOB NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            deliveries INTEGER NOT NULL DEFAULT 0,
            token TEXT,
            deadline REAL)""",
        # Partial indexes: the ready index never scans past thousands of leased rows.
        """CREATE INDEX IF NOT EXISTS huey_task_ready
            ON huey_task (queue, priority DESC, id) WHERE token IS NULL""",
        """CREATE INDEX IF NOT EXISTS huey_task_leased
            ON huey_task (queue, deadline) WHERE token IS NOT NULL""",
        """CREATE UNIQUE INDEX IF NOT EXISTS huey_task_token
            ON huey_task (token) WHERE token IS NOT NULL""",
        """CREATE TABLE IF NOT EXISTS huey_schedule (
            id INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            data BLOB NOT NULL,
            timestamp REAL NOT NULL,
            priority INTEGER)""",
        """CREATE INDEX IF NOT EXISTS huey_schedule_due
            ON huey_schedule (queue, timestamp, id)""",
        """CREATE TABLE IF NOT EXISTS huey_kv (
            queue TEXT NOT NULL,
            key TEXT NOT NULL,
            value BLOB NOT NULL,
            expires REAL,
            PRIMARY KEY (queue, key))""",
        """CREATE TABLE IF NOT EXISTS huey_counter (
            queue TEXT NOT NULL,
            key TEXT NOT NULL,
            value INTEGER NOT NULL,
            PRIMARY KEY (queue, key))""",
        """CREATE TABLE IF NOT EXISTS huey_dead_letter (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            queue TEXT NOT NULL,
            data BLOB NOT NULL,
            priority INTEGER NOT NULL,
            reason TEXT NOT NULL,
            deliveries INTEGER NOT NULL,
            timestamp REAL NOT NULL)""",
        """CREATE INDEX IF NOT EXISTS huey_dead_letter_queue
            ON huey_dead_letter (queue, id)""",
        """CREATE TABLE IF NOT EXISTS huey_semaphore (
            queue TEXT NOT NULL,
            name TEXT NOT NULL,
            holder TEXT NOT NULL,
            deadline REAL NOT NULL,
            PRIMARY KEY (queue, name, holder))""",
    )


# Connections inherited from a parent process through fork(). They are kept referenced
# so that garbage collection never closes them in the child (see the module docstring).
_inherited: list[sqlite3.Connection] = []


_SCHEDULE_LOOK_INTERVAL: Final = 0.05
"""Seconds between two looks of the consumer's scheduler at the earliest due item."""


class _ThreadState(threading.local):
    conn: sqlite3.Connection | None = None
    pid: int = 0
    generation: int = 0


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _limit(limit: object) -> int:
    """SQL ``LIMIT`` for an optional limit (``-1`` means none)."""
    value = check_limit(limit)
    return -1 if value is None else value


def _has_schedule_priority(create_sql: str) -> bool:
    """Whether a ``huey_schedule`` table (by its ``CREATE`` statement) has ``priority``."""
    return "priority" in create_sql.lower()


def _new_token() -> str:
    return os.urandom(16).hex()


_T = TypeVar("_T")


class _ChangeWatch:
    """Wakes this process's threads that wait for a commit to the database file.

    SQLite tells no one about a commit. Two sources stand in for a notification:

    * a commit made through this storage in this process calls :meth:`changed`, which
      wakes the waiters at once;
    * while anyone waits, one thread of this process reads ``PRAGMA data_version`` on a
      connection of its own every ``interval`` seconds. The value changes whenever
      another connection (another thread or process) has committed, and reading it in
      WAL mode takes no lock and writes nothing, so an idle consumer costs no writes
      and holds up no writer. Nobody waiting: the thread sleeps on a condition.

    A waiter takes :meth:`mark` *before* it looks at the file and passes it to
    :meth:`wait`, so a commit that lands between its look and its wait still wakes it.
    Wake-ups may be spurious (any commit to the file counts, other queues' too); the
    waiter looks again.
    """

    def __init__(
        self, open_connection: Callable[[], sqlite3.Connection], interval: float, filename: str
    ) -> None:
        self._open = open_connection
        self._thread_name = f"huey-sqlite-watch {filename}"
        self._interval = interval
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        lock = threading.Lock()
        self._changed = threading.Condition(lock)  # waiters sleep on it
        self._wanted = threading.Condition(lock)  # the polling thread sleeps on it
        self._changes = 0
        self._waiters = 0
        self._stopped = False
        self._thread: threading.Thread | None = None

    def _current(self) -> None:
        if self._pid != os.getpid():
            # Threads do not survive fork(), and a lock may have been held at the fork.
            self._reset()

    def mark(self) -> int:
        """The number of changes seen so far, to pass to :meth:`wait`."""
        self._current()
        return self._changes

    def changed(self) -> None:
        """A commit was made through this storage in this process: wake the waiters."""
        self._current()
        with self._changed:
            self._changes += 1
            if self._waiters:
                self._changed.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a change after ``seen``; whether one came."""
        self._current()
        with self._changed:
            if self._changes != seen:
                return True
            self._waiters += 1
            self._stopped = False
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._poll, name=self._thread_name, daemon=True
                )
                self._thread.start()
            elif self._waiters == 1:
                self._wanted.notify()  # the polling thread sleeps while nobody waits
            try:
                return self._changed.wait_for(lambda: self._changes != seen, timeout)
            finally:
                self._waiters -= 1

    def stop(self) -> None:
        """End the polling thread (it closes its connection); a later wait restarts it."""
        self._current()
        with self._changed:
            self._stopped = True
            self._wanted.notify()

    def _poll(self) -> None:
        conn: sqlite3.Connection | None = None
        version: object = None  # None: nothing read yet, so the first read counts as a change
        try:
            while True:
                with self._changed:
                    while not self._waiters and not self._stopped:
                        self._wanted.wait()
                    if self._stopped:
                        return
                try:
                    if conn is None:
                        conn = self._open()
                    current: object = conn.execute("PRAGMA data_version").fetchone()[0]
                except Exception:  # the waiters look at the file themselves and report it
                    if conn is not None:
                        with suppress(sqlite3.Error):
                            conn.close()
                    conn, current = None, None
                if current is None or current != version:
                    with self._changed:
                        self._changes += 1
                        self._changed.notify_all()
                version = current
                with self._changed:
                    if not self._stopped:  # stop() ends the pause early
                        self._wanted.wait(self._interval)
        finally:
            with self._changed:  # the next wait starts another one (after a crash too)
                if self._thread is threading.current_thread():
                    self._thread = None
            if conn is not None:
                with suppress(sqlite3.Error):
                    conn.close()


class SqliteStorage:
    """Queue, schedule, results, counters, leases and dead letters in one SQLite file.

    Satisfies :class:`~huey.protocols.Storage` and the capabilities
    :class:`~huey.protocols.SupportsLeases`, :class:`~huey.protocols.SupportsCounters`,
    :class:`~huey.protocols.SupportsExpiringKeys`,
    :class:`~huey.protocols.SupportsCompareAndDelete`,
    :class:`~huey.protocols.SupportsPeekMany`, :class:`~huey.protocols.SupportsDeleteData`,
    :class:`~huey.protocols.SupportsFlushAll`, :class:`~huey.protocols.SupportsSemaphores`,
    :class:`~huey.protocols.SupportsClose`, :class:`~huey.protocols.SupportsSettle`,
    :class:`~huey.protocols.SupportsDurabilityReport`,
    :class:`~huey.protocols.SupportsBlockingDequeue`,
    :class:`~huey.protocols.SupportsResultNotification` and
    :class:`~huey.protocols.SupportsScheduleTransfer`. Several queues (huey names) may share
    one file. Safe to use from many threads and processes at once.

    SQLite notifies no one of a commit, so an idle worker (``blocking``) and a blocked
    ``Result.get`` (``notify_result``) wait on a watch instead of polling the tables: a
    commit through this storage in the same process wakes them at once, one from another
    process within about ``poll_interval`` seconds (one thread per process reads
    ``PRAGMA data_version``, a lock-free read in WAL mode, while anyone waits).

    Args:
        name: the queue's name; rows of other queues in the same file are invisible.
        filename: the database file (created if missing); ``":memory:"`` is refused
            because each thread would get its own empty database.
        cache_mb: megabytes of page cache per connection.
        fsync: ``True`` makes every commit durable against power loss
            (``synchronous=FULL``); the default survives process crashes (a killed
            worker loses nothing) but the last commits may be lost on power loss.
        timeout: seconds to wait for another connection's write lock before raising
            :class:`~huey.exceptions.StorageBusy`.
        strict_fifo: never reuse row ids (``AUTOINCREMENT``) so ids grow strictly.
            Must be chosen when the file is created.
        journal_mode: SQLite journal mode; ``"wal"`` lets readers run beside a writer.
        pragmas: extra ``PRAGMA name = value`` settings applied to every connection
            (for example ``{"max_page_count": 1000}`` to cap the file's size).
        blocking: ``dequeue`` and ``reserve`` wait up to ``read_timeout`` seconds for an
            item when the queue is empty, so the consumer's workers do not poll with
            back-off and take a new task within milliseconds.
        read_timeout: the longest one blocking ``dequeue`` or ``reserve`` waits (a
            worker looks at the consumer's stop flag between two of them).
        notify_result: a blocked ``Result.get(blocking=True)`` waits for the result's
            commit instead of polling with back-off.
        poll_interval: seconds between two looks at ``PRAGMA data_version`` while a
            thread waits: how late a commit made by another process is noticed.
        connect_kwargs: passed to :func:`sqlite3.connect` (for example ``uri=True``).

    Raises:
        ConfigurationError: a parameter is invalid, or ``strict_fifo`` disagrees with
            an existing file.
        StorageError: the file cannot be opened (a subclass names the cause).
    """

    priority = True

    def __init__(
        self,
        name: str = "huey",
        filename: str | os.PathLike[str] = "huey.db",
        cache_mb: int = 8,
        fsync: bool = False,
        timeout: float = 5.0,
        strict_fifo: bool = False,
        journal_mode: str = "wal",
        pragmas: Mapping[str, int | str] | None = None,
        *,
        blocking: bool = True,
        read_timeout: float = 0.1,
        notify_result: bool = True,
        poll_interval: float = 0.002,
        **connect_kwargs: object,
    ) -> None:
        if not name or not _is_str(name):
            raise ConfigurationError(f"storage name must be a non-empty string, got {name!r}")
        path = os.fspath(filename)
        if not path or path == ":memory:":
            raise ConfigurationError(
                f"SqliteStorage needs a database file, got filename={filename!r} "
                "(use MemoryStorage for an in-memory queue)"
            )
        if not _is_int(cache_mb) or cache_mb < 0:
            raise ConfigurationError(f"cache_mb must be a non-negative int, got {cache_mb!r}")
        if not _is_number(timeout) or not timeout >= 0:
            raise ConfigurationError(f"timeout must be a number of seconds >= 0, got {timeout!r}")
        for option, seconds in (("read_timeout", read_timeout), ("poll_interval", poll_interval)):
            if not _is_number(seconds) or not seconds > 0:
                raise ConfigurationError(
                    f"{option} must be a positive number of seconds, got {seconds!r}"
                )
        mode = str(journal_mode).lower()
        if mode not in _JOURNAL_MODES:
            raise ConfigurationError(
                f"journal_mode must be one of {sorted(_JOURNAL_MODES)}, got {journal_mode!r}"
            )
        extra: dict[str, int | str] = dict(pragmas or {})
        for key, value in extra.items():
            if not _PRAGMA_NAME.match(key) or not re.fullmatch(r"-?[A-Za-z0-9_]+", str(value)):
                raise ConfigurationError(f"invalid pragma value {key!r} = {value!r}")
        self.name = name
        self.filename = path
        self.cache_mb = cache_mb
        self.fsync: bool = bool(fsync)
        self.timeout: float = float(timeout)
        self.strict_fifo: bool = bool(strict_fifo)
        self.journal_mode = mode
        self.pragmas: dict[str, int | str] = extra
        self.blocking: bool = bool(blocking)
        self.read_timeout: float = float(read_timeout)
        self.notify_result: bool = bool(notify_result)
        self.poll_interval: float = float(poll_interval)
        self._watch = _ChangeWatch(self._open, self.poll_interval, path)
        self._connect_kwargs: dict[str, Any] = dict(connect_kwargs)
        self._local = _ThreadState()
        self._lock = threading.Lock()
        self._generation = 0
        self._connections: list[sqlite3.Connection] = []
        self._connections_pid = os.getpid()
        # Open now, so a bad file or path fails at construction, not at first enqueue.
        self._initialize(self._connection())

    @override
    def __repr__(self) -> str:
        return f"SqliteStorage(name={self.name!r}, filename={self.filename!r})"

    # --- connections and errors ---------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        pid = os.getpid()
        conn = local.conn
        if conn is not None and local.pid == pid and local.generation == self._generation:
            return conn
        if conn is not None and local.pid != pid:
            _inherited.append(conn)
        local.conn = None
        conn = self._open()
        if self._connections_pid != pid:
            # A parent's thread may have held the lock at fork(): start with a new one.
            self._lock = threading.Lock()
        with self._lock:
            if self._connections_pid != pid:
                _inherited.extend(self._connections)
                self._connections = []
                self._connections_pid = pid
            self._connections.append(conn)
        local.conn = conn
        local.pid = pid
        local.generation = self._generation
        return conn

    def _open(self) -> sqlite3.Connection:
        try:
            conn: sqlite3.Connection = sqlite3.connect(
                self.filename,
                timeout=self.timeout,
                isolation_level=None,
                check_same_thread=False,
                **self._connect_kwargs,
            )
        except sqlite3.Error as exc:
            raise self._error(exc, "opening the database") from exc
        try:
            conn.execute(f"PRAGMA cache_size = {-self.cache_mb * 1024}")
            conn.execute(f"PRAGMA synchronous = {'FULL' if self.fsync else 'NORMAL'}")
            # A temporary b-tree for the reserve sub-select costs 4x on disk.
            conn.execute("PRAGMA temp_store = MEMORY")
            for key, value in self.pragmas.items():
                conn.execute(f"PRAGMA {key} = {value}")
        except sqlite3.Error as exc:
            conn.close()
            raise self._error(exc, "configuring the connection") from exc
        return conn

    def _initialize(self, conn: sqlite3.Connection) -> None:
        try:
            rows = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
            ).fetchall()
            current = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        except sqlite3.Error as exc:
            raise self._error(exc, "reading the schema") from exc
        tables = {str(row[0]): str(row[1]) for row in rows}
        if current != self.journal_mode:
            self._switch_journal_mode(conn)
        if not tables.keys() >= _TABLES:
            # A new file, or one made by an older huey (which lacks the newer tables).
            with self._write("creating the tables") as db:
                for statement in _schema(self.strict_fifo):
                    db.execute(statement)
            if "huey_task" not in tables:
                return
        schedule = tables.get("huey_schedule")
        if schedule is not None and not _has_schedule_priority(schedule):
            self._add_schedule_priority()
        if self.strict_fifo and "AUTOINCREMENT" not in tables["huey_task"].upper():
            raise ConfigurationError(
                f"{self.filename!r} was created without strict_fifo; strict_fifo=True "
                "only applies to a new database file"
            )

    def _switch_journal_mode(self, conn: sqlite3.Connection) -> None:
        """Set ``journal_mode``, waiting up to ``timeout`` for another connection's write.

        The switch reads the file, then upgrades to a write lock to rewrite its header.
        SQLite never calls its busy handler for such a read-to-write upgrade (waiting
        there could deadlock with the writer), so while another connection holds a write
        lock on a file still in rollback-journal mode the PRAGMA fails at once with
        SQLITE_BUSY, whatever the busy timeout. Retry it, backing off, until ``timeout``.
        """
        what = f"switching to journal_mode={self.journal_mode}"
        deadline = time.monotonic() + self.timeout
        pause = 0.001
        while True:
            try:
                conn.execute(f"PRAGMA journal_mode = {self.journal_mode}")
                return
            except sqlite3.Error as exc:
                error = self._error(exc, what)
                remaining = deadline - time.monotonic()
                if not isinstance(error, StorageBusy) or remaining <= 0:
                    raise error from exc
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, 0.05)

    def _add_schedule_priority(self) -> None:
        """Add the nullable ``priority`` column to a schedule table made by an older huey.

        Existing rows get NULL: scheduled without a priority, so :meth:`move_due` asks
        its ``priority_of`` callback for them, as before.
        """
        with self._write("adding the schedule's priority column") as db:
            # Checked again inside the write lock: another process may have just added it.
            columns = db.execute("PRAGMA table_info(huey_schedule)").fetchall()
            if not any(str(column[1]) == "priority" for column in columns):
                db.execute("ALTER TABLE huey_schedule ADD COLUMN priority INTEGER")

    def _error(self, exc: sqlite3.Error, what: str) -> StorageError:
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        text = str(exc)
        lowered = text.lower()
        where = f"SQLite database {self.filename!r}"
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in lowered:
            return StorageBusy(
                f"{where} stayed locked by another connection for more than "
                f"timeout={self.timeout:g}s while {what} ({text}); nothing was written. "
                "Raise timeout= or keep other transactions on this file short.",
                storage=self.filename,
            )
        if primary == _SQLITE_FULL or "full" in lowered:
            return StorageFull(
                f"{where} is full while {what} ({text}); nothing was written. "
                "Free disk space or raise the database's size limit.",
                storage=self.filename,
            )
        if (
            primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
            or "not a database" in lowered
            or "malformed" in lowered
        ):
            return StorageCorrupt(
                f"{where} is not a SQLite database or is damaged ({text}) while {what}. "
                "Move the file away or point filename= at another file.",
                storage=self.filename,
            )
        if (
            primary in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM, _SQLITE_AUTH)
            or "readonly" in lowered
            or "unable to open" in lowered
        ):
            return StorageAccessError(
                f"{where} cannot be opened or written while {what} ({text}). "
                "Check that the file and its directory exist and are writable.",
                storage=self.filename,
            )
        return StorageError(f"{where} failed while {what}: {text}", storage=self.filename)

    @contextmanager
    def _write(self, what: str) -> Generator[sqlite3.Connection, None, None]:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc, what) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                # A broken connection loses its transaction anyway.
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc, what) from exc
            raise
        self._watch.changed()

    def _read(self, what: str, sql: str, params: Sequence[object] = ()) -> list[Any]:
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc, what) from exc

    @contextmanager
    def _snapshot(self, what: str) -> Generator[sqlite3.Connection, None, None]:
        """A read transaction: every read inside sees the same state of the file."""
        conn = self._connection()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._error(exc, what) from exc

    def close(self) -> None:
        """Close this process's connections; the next call opens new ones.

        Call it when no other thread is using the storage (at shutdown, or in a parent
        process before forking workers).
        """
        with self._lock:
            self._generation += 1
            connections, self._connections = self._connections, []
            if self._connections_pid != os.getpid():
                _inherited.extend(connections)
                self._connections_pid = os.getpid()
                connections = []
        for conn in connections:
            with suppress(sqlite3.Error):  # already unusable: nothing left to release
                conn.close()
        self._local.conn = None
        self._watch.stop()

    def _wait_for(self, attempt: Callable[[float], _T | None], timeout: float) -> _T | None:
        """``attempt(waited)`` until it finds something or ``timeout`` seconds pass.

        Between attempts the thread sleeps until a commit to the file (see
        :class:`_ChangeWatch`); ``waited`` is the seconds spent so far, by which a
        lease's deadline moves.
        """
        started = time.monotonic()
        waited = 0.0
        while True:
            seen = self._watch.mark()
            found = attempt(waited)
            if found is not None:
                return found
            waited = time.monotonic() - started
            if waited >= timeout:
                return None
            self._watch.wait(seen, timeout - waited)
            waited = time.monotonic() - started

    def persistence_warning(self) -> str | None:
        """Why committed tasks may not survive a power loss, for the consumer to log.

        Satisfies :class:`~huey.protocols.SupportsDurabilityReport`. Without ``fsync``
        (the default) a commit survives the crash of any process, not a power loss or
        an operating-system crash; with ``journal_mode`` ``"off"`` or ``"memory"`` not
        even a process crash is safe.
        """
        where = f"SQLite database {self.filename!r}"
        if self.journal_mode in ("off", "memory"):
            return (
                f"{where} uses journal_mode={self.journal_mode}: a crash in the middle of a "
                "write can corrupt the file and lose acknowledged tasks. Use the default "
                "journal_mode='wal'."
            )
        if not self.fsync:
            return (
                f"{where} is not synced to disk on commit (fsync=False): a power loss or an "
                "operating-system crash can lose the last acknowledged enqueues and results "
                "(a crashed process loses nothing). Pass fsync=True to keep them."
            )
        return None

    # --- queue --------------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        """Append ``data``; higher ``priority`` is dequeued first."""
        value = check_priority(priority)
        with self._write("enqueueing") as db:
            db.execute(
                "INSERT INTO huey_task (queue, data, priority) VALUES (?, ?, ?)",
                (self.name, data, value),
            )

    def _has_ready(self) -> bool:
        # A cheap read first: idle workers polling an empty queue take no write lock.
        return bool(
            self._read(
                "checking the queue",
                "SELECT 1 FROM huey_task WHERE queue = ? AND token IS NULL LIMIT 1",
                (self.name,),
            )
        )

    def dequeue(self) -> bytes | None:
        """Remove and return the next ready item (at-most-once), or ``None``.

        With ``blocking``, waits up to ``read_timeout`` seconds for one.
        """
        if not self.blocking:
            return self._pop_next(0.0)
        return self._wait_for(self._pop_next, self.read_timeout)

    def _pop_next(self, _waited: float) -> bytes | None:
        if not self._has_ready():
            return None
        with self._write("dequeueing") as db:
            row = db.execute(
                """DELETE FROM huey_task WHERE id = (
                       SELECT id FROM huey_task WHERE queue = ? AND token IS NULL
                       ORDER BY priority DESC, id LIMIT 1)
                   RETURNING data""",
                (self.name,),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def queue_size(self) -> int:
        """Number of items ready to be delivered (leased items are not counted)."""
        rows = self._read(
            "counting the queue",
            "SELECT COUNT(*) FROM huey_task WHERE queue = ? AND token IS NULL",
            (self.name,),
        )
        return int(rows[0][0])

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Ready items in delivery order, at most ``limit`` of them."""
        rows = self._read(
            "listing the queue",
            """SELECT data FROM huey_task WHERE queue = ? AND token IS NULL
               ORDER BY priority DESC, id LIMIT ?""",
            (self.name, _limit(limit)),
        )
        return [bytes(row[0]) for row in rows]

    def flush_queue(self) -> None:
        """Remove every item of the queue, leased ones included (their acks will fail)."""
        with self._write("flushing the queue") as db:
            db.execute("DELETE FROM huey_task WHERE queue = ?", (self.name,))

    # --- schedule -----------------------------------------------------------------

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        """Store ``data`` to become due at ``timestamp`` (UTC epoch seconds)."""
        with self._write("adding to the schedule") as db:
            db.execute(
                "INSERT INTO huey_schedule (queue, data, timestamp) VALUES (?, ?, ?)",
                (self.name, data, float(timestamp)),
            )

    def add_to_schedule_with_priority(
        self, data: bytes, timestamp: float, priority: int, /
    ) -> None:
        """Store ``data`` to become due at ``timestamp`` and to be queued with ``priority``.

        Raises:
            ValueError: ``priority`` is not an int that fits in 64 bits.
        """
        value = check_priority(priority)
        with self._write("adding to the schedule") as db:
            db.execute(
                """INSERT INTO huey_schedule (queue, data, timestamp, priority)
                   VALUES (?, ?, ?, ?)""",
                (self.name, data, float(timestamp), value),
            )

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        """Atomically remove and return the items due at ``timestamp``, earliest first."""
        due = float(timestamp)
        if not self._read(
            "checking the schedule",
            "SELECT 1 FROM huey_schedule WHERE queue = ? AND timestamp <= ? LIMIT 1",
            (self.name, due),
        ):
            return []
        with self._write("reading the schedule") as db:
            rows = db.execute(
                """DELETE FROM huey_schedule WHERE queue = ? AND timestamp <= ?
                   RETURNING timestamp, id, data""",
                (self.name, due),
            ).fetchall()
        # RETURNING has no guaranteed order.
        rows.sort(key=lambda row: (row[0], row[1]))
        return [bytes(row[2]) for row in rows]

    def move_due(
        self, timestamp: float, priority_of: Callable[[bytes], int | None], /
    ) -> Sequence[bytes]:
        """Move the items due at ``timestamp`` to the queue in one transaction.

        Satisfies :class:`~huey.protocols.SupportsScheduleTransfer`: a crash leaves each
        item either in the schedule or in the queue, never in neither. Items keep the
        priority stored with them; ``priority_of`` (called inside the transaction) only
        gives the priority of items scheduled without one.
        """
        due = float(timestamp)
        if not self._read(
            "checking the schedule",
            "SELECT 1 FROM huey_schedule WHERE queue = ? AND timestamp <= ? LIMIT 1",
            (self.name, due),
        ):
            return []
        with self._write("moving due items to the queue") as db:
            rows = db.execute(
                """DELETE FROM huey_schedule WHERE queue = ? AND timestamp <= ?
                   RETURNING timestamp, id, data, priority""",
                (self.name, due),
            ).fetchall()
            rows.sort(key=lambda row: (row[0], row[1]))
            moved = [
                (
                    bytes(row[2]),
                    check_priority(priority_of(bytes(row[2])) if row[3] is None else row[3]),
                )
                for row in rows
            ]
            db.executemany(
                "INSERT INTO huey_task (queue, data, priority) VALUES (?, ?, ?)",
                [(self.name, data, priority) for data, priority in moved],
            )
        return [data for data, _ in moved]

    def next_due(self) -> float | None:
        """When the earliest scheduled item is due (UTC epoch seconds); ``None``: empty.

        With :meth:`wait_schedule`, the consumer's scheduler moves each item to the queue
        when it is due instead of at its next ``scheduler_interval`` beat.
        """
        rows = self._read(
            "checking the schedule",
            "SELECT MIN(timestamp) FROM huey_schedule WHERE queue = ?",
            (self.name,),
        )
        return None if rows[0][0] is None else float(rows[0][0])

    def wait_schedule(self, timeout: float) -> bool:
        """Wait ``timeout`` seconds, at most 50 ms, for an addition to the schedule.

        SQLite tells no one of an addition, so this cannot tell one came: it returns
        ``False`` and the scheduler asks :meth:`next_due` again. An item scheduled
        meanwhile, here or by another process, is seen within 50 ms (twenty indexed
        look-ups a second while the scheduler waits).
        """
        time.sleep(max(0.0, min(timeout, _SCHEDULE_LOOK_INTERVAL)))
        return False

    def schedule_size(self) -> int:
        """Number of items in the schedule."""
        rows = self._read(
            "counting the schedule",
            "SELECT COUNT(*) FROM huey_schedule WHERE queue = ?",
            (self.name,),
        )
        return int(rows[0][0])

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items in the schedule, earliest first, at most ``limit`` of them."""
        rows = self._read(
            "listing the schedule",
            """SELECT data FROM huey_schedule WHERE queue = ?
               ORDER BY timestamp, id LIMIT ?""",
            (self.name, _limit(limit)),
        )
        return [bytes(row[0]) for row in rows]

    def flush_schedule(self) -> None:
        """Remove every item of the schedule."""
        with self._write("flushing the schedule") as db:
            db.execute("DELETE FROM huey_schedule WHERE queue = ?", (self.name,))

    # --- key/value store ------------------------------------------------------------

    def put_data(self, key: str, value: bytes, /) -> None:
        """Store ``value`` under ``key`` (without expiry), replacing any value."""
        with self._write("storing a value") as db:
            db.execute(
                _PUT_VALUE,
                (self.name, key, value),
            )

    def put_result(self, key: str, value: bytes, /) -> None:
        """Store a task result (as :meth:`put_data`); its commit wakes its readers."""
        self.put_data(key, value)

    def wait_result(self, key: str, timeout: float, /) -> bool:
        """Wait up to ``timeout`` seconds for a value under ``key``; whether one came.

        With ``notify_result`` the thread sleeps until a commit to the file (see
        ``poll_interval``); without it, it sleeps ``min(timeout, read_timeout)`` once.
        """
        if not self.notify_result:
            time.sleep(max(0.0, min(timeout, self.read_timeout)))
            return self.has_data_for_key(key)
        stored = self._wait_for(lambda _waited: self.has_data_for_key(key) or None, timeout)
        return stored is not None

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """The value under ``key``, or ``EmptyData``."""
        rows = self._read(
            "reading a value",
            """SELECT value FROM huey_kv WHERE queue = ? AND key = ?
               AND (expires IS NULL OR expires > ?)""",
            (self.name, key, time.time()),
        )
        return bytes(rows[0][0]) if rows else EmptyData

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """Remove and return the value under ``key``, or ``EmptyData``."""
        with self._write("removing a value") as db:
            row = db.execute(
                "DELETE FROM huey_kv WHERE queue = ? AND key = ? RETURNING value, expires",
                (self.name, key),
            ).fetchone()
        if row is None or (row[1] is not None and row[1] <= time.time()):
            return EmptyData
        return bytes(row[0])

    def _put_if_empty(self, key: str, value: bytes, expires: float | None) -> bool:
        now = time.time()
        with self._write("storing a value if absent") as db:
            cursor = db.execute(
                """INSERT INTO huey_kv (queue, key, value, expires) VALUES (?, ?, ?, ?)
                   ON CONFLICT (queue, key)
                   DO UPDATE SET value = excluded.value, expires = excluded.expires
                   WHERE huey_kv.expires IS NOT NULL AND huey_kv.expires <= ?""",
                (self.name, key, value, expires, now),
            )
            return cursor.rowcount == 1

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None, /) -> bool:
        """Store ``value`` only if ``key`` holds nothing; whether it was stored.

        With ``ttl`` (huey 3.5's form) it is :meth:`put_if_empty_ttl`.
        """
        if ttl is not None:
            return self.put_if_empty_ttl(key, value, ttl)
        return self._put_if_empty(key, value, None)

    def put_if_empty_ttl(self, key: str, value: bytes, ttl: float, /) -> bool:
        """Like :meth:`put_if_empty`; the key disappears ``ttl`` seconds later.

        Expiry uses the wall clock of the process that reads the key, so hosts sharing
        a file over a network file system need synchronised clocks.
        """
        if not _is_number(ttl) or not ttl > 0:
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        return self._put_if_empty(key, value, time.time() + ttl)

    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        """Delete ``key`` if it holds ``value`` (one statement); whether it did."""
        with self._write("deleting a value if unchanged") as db:
            cursor = db.execute(
                """DELETE FROM huey_kv WHERE queue = ? AND key = ? AND value = ?
                   AND (expires IS NULL OR expires > ?)""",
                (self.name, key, value, time.time()),
            )
            return cursor.rowcount == 1

    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        """The values under ``keys`` (``EmptyData`` for an empty one), in one read transaction."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, bytes] = {}
        now = time.time()
        with self._snapshot("reading values") as db:
            for start in range(0, len(wanted), _IN_BATCH):
                chunk = wanted[start : start + _IN_BATCH]
                marks = ", ".join("?" * len(chunk))
                rows = db.execute(
                    f"""SELECT key, value FROM huey_kv WHERE queue = ? AND key IN ({marks})
                        AND (expires IS NULL OR expires > ?)""",
                    (self.name, *chunk, now),
                ).fetchall()
                found.update((str(row[0]), bytes(row[1])) for row in rows)
        return [found.get(key, EmptyData) for key in keys]

    def delete_data(self, key: str, /) -> bool:
        """Remove ``key``; whether it held a value."""
        return self.pop_data(key) is not EmptyData

    def has_data_for_key(self, key: str, /) -> bool:
        """Whether ``key`` holds a value."""
        return self.peek_data(key) is not EmptyData

    def result_store_size(self) -> int:
        """Number of keys holding a value."""
        rows = self._read(
            "counting values",
            """SELECT COUNT(*) FROM huey_kv WHERE queue = ?
               AND (expires IS NULL OR expires > ?)""",
            (self.name, time.time()),
        )
        return int(rows[0][0])

    def result_items(self) -> Mapping[str, bytes]:
        """Every key and value of the key/value store."""
        rows = self._read(
            "listing values",
            """SELECT key, value FROM huey_kv WHERE queue = ?
               AND (expires IS NULL OR expires > ?)""",
            (self.name, time.time()),
        )
        return {str(row[0]): bytes(row[1]) for row in rows}

    def flush_results(self) -> None:
        """Remove every key of the key/value store."""
        with self._write("flushing values") as db:
            db.execute("DELETE FROM huey_kv WHERE queue = ?", (self.name,))

    # --- counters -------------------------------------------------------------------

    def incr(self, key: str, amount: int = 1, /) -> int:
        """Add ``amount`` to the counter ``key`` (created at 0); return the new value."""
        with self._write("incrementing a counter") as db:
            row = db.execute(
                """INSERT INTO huey_counter (queue, key, value) VALUES (?, ?, ?)
                   ON CONFLICT (queue, key) DO UPDATE SET value = value + excluded.value
                   RETURNING value""",
                (self.name, key, amount),
            ).fetchone()
        return int(row[0])

    def delete_counter(self, key: str, /) -> None:
        """Remove the counter ``key``."""
        with self._write("deleting a counter") as db:
            db.execute("DELETE FROM huey_counter WHERE queue = ? AND key = ?", (self.name, key))

    def flush_counters(self) -> None:
        """Remove every counter."""
        with self._write("flushing counters") as db:
            db.execute("DELETE FROM huey_counter WHERE queue = ?", (self.name,))

    # --- leases ---------------------------------------------------------------------

    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        """Lease the next ready item until ``now + lease_seconds``.

        With ``blocking``, waits up to ``read_timeout`` seconds for one (the deadline
        then moves by the seconds waited).
        """
        if not self.blocking:
            return self._lease_next(now + lease_seconds)
        return self._wait_for(
            lambda waited: self._lease_next(now + waited + lease_seconds), self.read_timeout
        )

    def _lease_next(self, deadline: float) -> Lease | None:
        if not self._has_ready():
            return None
        token = _new_token()
        with self._write("reserving a message") as db:
            row = db.execute(
                """UPDATE huey_task SET token = ?, deadline = ?, deliveries = deliveries + 1
                   WHERE id = (
                       SELECT id FROM huey_task WHERE queue = ? AND token IS NULL
                       ORDER BY priority DESC, id LIMIT 1)
                   RETURNING data, deliveries""",
                (token, deadline, self.name),
            ).fetchone()
        if row is None:
            return None
        return Lease(token=token, data=bytes(row[0]), deliveries=int(row[1]), deadline=deadline)

    def extend_lease(self, token: str, now: float, lease_seconds: float, /) -> bool:
        """Move the lease's deadline to ``now + lease_seconds``; ``False`` if stale."""
        with self._write("extending a lease") as db:
            cursor = db.execute(
                "UPDATE huey_task SET deadline = ? WHERE queue = ? AND token = ?",
                (now + lease_seconds, self.name, token),
            )
            return cursor.rowcount == 1

    def ack(self, token: str, /) -> bool:
        """Delete the leased item; ``False`` (nothing deleted) if the token is stale."""
        with self._write("acknowledging a message") as db:
            cursor = db.execute(
                "DELETE FROM huey_task WHERE queue = ? AND token = ?", (self.name, token)
            )
            return cursor.rowcount == 1

    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        """Acknowledge the lease, store ``result`` and delete ``discard``: one transaction.

        Satisfies :class:`~huey.protocols.SupportsSettle`. With a stale token (the lease
        expired and the message went to another worker) nothing is written, so a late
        run never overwrites the result of the run that settled the message.
        """
        with self._write("settling a message") as db:
            cursor = db.execute(
                "DELETE FROM huey_task WHERE queue = ? AND token = ?", (self.name, token)
            )
            if cursor.rowcount != 1:
                return False
            for start in range(0, len(discard), _IN_BATCH):
                chunk = list(discard[start : start + _IN_BATCH])
                marks = ", ".join("?" * len(chunk))
                db.execute(
                    f"DELETE FROM huey_kv WHERE queue = ? AND key IN ({marks})",
                    (self.name, *chunk),
                )
            if result is not None:
                db.execute(
                    _PUT_VALUE,
                    (self.name, result[0], result[1]),
                )
            return True

    def release(self, token: str, /) -> bool:
        """Return the leased item to its place in the queue; this delivery is not counted."""
        with self._write("releasing a message") as db:
            cursor = db.execute(
                """UPDATE huey_task
                   SET token = NULL, deadline = NULL, deliveries = MAX(deliveries - 1, 0)
                   WHERE queue = ? AND token = ?""",
                (self.name, token),
            )
            return cursor.rowcount == 1

    def dead_letter(self, token: str, reason: str, now: float, /) -> bool:
        """Move the leased item to the dead letters; ``False`` if the token is stale."""
        with self._write("dead-lettering a message") as db:
            row = db.execute(
                """DELETE FROM huey_task WHERE queue = ? AND token = ?
                   RETURNING data, priority, deliveries""",
                (self.name, token),
            ).fetchone()
            if row is None:
                return False
            db.execute(
                """INSERT INTO huey_dead_letter
                   (queue, data, priority, reason, deliveries, timestamp)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (self.name, row[0], row[1], reason, row[2], now),
            )
            return True

    def requeue_expired(self, now: float, max_deliveries: int, /) -> int:
        """Return leases expired at ``now`` to the queue, or dead-letter them.

        An item that has reached ``max_deliveries`` goes to the dead letters (each one
        logged with its reason). Returns how many items moved.
        """
        if not self._read(
            "checking expired leases",
            """SELECT 1 FROM huey_task WHERE queue = ? AND token IS NOT NULL
               AND deadline < ? LIMIT 1""",
            (self.name, now),
        ):
            return 0
        buried: list[tuple[str, str]] = []
        with self._write("requeueing expired leases") as db:
            rows = db.execute(
                """SELECT id, deliveries FROM huey_task
                   WHERE queue = ? AND token IS NOT NULL AND deadline < ?""",
                (self.name, now),
            ).fetchall()
            for row_id, deliveries in rows:
                if _core.delivery_allowed(deliveries + 1, max_deliveries):
                    db.execute(
                        "UPDATE huey_task SET token = NULL, deadline = NULL WHERE id = ?",
                        (row_id,),
                    )
                    continue
                reason = _core.too_many_deliveries_reason(deliveries, max_deliveries)
                letter = db.execute(
                    """INSERT INTO huey_dead_letter
                       (queue, data, priority, reason, deliveries, timestamp)
                       SELECT queue, data, priority, ?, deliveries, ?
                       FROM huey_task WHERE id = ? RETURNING id""",
                    (reason, now, row_id),
                ).fetchone()
                db.execute("DELETE FROM huey_task WHERE id = ?", (row_id,))
                buried.append((str(letter[0]), reason))
        # Logged once the transaction committed: a rolled-back move buried nothing.
        for letter_id, reason in buried:
            log_expired_dead_letter(self.name, letter_id, reason)
        return len(rows)

    def dead_letters(self, limit: int | None = None, /) -> Sequence[DeadLetter]:
        """The dead letters, oldest first, at most ``limit`` of them."""
        rows = self._read(
            "listing dead letters",
            """SELECT id, data, reason, deliveries, timestamp FROM huey_dead_letter
               WHERE queue = ? ORDER BY id LIMIT ?""",
            (self.name, _limit(limit)),
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
        letter = row_id(letter_id)
        if letter is None:
            return False
        with self._write("requeueing a dead letter") as db:
            row = db.execute(
                """DELETE FROM huey_dead_letter WHERE queue = ? AND id = ?
                   RETURNING data, priority""",
                (self.name, letter),
            ).fetchone()
            if row is None:
                return False
            db.execute(
                "INSERT INTO huey_task (queue, data, priority) VALUES (?, ?, ?)",
                (self.name, row[0], row[1]),
            )
            return True

    def purge_dead_letters(self) -> int:
        """Delete every dead letter of this queue; return how many there were."""
        with self._write("purging dead letters") as db:
            cursor = db.execute("DELETE FROM huey_dead_letter WHERE queue = ?", (self.name,))
            return cursor.rowcount

    def delete_dead_letter(self, letter_id: str, /) -> bool:
        """Delete one dead letter; whether it existed (``SupportsDeadLetterDeletion``)."""
        letter = row_id(letter_id)
        if letter is None:
            return False
        with self._write("deleting a dead letter") as db:
            cursor = db.execute(
                "DELETE FROM huey_dead_letter WHERE queue = ? AND id = ?", (self.name, letter)
            )
            return cursor.rowcount == 1

    def lease_counts(self, now: float, /) -> LeaseCounts:
        """The leases in flight and expired at ``now`` (``SupportsLeaseCounts``)."""
        ((in_flight, expired),) = self._read(
            "counting leases",
            """SELECT count(*) - count(CASE WHEN deadline < ? THEN 1 END),
                      count(CASE WHEN deadline < ? THEN 1 END)
               FROM huey_task WHERE queue = ? AND token IS NOT NULL""",
            (now, now, self.name),
        )
        return LeaseCounts(in_flight=int(in_flight), expired=int(expired))

    # --- semaphores -----------------------------------------------------------------
    # Holders expire by the wall clock of the process that looks (as TTL'd keys do).

    def semaphore_acquire(self, name: str, holder: str, limit: int, timeout: float, /) -> bool:
        """Take a slot of ``name`` for ``holder`` unless ``limit`` others hold one.

        Raises:
            ValueError: ``timeout`` is not a positive number of seconds.
        """
        if not _is_number(timeout) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        now = time.time()
        with self._write("acquiring a semaphore") as db:
            where = "queue = ? AND name = ?"
            db.execute(
                f"DELETE FROM huey_semaphore WHERE {where} AND deadline <= ?",
                (self.name, name, now),
            )
            held = db.execute(
                f"SELECT 1 FROM huey_semaphore WHERE {where} AND holder = ?",
                (self.name, name, holder),
            ).fetchone()
            if held is None:
                count = db.execute(
                    f"SELECT COUNT(*) FROM huey_semaphore WHERE {where}", (self.name, name)
                ).fetchone()
                if int(count[0]) >= limit:
                    return False
            db.execute(
                """INSERT INTO huey_semaphore (queue, name, holder, deadline)
                   VALUES (?, ?, ?, ?)
                   ON CONFLICT (queue, name, holder) DO UPDATE SET deadline = excluded.deadline""",
                (self.name, name, holder, now + timeout),
            )
            return True

    def semaphore_renew(self, name: str, holder: str, timeout: float, /) -> bool:
        """Restart ``holder``'s timeout; ``False`` if its slot is gone."""
        if not _is_number(timeout) or not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        now = time.time()
        with self._write("renewing a semaphore") as db:
            cursor = db.execute(
                """UPDATE huey_semaphore SET deadline = ?
                   WHERE queue = ? AND name = ? AND holder = ? AND deadline > ?""",
                (now + timeout, self.name, name, holder, now),
            )
            return cursor.rowcount == 1

    def semaphore_release(self, name: str, holder: str, /) -> bool:
        """Free ``holder``'s slot; whether it held one (an expired slot is not held)."""
        with self._write("releasing a semaphore") as db:
            row = db.execute(
                """DELETE FROM huey_semaphore WHERE queue = ? AND name = ? AND holder = ?
                   RETURNING deadline""",
                (self.name, name, holder),
            ).fetchone()
        return row is not None and float(row[0]) > time.time()

    def semaphore_holders(self, name: str, /) -> Sequence[str]:
        """The current holders of ``name``, earliest to expire first."""
        rows = self._read(
            "listing semaphore holders",
            """SELECT holder FROM huey_semaphore WHERE queue = ? AND name = ? AND deadline > ?
               ORDER BY deadline, holder""",
            (self.name, name, time.time()),
        )
        return [str(row[0]) for row in rows]

    def semaphore_clear(self, name: str, /) -> int:
        """Free every slot of ``name``; return how many were held."""
        with self._write("clearing a semaphore") as db:
            rows = db.execute(
                "DELETE FROM huey_semaphore WHERE queue = ? AND name = ? RETURNING deadline",
                (self.name, name),
            ).fetchall()
        now = time.time()
        return sum(1 for row in rows if float(row[0]) > now)

    # --- everything -----------------------------------------------------------------

    def flush_all(self) -> None:
        """Remove every row of this queue (other queues in the file stay), in one transaction."""
        with self._write("flushing everything") as db:
            for table in sorted(_TABLES):
                db.execute(f"DELETE FROM {table} WHERE queue = ?", (self.name,))
