"""Typing contract of ``PostgresHuey``: its options and its transactional enqueue.

Constructing a ``PostgresHuey`` connects nothing, so the positive checks run without a
server. Lines that must be rejected carry both checkers' suppressions; the
``rejected_*`` functions are never called.
"""

from __future__ import annotations

from typing import Literal, assert_type

import psycopg
from psycopg.rows import DictRow

from huey import PostgresHuey
from huey.storage.postgres import PostgresStorage


def check_results_mode_and_options() -> None:
    """The results mode is part of the type; the storage's options are typed."""
    huey = PostgresHuey("a", dsn="postgresql://localhost:1/app", read_timeout=0.5)
    assert_type(huey, PostgresHuey[Literal[True]])
    quiet = PostgresHuey("b", results=False, host="localhost", port=1, table_prefix="jobs")
    assert_type(quiet, PostgresHuey[Literal[False]])
    storage = quiet.storage
    assert isinstance(storage, PostgresStorage)
    assert storage.table_prefix == "jobs"


def transaction_keeps_the_connection_type(conn: psycopg.Connection[DictRow]) -> None:
    """``transaction(conn)`` yields the application's connection with its row type.

    Type-checked only: it needs a server (see ``tests/postgres`` for the behaviour).
    """
    huey = PostgresHuey("c", dsn="postgresql://localhost:1/app")
    with huey.transaction(conn) as joined:
        assert_type(joined, psycopg.Connection[DictRow])


def rejected_options() -> None:
    """Misspelled and mistyped options (never called)."""
    PostgresHuey("a", dns="postgresql://x")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    PostgresHuey("b", read_timeout="1")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
    PostgresHuey("c", create_tables="no")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]


def rejected_transaction(huey: PostgresHuey[Literal[True]]) -> None:
    """``transaction`` takes a psycopg connection, not a DSN (never called)."""
    huey.transaction("postgresql://x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
