"""The PostgreSQL storage's schema, its version and its notification channel names.

Kept apart from :mod:`huey.storage.postgres` so that the SQL can be printed (for teams
that run their own migrations) without psycopg, and checked by tests on its own.

Every table name starts with the storage's ``table_prefix``; several queues (huey names)
share the tables, each row carrying its queue's name. The schema version lives in the
one-row table ``<prefix>_schema``: a storage refuses tables newer than it knows and
upgrades older ones: version 2 added ``<prefix>_recent``, the keys of recent enqueues
and settles (see :mod:`huey.storage.postgres`); running :func:`schema_sql` again
upgrades version 1 tables.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

__all__ = (
    "MAX_IDENTIFIER_BYTES",
    "RECENT_SECONDS",
    "SCHEMA_VERSION",
    "TABLES",
    "channel_name",
    "check_table_prefix",
    "schema_sql",
)

SCHEMA_VERSION: Final = 2
"""The version of the tables this huey creates and uses."""

MAX_IDENTIFIER_BYTES: Final = 63
"""PostgreSQL's longest identifier (``NAMEDATALEN - 1``); channel names are identifiers."""

RECENT_SECONDS: Final = 30.0
"""How long ``<prefix>_recent`` remembers an enqueue or a settle: far longer than the
resend of a statement whose reply a lost connection cut off takes."""

TABLES: Final = (
    "task",
    "schedule",
    "kv",
    "counter",
    "dead_letter",
    "semaphore",
    "recent",
    "schema",
)
"""The table suffixes: ``<prefix>_task`` and so on."""

_PREFIX: Final = re.compile(r"^[a-z_][a-z0-9_]*$")
# The longest suffix is "_dead_letter_queue" (an index name): keep every name <= 63 bytes.
_MAX_PREFIX: Final = MAX_IDENTIFIER_BYTES - len("_dead_letter_queue")


def check_table_prefix(prefix: object) -> str:
    """``prefix`` if it can start every table and index name unquoted.

    Raises:
        ValueError: not lower-case letters, digits and underscores (not starting with a
            digit), or too long for PostgreSQL's 63-byte identifiers.
    """
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ValueError(
            "table_prefix must be lower-case letters, digits and underscores, not starting "
            f"with a digit, got {prefix!r}"
        )
    if len(prefix) > _MAX_PREFIX:
        raise ValueError(f"table_prefix must be at most {_MAX_PREFIX} characters, got {prefix!r}")
    return prefix


def channel_name(table_prefix: str, queue: str, kind: str) -> str:
    """The ``LISTEN``/``NOTIFY`` channel of ``queue`` for ``kind`` (``"q"`` or ``"r"``).

    Channel names are identifiers, limited to 63 bytes. A longer name is cut and ends
    with a digest of the whole name, so that it stays the same in every process and
    two long queue names almost surely get different channels (a shared channel would
    only cost spurious wake-ups).
    """
    name = f"{table_prefix}:{kind}:{queue}"
    raw = name.encode()
    if len(raw) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:16]
    head = raw[: MAX_IDENTIFIER_BYTES - len(digest) - 1].decode(errors="ignore")
    return f"{head}~{digest}"


def schema_sql(table_prefix: str = "huey") -> str:
    """The SQL creating every table of the given prefix (safe to run again).

    Run it (for example with ``psql -f``) when the storage may not create tables
    (``create_tables=False``); ``python -m huey.storage.postgres --schema`` prints it.

    Raises:
        ValueError: an invalid ``table_prefix`` (see :func:`check_table_prefix`).
    """
    p = check_table_prefix(table_prefix)
    return f"""\
CREATE TABLE IF NOT EXISTS {p}_task (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue TEXT NOT NULL,
    data BYTEA NOT NULL,
    priority BIGINT NOT NULL DEFAULT 0,
    deliveries INTEGER NOT NULL DEFAULT 0,
    token TEXT,
    deadline DOUBLE PRECISION,
    watch TEXT[],
    uid TEXT);
CREATE INDEX IF NOT EXISTS {p}_task_ready
    ON {p}_task (queue, priority DESC, id) WHERE token IS NULL;
CREATE INDEX IF NOT EXISTS {p}_task_leased
    ON {p}_task (queue, deadline) WHERE token IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS {p}_task_token ON {p}_task (token);
CREATE UNIQUE INDEX IF NOT EXISTS {p}_task_uid ON {p}_task (uid);
CREATE TABLE IF NOT EXISTS {p}_schedule (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue TEXT NOT NULL,
    data BYTEA NOT NULL,
    timestamp DOUBLE PRECISION NOT NULL,
    priority BIGINT);
CREATE INDEX IF NOT EXISTS {p}_schedule_due ON {p}_schedule (queue, timestamp, id);
CREATE TABLE IF NOT EXISTS {p}_kv (
    queue TEXT NOT NULL,
    key TEXT NOT NULL,
    value BYTEA NOT NULL,
    expires DOUBLE PRECISION,
    PRIMARY KEY (queue, key));
CREATE TABLE IF NOT EXISTS {p}_counter (
    queue TEXT NOT NULL,
    key TEXT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (queue, key));
CREATE TABLE IF NOT EXISTS {p}_dead_letter (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    queue TEXT NOT NULL,
    data BYTEA NOT NULL,
    priority BIGINT NOT NULL,
    reason TEXT NOT NULL,
    deliveries INTEGER NOT NULL,
    timestamp DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS {p}_dead_letter_queue ON {p}_dead_letter (queue, id);
CREATE TABLE IF NOT EXISTS {p}_semaphore (
    queue TEXT NOT NULL,
    name TEXT NOT NULL,
    holder TEXT NOT NULL,
    deadline DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (queue, name, holder));
CREATE TABLE IF NOT EXISTS {p}_recent (
    key TEXT PRIMARY KEY,
    expires DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS {p}_recent_expires ON {p}_recent (expires);
CREATE TABLE IF NOT EXISTS {p}_schema (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    version INTEGER NOT NULL);
INSERT INTO {p}_schema (version) VALUES ({SCHEMA_VERSION}) ON CONFLICT (only_row)
    DO UPDATE SET version = excluded.version WHERE {p}_schema.version < excluded.version;
"""
