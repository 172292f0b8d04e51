"""Storage backends.

Every backend satisfies :class:`huey.protocols.Storage`; some also offer capability
protocols (leases, counters, expiring keys). Backends with third-party dependencies are
imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..constants import EmptyData as EmptyData
from ._blackhole import BlackHoleStorage as BlackHoleStorage
from ._file import FileStorage as FileStorage
from ._memory import MemoryStorage as MemoryStorage
from ._sqlite import SqliteStorage as SqliteStorage

if TYPE_CHECKING:
    from .postgres import PostgresStorage as PostgresStorage
    from .redis import PriorityRedisExpireStorage as PriorityRedisExpireStorage
    from .redis import PriorityRedisStorage as PriorityRedisStorage
    from .redis import RedisExpireStorage as RedisExpireStorage
    from .redis import RedisStorage as RedisStorage

# Loaded on first use so that ``import huey.storage`` does not need redis-py or psycopg.
_LAZY = frozenset(
    {"RedisStorage", "PriorityRedisStorage", "RedisExpireStorage", "PriorityRedisExpireStorage"}
)


def __getattr__(name: str) -> object:
    if name == "PostgresStorage":
        try:
            from . import postgres
        except ImportError as exc:
            raise ImportError(
                f"huey.storage.{name} needs psycopg: pip install 'huey[postgres]'"
            ) from exc
        globals()[name] = postgres.PostgresStorage
        return postgres.PostgresStorage
    if name not in _LAZY:
        raise AttributeError(f"module 'huey.storage' has no attribute {name!r}")
    try:
        from . import redis
    except ImportError as exc:
        raise ImportError(f"huey.storage.{name} needs redis-py: pip install 'huey[redis]'") from exc
    value: object = getattr(redis, name)
    globals()[name] = value
    return value


__all__ = ("BlackHoleStorage", "EmptyData", "FileStorage", "MemoryStorage", "SqliteStorage")
