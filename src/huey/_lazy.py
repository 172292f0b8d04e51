"""The Redis and PostgreSQL names that ``huey`` and ``huey.api`` load on first use (layer 5).

``import huey`` must work without redis-py and psycopg; the Redis and PostgreSQL classes
import them, so both public modules resolve them through :func:`load_redis_name` in a
module ``__getattr__``.
"""

from __future__ import annotations

__all__ = ("POSTGRES_NAMES", "REDIS_NAMES", "load_redis_name")

POSTGRES_NAMES = frozenset({"PostgresHuey", "PostgresHueyOptions"})
"""What ``huey._postgres_huey`` provides to ``huey`` and ``huey.api``."""

REDIS_NAMES = frozenset(
    {
        "RedisHuey",
        "PriorityRedisHuey",
        "RedisExpireHuey",
        "PriorityRedisExpireHuey",
        "RedisHueyOptions",
        "RedisExpireHueyOptions",
    }
)
"""What ``huey._redis_huey`` provides to ``huey`` and ``huey.api``."""


def load_redis_name(module: str, name: str) -> object:
    """The Redis name ``name`` asked of ``module`` (``huey`` or ``huey.api``).

    PostgreSQL names (:data:`POSTGRES_NAMES`) are resolved here too.

    Raises:
        AttributeError: ``name`` is not one of :data:`REDIS_NAMES` or
            :data:`POSTGRES_NAMES`.
        ImportError: redis-py (or psycopg) is not installed (the message says how to
            get it).
    """
    if name in POSTGRES_NAMES:
        return _load_postgres_name(module, name)
    if name not in REDIS_NAMES:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    try:
        # Deferred: these import redis-py.
        from ._redis_huey import (
            PriorityRedisExpireHuey,
            PriorityRedisHuey,
            RedisExpireHuey,
            RedisExpireHueyOptions,
            RedisHuey,
            RedisHueyOptions,
        )
    except ImportError as exc:
        raise ImportError(f"{module}.{name} needs redis-py: pip install 'huey[redis]'") from exc
    loaded: dict[str, object] = {
        "RedisHuey": RedisHuey,
        "PriorityRedisHuey": PriorityRedisHuey,
        "RedisExpireHuey": RedisExpireHuey,
        "PriorityRedisExpireHuey": PriorityRedisExpireHuey,
        "RedisHueyOptions": RedisHueyOptions,
        "RedisExpireHueyOptions": RedisExpireHueyOptions,
    }
    return loaded[name]


def _load_postgres_name(module: str, name: str) -> object:
    try:
        # Deferred: these import psycopg.
        from ._postgres_huey import PostgresHuey, PostgresHueyOptions
    except ImportError as exc:
        raise ImportError(f"{module}.{name} needs psycopg: pip install 'huey[postgres]'") from exc
    loaded: dict[str, object] = {
        "PostgresHuey": PostgresHuey,
        "PostgresHueyOptions": PostgresHueyOptions,
    }
    return loaded[name]
