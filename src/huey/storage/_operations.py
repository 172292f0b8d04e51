"""Storage operations of huey 3.5 over any :class:`~huey.protocols.Storage`.

Each function uses the storage's capability when it has one (atomic, one round trip)
and otherwise falls back on the base protocol, so callers need not tell storages apart.
The fallbacks are what a storage without the capability can offer; each says what it
gives up.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..constants import EmptyData, EmptyDataType
from ..exceptions import ConfigurationError
from ..protocols import (
    Storage,
    SupportsCompareAndDelete,
    SupportsCounters,
    SupportsDeleteData,
    SupportsExpiringKeys,
    SupportsFlushAll,
    SupportsLeases,
    SupportsPeekMany,
)

__all__ = (
    "delete_data",
    "delete_if_equal",
    "flush_all",
    "log_expired_dead_letter",
    "peek_many",
    "put_if_empty",
)

delivery_logger = logging.getLogger("huey.delivery")


def log_expired_dead_letter(queue: str, letter_id: str, reason: str) -> None:
    """Log one message that ``requeue_expired`` moved to the dead letters, with its reason.

    One line per message, at ERROR on the ``huey.delivery`` logger (where workers log
    the dead letters they make), naming the dead letter's id for
    ``huey.dead_letters()`` and ``huey.requeue_dead_letter()``.
    """
    delivery_logger.error(
        "message moved to the dead letters of %s (dead letter %s): %s", queue, letter_id, reason
    )


def peek_many(storage: Storage, keys: Sequence[str]) -> list[bytes | EmptyDataType]:
    """The values under ``keys``, in order; ``EmptyData`` for an empty key.

    With :class:`~huey.protocols.SupportsPeekMany` the values are one snapshot;
    otherwise each key is read on its own (one round trip each).
    """
    if isinstance(storage, SupportsPeekMany):
        return list(storage.peek_many(keys))
    return [storage.peek_data(key) for key in keys]


def delete_data(storage: Storage, key: str) -> bool:
    """Remove ``key``; whether it held a value.

    Falls back on ``pop_data`` (which an expiring storage may answer without removing
    a task result).
    """
    if isinstance(storage, SupportsDeleteData):
        return storage.delete_data(key)
    return storage.pop_data(key) is not EmptyData


def delete_if_equal(storage: Storage, key: str, value: bytes) -> bool:
    """Remove ``key`` if it holds ``value``; whether it was removed.

    Atomic with :class:`~huey.protocols.SupportsCompareAndDelete`. Otherwise the value
    is read, then popped: another client may change the key in between (the original
    huey's locks had no check at all).
    """
    if isinstance(storage, SupportsCompareAndDelete):
        return storage.delete_if_equal(key, value)
    if storage.peek_data(key) != value:
        return False
    return storage.pop_data(key) is not EmptyData


def flush_all(storage: Storage) -> None:
    """Empty the storage: with :class:`~huey.protocols.SupportsFlushAll`, in one call.

    Otherwise: the queue, the schedule, the key/value store, and the counters and dead
    letters of a storage that has them.
    """
    if isinstance(storage, SupportsFlushAll):
        storage.flush_all()
        return
    storage.flush_queue()
    storage.flush_schedule()
    storage.flush_results()
    if isinstance(storage, SupportsCounters):
        storage.flush_counters()
    if isinstance(storage, SupportsLeases):
        storage.purge_dead_letters()


def put_if_empty(storage: Storage, key: str, value: bytes, ttl: float | None = None) -> bool:
    """Store ``value`` only if ``key`` holds nothing; whether it was stored.

    Args:
        storage: the storage.
        key: the key.
        value: the value.
        ttl: seconds after which the key disappears (``None``: never).

    Raises:
        ConfigurationError: a ``ttl`` for a storage without
            :class:`~huey.protocols.SupportsExpiringKeys`.
    """
    if ttl is None:
        return storage.put_if_empty(key, value)
    if not isinstance(storage, SupportsExpiringKeys):
        raise ConfigurationError(
            f"put_if_empty(..., ttl=...) needs a storage with expiring keys "
            f"(SupportsExpiringKeys); {type(storage).__name__} lacks it"
        )
    return storage.put_if_empty_ttl(key, value, ttl)
