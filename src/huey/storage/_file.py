"""File-system storage: for small deployments without a database.

Layout under ``path``::

    .lock              fcntl lock file: every operation holds it exclusively
    queue/             ready items, one file each, named <order>.<deliveries>
    queue.journal      append-only list of the names added to queue/
    inflight/          leased items, named <order>.<deliveries>.<token>;
                       the file's mtime is the lease deadline
    schedule/          scheduled items, named <due time>.<sequence>[.<order prefix>]
    results/<h>/<h>/   key/value store, one file per key (named by the key's SHA-256)
    counters/          one file per counter
    dead/              dead letters: a JSON header line, then the item's bytes
    semaphores/        one JSON file per semaphore: its name and holders' deadlines
    tmp/               files being written; renamed into place when complete

Every write goes to ``tmp/`` first and is renamed into place, so a reader never sees a
half-written file, even after a crash.

Order: ``<order>`` is the inverted priority then a per-process-monotonic nanosecond
timestamp and the process id, all fixed-width hex, so sorting names sorts items by
priority (highest first) then by age.

Why dequeue does not list the directory each call: each process keeps an in-memory
heap of the names in ``queue/``, built by one directory scan. Producers append every
name they add to ``queue.journal``; a consumer reads only the journal's new bytes
before each dequeue and pushes those names on its heap. A name taken by another
process is detected when the claiming ``rename`` fails, and skipped. The journal is
replaced by an empty one when it grows past 1 MiB; consumers notice the new file
(they keep the old one open, so its inode number cannot be reused) and rescan once.
When the heap runs dry the consumer rescans, so an item whose journal line was lost
in a crash is still found.

Moving due items to the queue (``move_due``): a scheduled item's file name carries its
priority as the inverted-priority prefix of a queue name (items scheduled by plain
``add_to_schedule`` have none and get theirs from the caller). Each due file is
``rename``-d from ``schedule/`` into ``queue/`` under its new queue name, which is atomic:
after a crash every item is in exactly one of the two directories, and a moved item whose
journal line was lost is found by the next rescan.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import heapq
import json
import os
import re
import struct
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Final, cast

from typing_extensions import override

from .. import _core
from ..constants import EmptyData, EmptyDataType
from ..exceptions import ConfigurationError, StorageAccessError, StorageError, StorageFull
from ..protocols import DeadLetter, Lease, LeaseCounts
from ._checks import INT64_MAX, INT64_MIN, check_limit, check_priority
from ._operations import log_expired_dead_letter

__all__ = ("FileStorage",)

_JOURNAL_LIMIT: Final = 1 << 20
_ORDER: Final = r"[0-9a-f]{16}\.[0-9a-f]{16}\.[0-9a-f]{8}"
_QUEUE_NAME: Final = re.compile(rf"^({_ORDER})\.([0-9a-f]+)$")
_TOKEN: Final = re.compile(rf"^({_ORDER})\.([0-9a-f]+)\.([0-9a-f]{{32}})$")
_SCHEDULE_NAME: Final = re.compile(
    r"^[0-9a-f]{16}\.[0-9a-f]{16}\.[0-9a-f]{8}(?:\.([0-9a-f]{16}))?$"
)
_LETTER_ID: Final = re.compile(r"^[0-9a-f]{16}\.[0-9a-f]{8}$")
_KV_HEADER: Final = struct.Struct(">Id")

_ACCESS_ERRNOS: Final = frozenset(
    {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.ENOENT}
)
_FULL_ERRNOS: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

_clock_lock = threading.Lock()
_last_ns = 0
# Storages with use_thread_lock=True on the same path share one lock per process.
_path_locks: dict[str, threading.RLock] = {}


def _unique_ns() -> int:
    """Wall-clock nanoseconds, strictly increasing within this process."""
    global _last_ns
    with _clock_lock:
        _last_ns = max(time.time_ns(), _last_ns + 1)
        return _last_ns


def _sequence() -> str:
    return f"{_unique_ns():016x}.{os.getpid():08x}"


# Run-time checks of arguments take ``object``: untyped callers may pass anything.


def _is_int_between(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _is_positive_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _match(pattern: re.Pattern[str], value: object) -> re.Match[str] | None:
    return pattern.match(value) if isinstance(value, str) else None


def _order_name(priority: int) -> str:
    return f"{INT64_MAX - priority:016x}.{_sequence()}"


def _priority_of(order: str) -> int:
    return INT64_MAX - int(order[:16], 16)


def _schedule_key(timestamp: float) -> int:
    micros = int(timestamp * 1_000_000 // 1)
    return min(max(micros - INT64_MIN, 0), 2**64 - 1)


class FileStorage:
    """Queue, schedule, results, counters, leases and dead letters in a directory.

    Satisfies :class:`~huey.protocols.Storage` and the capabilities
    :class:`~huey.protocols.SupportsLeases` (with
    :class:`~huey.protocols.SupportsDeadLetterDeletion` and
    :class:`~huey.protocols.SupportsLeaseCounts`), :class:`~huey.protocols.SupportsCounters`,
    :class:`~huey.protocols.SupportsExpiringKeys`,
    :class:`~huey.protocols.SupportsCompareAndDelete`,
    :class:`~huey.protocols.SupportsPeekMany`, :class:`~huey.protocols.SupportsDeleteData`,
    :class:`~huey.protocols.SupportsFlushAll`, :class:`~huey.protocols.SupportsSemaphores`,
    :class:`~huey.protocols.SupportsClose`, :class:`~huey.protocols.SupportsSettle` and
    :class:`~huey.protocols.SupportsScheduleTransfer`. Safe between processes (an
    exclusive ``fcntl`` lock around every operation) and threads. Slower than
    :class:`~huey.storage.SqliteStorage`; use one directory per queue.

    Args:
        name: the queue's name (unused: the directory is the queue).
        path: the directory; created if missing.
        levels: sub-directory levels for the result files (0 to 8), so that no
            directory holds too many files.
        use_thread_lock: lock with a ``threading`` lock instead of the lock file;
            only safe when a single process uses the directory.

    Raises:
        ConfigurationError: a parameter is invalid.
        StorageAccessError: the directory cannot be created or written.
    """

    blocking = False
    priority = True

    def __init__(
        self,
        name: str = "huey",
        path: str | os.PathLike[str] | None = None,
        levels: int = 2,
        use_thread_lock: bool = False,
    ) -> None:
        if path is None or not os.fspath(path):
            raise ConfigurationError("FileStorage needs path=, the directory to store data in")
        if not _is_int_between(levels, 0, 8):
            raise ConfigurationError(f"levels must be an int from 0 to 8, got {levels!r}")
        self.name = name
        self.path: str = os.path.abspath(os.fspath(path))
        self.levels = levels
        self.use_thread_lock: bool = bool(use_thread_lock)
        self._queue_dir = os.path.join(self.path, "queue")
        self._inflight_dir = os.path.join(self.path, "inflight")
        self._schedule_dir = os.path.join(self.path, "schedule")
        self._results_dir = os.path.join(self.path, "results")
        self._counters_dir = os.path.join(self.path, "counters")
        self._dead_dir = os.path.join(self.path, "dead")
        self._semaphores_dir = os.path.join(self.path, "semaphores")
        self._tmp_dir = os.path.join(self.path, "tmp")
        self._journal_path = os.path.join(self.path, "queue.journal")
        if self.use_thread_lock:
            self._thread_lock = _path_locks.setdefault(self.path, threading.RLock())
        else:
            self._thread_lock = threading.RLock()
        self._pid = 0
        self._lock_fd = -1
        self._journal_fd = -1
        self._journal_pos = 0
        self._heap: list[str] = []
        self._indexed: set[str] = set()
        # Every directory that holds data (flush_all empties them), then the scratch one.
        self._data_dirs: tuple[str, ...] = (
            self._queue_dir,
            self._inflight_dir,
            self._schedule_dir,
            self._results_dir,
            self._counters_dir,
            self._dead_dir,
            self._semaphores_dir,
        )
        with self._locked("creating the directories"):
            for directory in (*self._data_dirs, self._tmp_dir):
                os.makedirs(directory, exist_ok=True)
            # Probe: a read-only directory must fail here, not at the first enqueue.
            self._write_file(os.path.join(self._tmp_dir, ".probe"), b"")
            os.unlink(os.path.join(self._tmp_dir, ".probe"))

    @override
    def __repr__(self) -> str:
        return f"FileStorage(name={self.name!r}, path={self.path!r})"

    # --- locking, files and errors --------------------------------------------------

    def _error(self, exc: OSError, what: str) -> StorageError:
        where = f"file storage {self.path!r}"
        detail = f"{exc.strerror or exc}" + (f": {exc.filename!r}" if exc.filename else "")
        if exc.errno in _FULL_ERRNOS:
            return StorageFull(
                f"{where} is out of space while {what} ({detail}); nothing was written. "
                "Free disk space or raise the quota.",
                storage=self.path,
            )
        if exc.errno in _ACCESS_ERRNOS:
            return StorageAccessError(
                f"{where} cannot be created or written while {what} ({detail}). "
                "Check that the path is a writable directory.",
                storage=self.path,
            )
        return StorageError(f"{where} failed while {what} ({detail})", storage=self.path)

    def _ensure_process(self) -> None:
        pid = os.getpid()
        if self._pid == pid:
            return
        # After fork() the lock file descriptor is shared with the parent, and flock()
        # locks belong to the shared open file: reopen it, or the two would not exclude
        # each other. The heap is rebuilt from the directory.
        if not self.use_thread_lock:
            self._lock_fd = os.open(
                os.path.join(self.path, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644
            )
        self._journal_fd = -1
        self._heap = []
        self._indexed = set()
        self._pid = pid

    @contextmanager
    def _locked(self, what: str) -> Generator[None, None, None]:
        if self._pid != os.getpid() and self._pid and not self.use_thread_lock:
            # A thread of the parent may have held the lock at fork(): the child's copy
            # would stay locked for ever.
            self._thread_lock = threading.RLock()
        with self._thread_lock:
            try:
                if self._pid != os.getpid():
                    os.makedirs(self.path, exist_ok=True)
                    self._ensure_process()
                if self.use_thread_lock:
                    yield
                    return
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            except OSError as exc:
                raise self._error(exc, what) from exc

    def _write_file(self, target: str, data: bytes, mtime_ns: int | None = None) -> None:
        tmp = os.path.join(self._tmp_dir, f"{_sequence()}.{os.urandom(4).hex()}")
        try:
            with open(tmp, "wb") as handle:
                handle.write(data)
            if mtime_ns is not None:
                os.utime(tmp, ns=(mtime_ns, mtime_ns))
            os.replace(tmp, target)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise

    @staticmethod
    def _read_file(path: str) -> bytes | None:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    @staticmethod
    def _names(directory: str) -> list[str]:
        with os.scandir(directory) as entries:
            return [entry.name for entry in entries if not entry.name.startswith(".")]

    @staticmethod
    def _clear(directory: str) -> int:
        count = 0
        for root, _dirs, files in os.walk(directory):
            for filename in files:
                with suppress(FileNotFoundError):
                    os.unlink(os.path.join(root, filename))
                    count += 1
        return count

    def close(self) -> None:
        """Close the lock file and the journal; the next call opens them again."""
        with self._thread_lock:
            for fd in (self._lock_fd, self._journal_fd):
                if fd >= 0 and self._pid == os.getpid():
                    with suppress(OSError):
                        os.close(fd)
            self._lock_fd = -1
            self._journal_fd = -1
            self._journal_pos = 0
            self._heap = []
            self._indexed = set()
            self._pid = 0

    # --- the ready-queue index ------------------------------------------------------

    def _open_journal(self) -> None:
        if self._journal_fd >= 0:
            os.close(self._journal_fd)
        self._journal_fd = os.open(
            self._journal_path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644
        )

    def _rescan(self) -> None:
        self._open_journal()
        self._journal_pos = os.fstat(self._journal_fd).st_size
        names = [name for name in self._names(self._queue_dir) if _QUEUE_NAME.match(name)]
        heapq.heapify(names)
        self._heap = names
        self._indexed = set(names)

    def _refresh(self) -> None:
        if self._journal_fd < 0:
            self._rescan()
            return
        try:
            current = os.stat(self._journal_path)
        except FileNotFoundError:
            self._rescan()
            return
        mine = os.fstat(self._journal_fd)
        if current.st_ino != mine.st_ino or current.st_dev != mine.st_dev:
            self._rescan()
            return
        if current.st_size <= self._journal_pos:
            return
        chunk = os.pread(self._journal_fd, current.st_size - self._journal_pos, self._journal_pos)
        # Only whole lines: a writer killed mid-line leaves a fragment we skip.
        end = chunk.rfind(b"\n") + 1
        self._journal_pos += end
        for raw in chunk[:end].split(b"\n"):
            name = raw.decode("ascii", "replace")
            if name and name not in self._indexed and _QUEUE_NAME.match(name):
                heapq.heappush(self._heap, name)
                self._indexed.add(name)

    def _publish(self, name: str) -> None:
        """Record that ``name`` was added to ``queue/`` (the lock is held)."""
        try:
            size = os.stat(self._journal_path).st_size
        except FileNotFoundError:
            size = 0
        if size > _JOURNAL_LIMIT:
            # A fresh file (new inode): every consumer notices and rescans once.
            self._write_file(self._journal_path, b"")
        fd = os.open(
            self._journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644
        )
        try:
            os.write(fd, name.encode("ascii") + b"\n")
        finally:
            os.close(fd)

    def _claim(self, take: Callable[[str], bytes | None]) -> tuple[str, bytes] | None:
        """Pop names off the heap until ``take`` succeeds on one (the lock is held)."""
        self._refresh()
        for attempt in range(2):
            while self._heap:
                name = heapq.heappop(self._heap)
                self._indexed.discard(name)
                data = take(name)
                if data is not None:
                    return name, data
            if attempt == 0:
                self._rescan()
        return None

    def _add_ready(self, order: str, deliveries: int, data: bytes) -> None:
        name = f"{order}.{deliveries:x}"
        self._write_file(os.path.join(self._queue_dir, name), data)
        self._publish(name)

    # --- queue --------------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        """Append ``data``; higher ``priority`` is dequeued first."""
        order = _order_name(check_priority(priority))
        with self._locked("enqueueing"):
            self._add_ready(order, 0, data)

    def dequeue(self) -> bytes | None:
        """Remove and return the next ready item (at-most-once), or ``None``."""

        def take(name: str) -> bytes | None:
            path = os.path.join(self._queue_dir, name)
            data = self._read_file(path)
            if data is not None:
                os.unlink(path)
            return data

        with self._locked("dequeueing"):
            claimed = self._claim(take)
        return None if claimed is None else claimed[1]

    def queue_size(self) -> int:
        """Number of items ready to be delivered (leased items are not counted)."""
        with self._locked("counting the queue"):
            return sum(1 for name in self._names(self._queue_dir) if _QUEUE_NAME.match(name))

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Ready items in delivery order, at most ``limit`` of them (scans the directory)."""
        count = check_limit(limit)
        items: list[bytes] = []
        with self._locked("listing the queue"):
            names = sorted(n for n in self._names(self._queue_dir) if _QUEUE_NAME.match(n))
            for name in names:
                if count is not None and len(items) >= count:
                    break
                data = self._read_file(os.path.join(self._queue_dir, name))
                if data is not None:
                    items.append(data)
        return items

    def flush_queue(self) -> None:
        """Remove every item of the queue, leased ones included (their acks will fail)."""
        with self._locked("flushing the queue"):
            self._clear(self._queue_dir)
            self._clear(self._inflight_dir)
            self._heap = []
            self._indexed = set()

    # --- schedule -----------------------------------------------------------------

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        """Store ``data`` to become due at ``timestamp`` (UTC epoch seconds)."""
        name = f"{_schedule_key(float(timestamp)):016x}.{_sequence()}"
        with self._locked("adding to the schedule"):
            self._write_file(os.path.join(self._schedule_dir, name), data)

    def add_to_schedule_with_priority(
        self, data: bytes, timestamp: float, priority: int, /
    ) -> None:
        """Store ``data`` to become due at ``timestamp`` and to be queued with ``priority``.

        Raises:
            ValueError: ``priority`` is not an int that fits in 64 bits.
        """
        inverted = INT64_MAX - check_priority(priority)
        name = f"{_schedule_key(float(timestamp)):016x}.{_sequence()}.{inverted:016x}"
        with self._locked("adding to the schedule"):
            self._write_file(os.path.join(self._schedule_dir, name), data)

    def move_due(
        self, timestamp: float, priority_of: Callable[[bytes], int | None], /
    ) -> Sequence[bytes]:
        """Move the items due at ``timestamp`` to the queue, each by one atomic rename.

        Satisfies :class:`~huey.protocols.SupportsScheduleTransfer`: a crash leaves each
        item either in ``schedule/`` or in ``queue/``, never in neither or both. Items keep
        the priority stored in their file name; ``priority_of`` gives it for items
        scheduled without one.
        """
        bound = _schedule_key(float(timestamp))
        moved: list[bytes] = []
        with self._locked("moving due items to the queue"):
            for name in self._schedule_names():
                if int(name[:16], 16) > bound:
                    break
                path = os.path.join(self._schedule_dir, name)
                data = self._read_file(path)
                if data is None:
                    continue
                stored = _SCHEDULE_NAME.match(name)
                prefix = stored.group(1) if stored is not None else None
                if prefix is not None:
                    priority = _priority_of(prefix)
                else:
                    priority = check_priority(priority_of(data))
                queued = f"{_order_name(priority)}.0"
                os.rename(path, os.path.join(self._queue_dir, queued))
                self._publish(queued)
                moved.append(data)
        return moved

    def _schedule_names(self) -> list[str]:
        return sorted(n for n in self._names(self._schedule_dir) if _SCHEDULE_NAME.match(n))

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        """Atomically remove and return the items due at ``timestamp``, earliest first.

        Lists the schedule directory once per call (the consumer calls it about once a
        second).
        """
        bound = _schedule_key(float(timestamp))
        due: list[bytes] = []
        with self._locked("reading the schedule"):
            for name in self._schedule_names():
                if int(name[:16], 16) > bound:
                    break
                path = os.path.join(self._schedule_dir, name)
                data = self._read_file(path)
                if data is not None:
                    os.unlink(path)
                    due.append(data)
        return due

    def schedule_size(self) -> int:
        """Number of items in the schedule."""
        with self._locked("counting the schedule"):
            return len(self._schedule_names())

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items in the schedule, earliest first, at most ``limit`` of them."""
        count = check_limit(limit)
        items: list[bytes] = []
        with self._locked("listing the schedule"):
            for name in self._schedule_names():
                if count is not None and len(items) >= count:
                    break
                data = self._read_file(os.path.join(self._schedule_dir, name))
                if data is not None:
                    items.append(data)
        return items

    def flush_schedule(self) -> None:
        """Remove every item of the schedule."""
        with self._locked("flushing the schedule"):
            self._clear(self._schedule_dir)

    # --- key/value store ------------------------------------------------------------

    def _key_path(self, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        parts = [digest[2 * level : 2 * level + 2] for level in range(self.levels)]
        return os.path.join(self._results_dir, *parts, digest)

    @staticmethod
    def _decode_kv(raw: bytes) -> tuple[str, float, bytes] | None:
        if len(raw) < _KV_HEADER.size:
            return None
        key_length, expires = _KV_HEADER.unpack_from(raw)
        start = _KV_HEADER.size
        key = raw[start : start + key_length].decode("utf-8", "surrogatepass")
        return key, expires, raw[start + key_length :]

    def _live_value(self, path: str, now: float) -> bytes | None:
        raw = self._read_file(path)
        decoded = None if raw is None else self._decode_kv(raw)
        if decoded is None:
            return None
        _key, expires, value = decoded
        if expires and expires <= now:
            return None
        return value

    def _store(self, key: str, value: bytes, expires: float) -> None:
        path = self._key_path(key)
        encoded = key.encode("utf-8", "surrogatepass")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._write_file(path, _KV_HEADER.pack(len(encoded), expires) + encoded + value)

    def put_data(self, key: str, value: bytes, /) -> None:
        """Store ``value`` under ``key`` (without expiry), replacing any value."""
        with self._locked("storing a value"):
            self._store(key, value, 0.0)

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """The value under ``key``, or ``EmptyData``."""
        with self._locked("reading a value"):
            value = self._live_value(self._key_path(key), time.time())
        return EmptyData if value is None else value

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """Remove and return the value under ``key``, or ``EmptyData``."""
        path = self._key_path(key)
        with self._locked("removing a value"):
            value = self._live_value(path, time.time())
            with suppress(FileNotFoundError):
                os.unlink(path)
        return EmptyData if value is None else value

    def _put_if_empty(self, key: str, value: bytes, expires: float) -> bool:
        with self._locked("storing a value if absent"):
            if self._live_value(self._key_path(key), time.time()) is not None:
                return False
            self._store(key, value, expires)
            return True

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None, /) -> bool:
        """Store ``value`` only if ``key`` holds nothing; whether it was stored.

        With ``ttl`` (huey 3.5's form) it is :meth:`put_if_empty_ttl`.
        """
        if ttl is not None:
            return self.put_if_empty_ttl(key, value, ttl)
        return self._put_if_empty(key, value, 0.0)

    def put_if_empty_ttl(self, key: str, value: bytes, ttl: float, /) -> bool:
        """Like :meth:`put_if_empty`; the key disappears ``ttl`` seconds later."""
        if not _is_positive_number(ttl):
            raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
        return self._put_if_empty(key, value, time.time() + ttl)

    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        """Delete ``key`` if it holds ``value`` (under the lock); whether it did."""
        path = self._key_path(key)
        with self._locked("deleting a value if unchanged"):
            if self._live_value(path, time.time()) != value:
                return False
            os.unlink(path)
            return True

    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        """The values under ``keys`` (``EmptyData`` for an empty one), read under one lock."""
        now = time.time()
        with self._locked("reading values"):
            values = [self._live_value(self._key_path(key), now) for key in keys]
        return [EmptyData if value is None else value for value in values]

    def delete_data(self, key: str, /) -> bool:
        """Remove ``key``; whether it held a value."""
        return self.pop_data(key) is not EmptyData

    def has_data_for_key(self, key: str, /) -> bool:
        """Whether ``key`` holds a value."""
        return self.peek_data(key) is not EmptyData

    def result_store_size(self) -> int:
        """Number of keys holding a value (reads every result file)."""
        return len(self.result_items())

    def result_items(self) -> Mapping[str, bytes]:
        """Every key and value of the key/value store (reads every result file)."""
        now = time.time()
        items: dict[str, bytes] = {}
        with self._locked("listing values"):
            for root, _dirs, files in os.walk(self._results_dir):
                for filename in files:
                    raw = self._read_file(os.path.join(root, filename))
                    decoded = None if raw is None else self._decode_kv(raw)
                    if decoded is not None and not (decoded[1] and decoded[1] <= now):
                        items[decoded[0]] = decoded[2]
        return items

    def flush_results(self) -> None:
        """Remove every key of the key/value store."""
        with self._locked("flushing values"):
            self._clear(self._results_dir)

    # --- counters -------------------------------------------------------------------

    def _counter_path(self, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return os.path.join(self._counters_dir, digest)

    def incr(self, key: str, amount: int = 1, /) -> int:
        """Add ``amount`` to the counter ``key`` (created at 0); return the new value."""
        path = self._counter_path(key)
        with self._locked("incrementing a counter"):
            raw = self._read_file(path)
            value = (int(raw) if raw else 0) + amount
            self._write_file(path, str(value).encode("ascii"))
        return value

    def delete_counter(self, key: str, /) -> None:
        """Remove the counter ``key``."""
        with self._locked("deleting a counter"), suppress(FileNotFoundError):
            os.unlink(self._counter_path(key))

    def flush_counters(self) -> None:
        """Remove every counter."""
        with self._locked("flushing counters"):
            self._clear(self._counters_dir)

    # --- leases ---------------------------------------------------------------------

    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        """Lease the next ready item until ``now + lease_seconds``.

        The item's file moves to ``inflight/`` under a name that is the token; the
        deadline is stored as the file's modification time.
        """
        deadline = now + lease_seconds
        deadline_ns = round(deadline * 1e9)
        token_box: list[tuple[str, int]] = []

        def take(name: str) -> bytes | None:
            match = _QUEUE_NAME.match(name)
            source = os.path.join(self._queue_dir, name)
            data = self._read_file(source) if match else None
            if match is None or data is None:
                return None
            deliveries = int(match.group(2), 16) + 1
            token = f"{match.group(1)}.{deliveries:x}.{os.urandom(16).hex()}"
            os.utime(source, ns=(deadline_ns, deadline_ns))
            os.rename(source, os.path.join(self._inflight_dir, token))
            token_box.append((token, deliveries))
            return data

        with self._locked("reserving a message"):
            claimed = self._claim(take)
        if claimed is None:
            return None
        token, deliveries = token_box[-1]
        return Lease(token=token, data=claimed[1], deliveries=deliveries, deadline=deadline)

    def _inflight(self, token: str) -> tuple[str, str, int] | None:
        match = _match(_TOKEN, token)
        if match is None:
            return None
        return os.path.join(self._inflight_dir, token), match.group(1), int(match.group(2), 16)

    def extend_lease(self, token: str, now: float, lease_seconds: float, /) -> bool:
        """Move the lease's deadline to ``now + lease_seconds``; ``False`` if stale."""
        found = self._inflight(token)
        if found is None:
            return False
        deadline_ns = round((now + lease_seconds) * 1e9)
        with self._locked("extending a lease"):
            try:
                os.utime(found[0], ns=(deadline_ns, deadline_ns))
            except FileNotFoundError:
                return False
            return True

    def ack(self, token: str, /) -> bool:
        """Delete the leased item; ``False`` (nothing deleted) if the token is stale."""
        found = self._inflight(token)
        if found is None:
            return False
        with self._locked("acknowledging a message"):
            try:
                os.unlink(found[0])
            except FileNotFoundError:
                return False
            return True

    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        """Store ``result``, delete ``discard`` and acknowledge, under the storage's lock.

        Satisfies :class:`~huey.protocols.SupportsSettle`. With a stale token (the lease
        expired and the message went to another worker) nothing is written, so a late
        run never overwrites the result of the run that settled the message. A crash
        after the result is written and before the acknowledgement redelivers the
        message, which writes the result again.
        """
        found = self._inflight(token)
        if found is None:
            return False
        with self._locked("settling a message"):
            if not os.path.exists(found[0]):
                return False
            for key in discard:
                with suppress(FileNotFoundError):
                    os.unlink(self._key_path(key))
            if result is not None:
                self._store(result[0], result[1], 0.0)
            try:
                os.unlink(found[0])
            except FileNotFoundError:
                return False
            return True

    def release(self, token: str, /) -> bool:
        """Return the leased item to its place in the queue; this delivery is not counted."""
        found = self._inflight(token)
        if found is None:
            return False
        path, order, deliveries = found
        with self._locked("releasing a message"):
            return self._back_to_queue(path, order, deliveries - 1)

    def _back_to_queue(self, path: str, order: str, deliveries: int) -> bool:
        name = f"{order}.{max(deliveries, 0):x}"
        try:
            os.rename(path, os.path.join(self._queue_dir, name))
        except FileNotFoundError:
            return False
        self._publish(name)
        return True

    def _bury(self, path: str, order: str, deliveries: int, reason: str, now: float) -> str | None:
        """Move the in-flight file to the dead letters; the letter's id, or ``None``."""
        data = self._read_file(path)
        if data is None:
            return None
        header = {
            "reason": reason,
            "deliveries": deliveries,
            "timestamp": now,
            "priority": _priority_of(order),
        }
        encoded = json.dumps(header).encode("utf-8") + b"\n"
        # Written before the in-flight file is removed: a crash in between leaves a
        # duplicate, never a loss.
        letter_id = _sequence()
        self._write_file(os.path.join(self._dead_dir, letter_id), encoded + data)
        os.unlink(path)
        return letter_id

    def dead_letter(self, token: str, reason: str, now: float, /) -> bool:
        """Move the leased item to the dead letters; ``False`` if the token is stale."""
        found = self._inflight(token)
        if found is None:
            return False
        path, order, deliveries = found
        with self._locked("dead-lettering a message"):
            return self._bury(path, order, deliveries, reason, now) is not None

    def requeue_expired(self, now: float, max_deliveries: int, /) -> int:
        """Return leases expired at ``now`` to the queue, or dead-letter them.

        An item that has reached ``max_deliveries`` goes to the dead letters (each one
        logged with its reason). Returns how many items moved.
        """
        now_ns = round(now * 1e9)
        moved = 0
        with self._locked("requeueing expired leases"):
            for token in self._names(self._inflight_dir):
                found = self._inflight(token)
                if found is None:
                    continue
                path, order, deliveries = found
                try:
                    deadline_ns = os.stat(path).st_mtime_ns
                except FileNotFoundError:
                    continue
                if deadline_ns >= now_ns:
                    continue
                if _core.delivery_allowed(deliveries + 1, max_deliveries):
                    done = self._back_to_queue(path, order, deliveries)
                else:
                    reason = _core.too_many_deliveries_reason(deliveries, max_deliveries)
                    letter_id = self._bury(path, order, deliveries, reason, now)
                    if letter_id is not None:
                        log_expired_dead_letter(self.name, letter_id, reason)
                    done = letter_id is not None
                moved += done
        return moved

    def _read_letter(self, letter_id: str) -> tuple[dict[str, object], bytes] | None:
        raw = self._read_file(os.path.join(self._dead_dir, letter_id))
        if raw is None:
            return None
        head, _, data = raw.partition(b"\n")
        try:
            header: object = json.loads(head)
        except ValueError:
            header = {}
        if not isinstance(header, dict):
            header = {}
        fields: dict[str, object] = {str(k): v for k, v in header.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]  # json gives an untyped dict
        return fields, data

    def dead_letters(self, limit: int | None = None, /) -> Sequence[DeadLetter]:
        """The dead letters, oldest first, at most ``limit`` of them."""
        count = check_limit(limit)
        letters: list[DeadLetter] = []
        with self._locked("listing dead letters"):
            for letter_id in sorted(self._names(self._dead_dir)):
                if count is not None and len(letters) >= count:
                    break
                letter = self._read_letter(letter_id) if _LETTER_ID.match(letter_id) else None
                if letter is None:
                    continue
                header, data = letter
                deliveries = header.get("deliveries")
                timestamp = header.get("timestamp")
                letters.append(
                    DeadLetter(
                        id=letter_id,
                        data=data,
                        reason=str(header.get("reason", "")),
                        deliveries=deliveries if isinstance(deliveries, int) else 0,
                        timestamp=float(timestamp) if isinstance(timestamp, int | float) else 0.0,
                    )
                )
        return letters

    def requeue_dead_letter(self, letter_id: str, /) -> bool:
        """Put a dead letter back at the end of the queue with a fresh delivery count."""
        if _match(_LETTER_ID, letter_id) is None:
            return False
        with self._locked("requeueing a dead letter"):
            letter = self._read_letter(letter_id)
            if letter is None:
                return False
            header, data = letter
            priority = header.get("priority")
            self._add_ready(_order_name(priority if isinstance(priority, int) else 0), 0, data)
            with suppress(FileNotFoundError):
                os.unlink(os.path.join(self._dead_dir, letter_id))
            return True

    def purge_dead_letters(self) -> int:
        """Delete every dead letter; return how many there were."""
        with self._locked("purging dead letters"):
            return self._clear(self._dead_dir)

    def delete_dead_letter(self, letter_id: str, /) -> bool:
        """Delete one dead letter; whether it existed (``SupportsDeadLetterDeletion``)."""
        if _match(_LETTER_ID, letter_id) is None:
            return False
        with self._locked("deleting a dead letter"):
            try:
                os.unlink(os.path.join(self._dead_dir, letter_id))
            except FileNotFoundError:
                return False
            return True

    def lease_counts(self, now: float, /) -> LeaseCounts:
        """The leases in flight and expired at ``now`` (``SupportsLeaseCounts``).

        Reads the deadline (modification time) of every file in ``inflight/``.
        """
        now_ns = round(now * 1e9)
        in_flight = expired = 0
        with self._locked("counting leases"):
            for token in self._names(self._inflight_dir):
                if _TOKEN.match(token) is None:
                    continue
                try:
                    deadline_ns = os.stat(os.path.join(self._inflight_dir, token)).st_mtime_ns
                except FileNotFoundError:
                    continue
                if deadline_ns < now_ns:
                    expired += 1
                else:
                    in_flight += 1
        return LeaseCounts(in_flight=in_flight, expired=expired)

    # --- semaphores -----------------------------------------------------------------
    # Holders expire by the wall clock of the process that looks (as TTL'd keys do).

    def _semaphore_path(self, name: str) -> str:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        return os.path.join(self._semaphores_dir, digest)

    def _holders(self, path: str, now: float) -> dict[str, float]:
        """The live holders in the semaphore file ``path`` (the lock is held)."""
        raw = self._read_file(path)
        if not raw:
            return {}
        try:
            stored = cast("dict[str, float]", json.loads(raw)["holders"])
            holders = {str(holder): float(deadline) for holder, deadline in stored.items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StorageError(
                f"file storage {self.path!r}: semaphore file {path!r} is damaged ({exc})",
                storage=self.path,
            ) from exc
        return {holder: deadline for holder, deadline in holders.items() if deadline > now}

    def _save_holders(self, path: str, name: str, holders: Mapping[str, float]) -> None:
        if not holders:
            with suppress(FileNotFoundError):
                os.unlink(path)
            return
        self._write_file(path, json.dumps({"name": name, "holders": dict(holders)}).encode())

    def semaphore_acquire(self, name: str, holder: str, limit: int, timeout: float, /) -> bool:
        """Take a slot of ``name`` for ``holder`` unless ``limit`` others hold one.

        Raises:
            ValueError: ``timeout`` is not a positive number of seconds.
        """
        if not _is_positive_number(timeout):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        path = self._semaphore_path(name)
        with self._locked("acquiring a semaphore"):
            now = time.time()
            holders = self._holders(path, now)
            if holder not in holders and len(holders) >= limit:
                return False
            holders[holder] = now + timeout
            self._save_holders(path, name, holders)
            return True

    def semaphore_renew(self, name: str, holder: str, timeout: float, /) -> bool:
        """Restart ``holder``'s timeout; ``False`` if its slot is gone."""
        if not _is_positive_number(timeout):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        path = self._semaphore_path(name)
        with self._locked("renewing a semaphore"):
            now = time.time()
            holders = self._holders(path, now)
            if holder not in holders:
                return False
            holders[holder] = now + timeout
            self._save_holders(path, name, holders)
            return True

    def semaphore_release(self, name: str, holder: str, /) -> bool:
        """Free ``holder``'s slot; whether it held one (an expired slot is not held)."""
        path = self._semaphore_path(name)
        with self._locked("releasing a semaphore"):
            holders = self._holders(path, time.time())
            if holders.pop(holder, None) is None:
                return False
            self._save_holders(path, name, holders)
            return True

    def semaphore_holders(self, name: str, /) -> Sequence[str]:
        """The current holders of ``name``, earliest to expire first."""
        with self._locked("listing semaphore holders"):
            holders = self._holders(self._semaphore_path(name), time.time())
        return sorted(holders, key=lambda holder: (holders[holder], holder))

    def semaphore_clear(self, name: str, /) -> int:
        """Free every slot of ``name``; return how many were held."""
        path = self._semaphore_path(name)
        with self._locked("clearing a semaphore"):
            count = len(self._holders(path, time.time()))
            with suppress(FileNotFoundError):
                os.unlink(path)
        return count

    # --- everything -----------------------------------------------------------------

    def flush_all(self) -> None:
        """Remove every item, value, counter and dead letter, under one lock."""
        with self._locked("flushing everything"):
            for directory in self._data_dirs:
                self._clear(directory)
            self._heap = []
            self._indexed = set()
