"""The PostgreSQL flavour of :class:`~huey.Huey`: ``PostgresHuey``.

Importing this module imports psycopg (install ``huey[postgres]``). ``huey.PostgresHuey``
is loaded lazily from here, so ``import huey`` works without psycopg.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator
from typing import ClassVar, Literal, TypeVar, overload

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool
from typing_extensions import Unpack

from ._api import RM, Huey
from ._engine import HueyOptions, option_names
from .protocols import Storage
from .storage.postgres import PostgresStorage

__all__ = ("PostgresHuey", "PostgresHueyOptions")

_Row = TypeVar("_Row")


class PostgresHueyOptions(HueyOptions, total=False):
    """:class:`~huey.api.HueyOptions` plus the options of :class:`PostgresStorage`.

    Attributes:
        dsn: a libpq connection string or URL (``postgresql://user:pw@host/db``).
        connection: a ready ``psycopg_pool.ConnectionPool`` or ``psycopg.Connection``
            (then give no other connection option).
        blocking: idle workers wait for a notification instead of polling (default
            ``True``).
        read_timeout: seconds one blocking wait lasts (default 1).
        table_prefix: the tables' prefix (default ``"huey"``).
        create_tables: create missing tables on first use (default ``True``).
        notify_result: storing a result wakes ``Result.get(blocking=True)`` at once
            (default ``True``).
        max_connections: the most pooled connections per process (default 10).
        lock_timeout: seconds to wait for another transaction's lock (default 5).
        statement_timeout: seconds a statement may run (default: the server's).
        host: the server's host name.
        port: the server's port.
        dbname: the database.
        user: the user.
        password: the password.

    ``sslmode``, ``connect_timeout`` and ``application_name`` are passed to libpq too.
    """

    dsn: str | None
    connection: ConnectionPool[psycopg.Connection[TupleRow]] | psycopg.Connection[TupleRow] | None
    blocking: bool
    read_timeout: float
    table_prefix: str
    create_tables: bool
    notify_result: bool
    max_connections: int
    lock_timeout: float
    statement_timeout: float | None
    host: str
    port: int | str
    dbname: str
    user: str
    password: str
    sslmode: str
    connect_timeout: int
    application_name: str


_POSTGRES_STORAGE_OPTIONS = option_names(PostgresHueyOptions) - option_names(HueyOptions)


class PostgresHuey(Huey[RM]):
    """:class:`~huey.Huey` on PostgreSQL: leased delivery, shared by many hosts.

    Tasks are rows taken with ``FOR UPDATE SKIP LOCKED``; idle workers wait with
    ``LISTEN``; :meth:`transaction` enqueues inside the application's own transaction.
    See :class:`~huey.storage.postgres.PostgresStorage`.

    Args:
        name: the queue's name (several queues may share the tables).
        results: store task return values (``False``: task calls return ``None``).
        options: :class:`PostgresHueyOptions`: the connection (``dsn``, or ``host``,
            ``port``, ``dbname``, ``user``, ``password``..., or ``connection``), the
            storage's options and the :class:`~huey.api.HueyOptions`.

    Raises:
        ConfigurationError: conflicting or invalid options.
        TypeError: an unknown option.
    """

    storage_class: ClassVar[Callable[..., Storage]] = PostgresStorage
    storage_options: ClassVar[frozenset[str] | None] = _POSTGRES_STORAGE_OPTIONS

    # fmt: off
    @overload
    def __init__(self: PostgresHuey[Literal[True]], name: str = "huey", *, results: Literal[True] = True, **options: Unpack[PostgresHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: PostgresHuey[Literal[False]], name: str = "huey", *, results: Literal[False], **options: Unpack[PostgresHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: PostgresHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[PostgresHueyOptions]) -> None: ...  # noqa: E501
    # fmt: on
    def __init__(
        self, name: str = "huey", *, results: bool = True, **options: Unpack[PostgresHueyOptions]
    ) -> None:
        self._setup(name, results, options)

    @contextlib.contextmanager
    def transaction(
        self, connection: psycopg.Connection[_Row]
    ) -> Generator[psycopg.Connection[_Row]]:
        """Enqueue this huey's tasks inside ``connection``'s transaction.

        Task calls (and ``enqueue``, ``schedule``) in the block are written through
        ``connection``, in a transaction the block opens (a savepoint inside one the
        application already has): the tasks exist only if it commits. In immediate mode
        tasks run at the call as usual and only the transaction is opened. See
        :meth:`PostgresStorage.transaction`.

        Args:
            connection: the application's psycopg connection, to the same database.

        Yields:
            ``connection``.
        """
        storage = self._storage
        if not isinstance(storage, PostgresStorage):  # a storage= given by the caller
            raise TypeError(f"transaction() needs a PostgresStorage, this huey has {storage!r}")
        with storage.transaction(connection) as joined:
            yield joined
