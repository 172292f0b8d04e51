"""The convenience :class:`~huey.Huey` subclasses for the local storages.

Each one repeats the typed ``__init__`` overloads (the results mode is chosen by the
self type, which inherited overloads cannot bind for a subclass) and delegates to the
one constructor body, ``_HueyState.__init__``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import ClassVar, Literal, overload

from typing_extensions import Unpack

from ._api import RM, Huey, HueyOptions, _HueyState  # pyright: ignore[reportPrivateUsage]  # the shared constructor body of every Huey class
from .protocols import Storage
from .storage import BlackHoleStorage, FileStorage, MemoryStorage, SqliteStorage

__all__ = ("BlackHoleHuey", "FileHuey", "MemoryHuey", "SqliteHuey")


class MemoryHuey(Huey[RM]):
    """:class:`Huey` on an in-memory storage (tests, immediate mode)."""

    storage_class: ClassVar[Callable[..., Storage]] = MemoryStorage

    @overload
    def __init__(
        self: MemoryHuey[Literal[True]],
        name: str = "huey",
        *,
        results: Literal[True] = True,
        **options: Unpack[HueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: MemoryHuey[Literal[False]],
        name: str = "huey",
        *,
        results: Literal[False],
        **options: Unpack[HueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: MemoryHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[HueyOptions]
    ) -> None: ...
    def __init__(
        self, name: str = "huey", *, results: bool = True, **options: Unpack[HueyOptions]
    ) -> None:
        _HueyState.__init__(self, name, results, **options)


class BlackHoleHuey(Huey[RM]):
    """:class:`Huey` whose storage discards everything (tests)."""

    storage_class: ClassVar[Callable[..., Storage]] = BlackHoleStorage

    @overload
    def __init__(
        self: BlackHoleHuey[Literal[True]],
        name: str = "huey",
        *,
        results: Literal[True] = True,
        **options: Unpack[HueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: BlackHoleHuey[Literal[False]],
        name: str = "huey",
        *,
        results: Literal[False],
        **options: Unpack[HueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: BlackHoleHuey[bool],
        name: str = "huey",
        *,
        results: bool,
        **options: Unpack[HueyOptions],
    ) -> None: ...
    def __init__(
        self, name: str = "huey", *, results: bool = True, **options: Unpack[HueyOptions]
    ) -> None:
        _HueyState.__init__(self, name, results, **options)


class SqliteHuey(Huey[RM]):
    """:class:`Huey` on a SQLite file (:class:`~huey.storage.SqliteStorage`).

    Safe with several consumer processes on one machine; several hueys (names) may
    share one file. Extra keyword arguments for :func:`sqlite3.connect` need
    ``Huey(storage=SqliteStorage(...))``.

    Args:
        name: the queue's name.
        results: store task return values.
        filename: the database file.
        cache_mb: megabytes of page cache per connection.
        fsync: make every commit durable against power loss.
        timeout: seconds to wait for another connection's write lock.
        strict_fifo: never reuse row ids (only for a new file).
        journal_mode: SQLite journal mode (default ``"wal"``).
        options: the other :class:`Huey` options.
    """

    storage_class: ClassVar[Callable[..., Storage]] = SqliteStorage

    @overload
    def __init__(
        self: SqliteHuey[Literal[True]],
        name: str = "huey",
        *,
        results: Literal[True] = True,
        filename: str | os.PathLike[str] = "huey.db",
        cache_mb: int = 8,
        fsync: bool = False,
        timeout: float = 5.0,
        strict_fifo: bool = False,
        journal_mode: str = "wal",
        **options: Unpack[HueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: SqliteHuey[Literal[False]],
        name: str = "huey",
        *,
        results: Literal[False],
        filename: str | os.PathLike[str] = "huey.db",
        cache_mb: int = 8,
        fsync: bool = False,
        timeout: float = 5.0,
        strict_fifo: bool = False,
        journal_mode: str = "wal",
        **options: Unpack[HueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: SqliteHuey[bool],
        name: str = "huey",
        *,
        results: bool,
        filename: str | os.PathLike[str] = "huey.db",
        cache_mb: int = 8,
        fsync: bool = False,
        timeout: float = 5.0,
        strict_fifo: bool = False,
        journal_mode: str = "wal",
        **options: Unpack[HueyOptions],
    ) -> None: ...
    def __init__(
        self,
        name: str = "huey",
        *,
        results: bool = True,
        filename: str | os.PathLike[str] = "huey.db",
        cache_mb: int = 8,
        fsync: bool = False,
        timeout: float = 5.0,
        strict_fifo: bool = False,
        journal_mode: str = "wal",
        **options: Unpack[HueyOptions],
    ) -> None:
        _HueyState.__init__(
            self,
            name,
            results,
            **options,
            filename=filename,
            cache_mb=cache_mb,
            fsync=fsync,
            timeout=timeout,
            strict_fifo=strict_fifo,
            journal_mode=journal_mode,
        )


class FileHuey(Huey[RM]):
    """:class:`Huey` on a directory (:class:`~huey.storage.FileStorage`).

    For small deployments; slower than :class:`SqliteHuey`.

    Args:
        name: the queue's name.
        results: store task return values.
        path: the directory (created if missing); one directory per queue.
        levels: sub-directory levels for result files.
        use_thread_lock: lock with a thread lock instead of a lock file (only when a
            single process uses the directory).
        options: the other :class:`Huey` options.
    """

    storage_class: ClassVar[Callable[..., Storage]] = FileStorage

    @overload
    def __init__(
        self: FileHuey[Literal[True]],
        name: str = "huey",
        *,
        results: Literal[True] = True,
        path: str | os.PathLike[str],
        levels: int = 2,
        use_thread_lock: bool = False,
        **options: Unpack[HueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: FileHuey[Literal[False]],
        name: str = "huey",
        *,
        results: Literal[False],
        path: str | os.PathLike[str],
        levels: int = 2,
        use_thread_lock: bool = False,
        **options: Unpack[HueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: FileHuey[bool],
        name: str = "huey",
        *,
        results: bool,
        path: str | os.PathLike[str],
        levels: int = 2,
        use_thread_lock: bool = False,
        **options: Unpack[HueyOptions],
    ) -> None: ...
    def __init__(
        self,
        name: str = "huey",
        *,
        results: bool = True,
        path: str | os.PathLike[str],
        levels: int = 2,
        use_thread_lock: bool = False,
        **options: Unpack[HueyOptions],
    ) -> None:
        _HueyState.__init__(
            self,
            name,
            results,
            **options,
            path=path,
            levels=levels,
            use_thread_lock=use_thread_lock,
        )
