"""The Redis names that ``huey`` and ``huey.api`` load on first use (layer 5, with them).

``import huey`` must work without redis-py; the Redis classes import it, so both public
modules resolve them through :func:`load_redis_name` in a module ``__getattr__``.
"""

from __future__ import annotations

__all__ = ("REDIS_NAMES", "load_redis_name")

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

    Raises:
        AttributeError: ``name`` is not one of :data:`REDIS_NAMES`.
        ImportError: redis-py is not installed (the message says how to get it).
    """
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
