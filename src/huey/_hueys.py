"""The convenience :class:`~huey.Huey` subclasses for the local storages.

Each class has one options ``TypedDict`` (Huey's options plus its storage's) and three
one-line ``__init__`` overloads: the results mode is chosen by the self type, and an
inherited overload cannot bind it for a subclass (both checkers). Misspelled options
are type errors, and at run time a ``TypeError`` that lists the valid ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import ClassVar, Literal, Required, overload

from typing_extensions import Unpack

from ._api import RM, Huey
from ._engine import HueyOptions, option_names
from .protocols import Storage
from .storage import BlackHoleStorage, FileStorage, MemoryStorage, SqliteStorage

__all__ = (
    "BlackHoleHuey",
    "FileHuey",
    "FileOptions",
    "MemoryHuey",
    "SqliteHuey",
    "SqliteOptions",
)


class SqliteOptions(HueyOptions, total=False):
    """:class:`~huey.api.HueyOptions` plus the options of :class:`~huey.storage.SqliteStorage`.

    Attributes:
        filename: the database file (default ``"huey.db"``).
        cache_mb: megabytes of page cache per connection (default 8).
        fsync: make every commit durable against power loss (default ``False``).
        timeout: seconds to wait for another connection's write lock (default 5).
        strict_fifo: never reuse row ids (only for a new file; default ``False``).
        journal_mode: SQLite journal mode (default ``"wal"``).
        pragmas: further ``PRAGMA`` settings by name.
    """

    filename: str | os.PathLike[str]
    cache_mb: int
    fsync: bool
    timeout: float
    strict_fifo: bool
    journal_mode: str
    pragmas: Mapping[str, int | str]


class FileOptions(HueyOptions, total=False):
    """:class:`~huey.api.HueyOptions` plus the options of :class:`~huey.storage.FileStorage`.

    Attributes:
        path: the directory (created if missing); one directory per queue. Required.
        levels: sub-directory levels for result files (default 2).
        use_thread_lock: lock with a thread lock instead of a lock file (only when a
            single process uses the directory; default ``False``).
    """

    path: Required[str | os.PathLike[str]]
    levels: int
    use_thread_lock: bool


class MemoryHuey(Huey[RM]):
    """:class:`Huey` on an in-memory storage (tests, immediate mode).

    Args:
        name: the queue's name.
        results: store task return values.
        options: :class:`~huey.api.HueyOptions`.
    """

    storage_class: ClassVar[Callable[..., Storage]] = MemoryStorage
    storage_options: ClassVar[frozenset[str] | None] = frozenset()

    # fmt: off
    @overload
    def __init__(self: MemoryHuey[Literal[True]], name: str = "huey", *, results: Literal[True] = True, **options: Unpack[HueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: MemoryHuey[Literal[False]], name: str = "huey", *, results: Literal[False], **options: Unpack[HueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: MemoryHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[HueyOptions]) -> None: ...  # noqa: E501
    # fmt: on
    def __init__(
        self, name: str = "huey", *, results: bool = True, **options: Unpack[HueyOptions]
    ) -> None:
        self._setup(name, results, options)


class BlackHoleHuey(Huey[RM]):
    """:class:`Huey` whose storage discards everything (tests).

    Args:
        name: the queue's name.
        results: store task return values.
        options: :class:`~huey.api.HueyOptions`.
    """

    storage_class: ClassVar[Callable[..., Storage]] = BlackHoleStorage
    storage_options: ClassVar[frozenset[str] | None] = frozenset()

    # fmt: off
    @overload
    def __init__(self: BlackHoleHuey[Literal[True]], name: str = "huey", *, results: Literal[True] = True, **options: Unpack[HueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: BlackHoleHuey[Literal[False]], name: str = "huey", *, results: Literal[False], **options: Unpack[HueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: BlackHoleHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[HueyOptions]) -> None: ...  # noqa: E501
    # fmt: on
    def __init__(
        self, name: str = "huey", *, results: bool = True, **options: Unpack[HueyOptions]
    ) -> None:
        self._setup(name, results, options)


class SqliteHuey(Huey[RM]):
    """:class:`Huey` on a SQLite file (:class:`~huey.storage.SqliteStorage`).

    Safe with several consumer processes on one machine; several hueys (names) may
    share one file. Extra keyword arguments for :func:`sqlite3.connect` need
    ``Huey(storage=SqliteStorage(...))``.

    Args:
        name: the queue's name.
        results: store task return values.
        options: :class:`SqliteOptions`: the storage's (``filename``, ``cache_mb``,
            ``fsync``, ``timeout``, ``strict_fifo``, ``journal_mode``, ``pragmas``) and
            the other :class:`Huey` options.
    """

    storage_class: ClassVar[Callable[..., Storage]] = SqliteStorage
    storage_options: ClassVar[frozenset[str] | None] = option_names(SqliteOptions) - option_names(
        HueyOptions
    )

    # fmt: off
    @overload
    def __init__(self: SqliteHuey[Literal[True]], name: str = "huey", *, results: Literal[True] = True, **options: Unpack[SqliteOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: SqliteHuey[Literal[False]], name: str = "huey", *, results: Literal[False], **options: Unpack[SqliteOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: SqliteHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[SqliteOptions]) -> None: ...  # noqa: E501
    # fmt: on
    def __init__(
        self, name: str = "huey", *, results: bool = True, **options: Unpack[SqliteOptions]
    ) -> None:
        self._setup(name, results, options)


class FileHuey(Huey[RM]):
    """:class:`Huey` on a directory (:class:`~huey.storage.FileStorage`).

    For small deployments; slower than :class:`SqliteHuey`.

    Args:
        name: the queue's name.
        results: store task return values.
        options: :class:`FileOptions`: the storage's (``path``, required; ``levels``,
            ``use_thread_lock``) and the other :class:`Huey` options.
    """

    storage_class: ClassVar[Callable[..., Storage]] = FileStorage
    storage_options: ClassVar[frozenset[str] | None] = option_names(FileOptions) - option_names(
        HueyOptions
    )

    # fmt: off
    @overload
    def __init__(self: FileHuey[Literal[True]], name: str = "huey", *, results: Literal[True] = True, **options: Unpack[FileOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: FileHuey[Literal[False]], name: str = "huey", *, results: Literal[False], **options: Unpack[FileOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: FileHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[FileOptions]) -> None: ...  # noqa: E501
    # fmt: on
    def __init__(
        self, name: str = "huey", *, results: bool = True, **options: Unpack[FileOptions]
    ) -> None:
        self._setup(name, results, options)
