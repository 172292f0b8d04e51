"""The storage-level half of the :class:`~huey.Huey` façade (layer 4): the key/value
store, what the queue and the schedule hold, dead letters and flushing.

A mixin of ``Huey``: these methods only need the storage in use and the codec, both
reached through :attr:`Huey.engine <huey.api.Huey.engine>`; the task-level API (tasks,
enqueueing, results, revocation, hooks) stays in ``_api``.
"""

from __future__ import annotations

from typing import Any

from ._engine import Engine, WriteThrough
from ._task import Task
from .constants import EmptyData, EmptyDataType
from .exceptions import ConfigurationError
from .protocols import (
    DeadLetter,
    LeaseCounts,
    Storage,
    SupportsDeadLetterDeletion,
    SupportsLeaseCounts,
)
from .storage._operations import delete_data, flush_all, put_if_empty

__all__ = ("StoreAPI",)


class StoreAPI:
    """Key/value store, introspection and dead letters; mixed into :class:`~huey.Huey`."""

    __slots__ = ()

    @property
    def engine(self) -> Engine:
        """The parts under the façade (``Huey`` provides it)."""
        raise NotImplementedError

    @property
    def storage(self) -> Storage:
        """The storage in use (the in-memory one while immediate mode uses memory)."""
        return self.engine.ports.storage

    # --- key/value API -----------------------------------------------------------------

    def put(self, key: str, value: object) -> None:
        """Store ``value`` under ``key`` in the result store."""
        self.storage.put_data(key, self.engine.codec.encode(value))

    def put_result(self, key: str, value: object) -> None:
        """Store a task result under ``key``."""
        WriteThrough(self.engine.ports).store_result(key, self.engine.codec.encode(value))

    def put_if_empty(self, key: str, value: object, ttl: float | None = None) -> bool:
        """Store ``value`` only if ``key`` holds nothing; whether it was stored.

        Args:
            key: the key.
            value: the value.
            ttl: seconds after which the key frees itself (``None``: never).

        Raises:
            ConfigurationError: a ``ttl`` on a storage without expiring keys.
        """
        return put_if_empty(self.storage, key, self.engine.codec.encode(value), ttl)

    def get_raw(self, key: str, peek: bool = False) -> bytes | EmptyDataType:
        """The stored bytes under ``key`` (destructive unless ``peek``), or ``EmptyData``."""
        return self.storage.peek_data(key) if peek else self.storage.pop_data(key)

    def get(self, key: str, peek: bool = False) -> object:
        """The value under ``key``, or ``None``; the read removes it unless ``peek``."""
        raw = self.get_raw(key, peek)
        return None if raw is EmptyData else self.engine.codec.decode(raw)

    def delete(self, key: str) -> bool:
        """Remove ``key`` (a result kept apart by the storage too); whether it held a value."""
        return delete_data(self.storage, key)

    # --- introspection -----------------------------------------------------------------

    def pending(self, limit: int | None = None) -> list[Task[Any]]:
        """Tasks waiting in the queue, in the order they will run."""
        return self.engine.codec.decode_tasks(self.storage.enqueued_items(limit))

    def pending_count(self) -> int:
        """How many tasks wait in the queue."""
        return self.storage.queue_size()

    def scheduled(self, limit: int | None = None) -> list[Task[Any]]:
        """Tasks waiting in the schedule, earliest first."""
        return self.engine.codec.decode_tasks(self.storage.scheduled_items(limit))

    def scheduled_count(self) -> int:
        """How many tasks wait in the schedule."""
        return self.storage.schedule_size()

    def all_results(self) -> dict[str, bytes]:
        """Every key of the result store with its raw bytes."""
        return dict(self.storage.result_items())

    def result_count(self) -> int:
        """How many keys the result store holds (results, revocations, locks...)."""
        return self.storage.result_store_size()

    def __len__(self) -> int:
        return self.pending_count()

    def __bool__(self) -> bool:
        return True

    # --- dead letters and flushing -------------------------------------------------------

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """Messages moved to the dead-letter area, oldest first.

        A message lands there when it cannot be decoded, names an unknown task, or was
        delivered ``max_deliveries`` times without being acknowledged (its lease expired
        on the last allowed delivery).

        Args:
            limit: return at most this many.

        Raises:
            ConfigurationError: the storage has no leases (no dead-letter area).
        """
        return list(self.engine.leases("dead_letters()").dead_letters(limit))

    def requeue_dead_letter(self, letter_id: str) -> bool:
        """Put a dead letter back in the queue with a fresh delivery count.

        Args:
            letter_id: the :attr:`~huey.protocols.DeadLetter.id`.

        Returns:
            Whether the dead letter existed.

        Raises:
            ConfigurationError: the storage has no leases (no dead-letter area).
        """
        return self.engine.leases("requeue_dead_letter()").requeue_dead_letter(letter_id)

    def purge_dead_letters(self) -> int:
        """Delete every dead letter; return how many there were.

        Raises:
            ConfigurationError: the storage has no leases (no dead-letter area).
        """
        return self.engine.leases("purge_dead_letters()").purge_dead_letters()

    def delete_dead_letter(self, letter_id: str) -> bool:
        """Delete one dead letter without running it.

        Args:
            letter_id: the :attr:`~huey.protocols.DeadLetter.id`.

        Returns:
            Whether the dead letter existed.

        Raises:
            ConfigurationError: the storage has no leases (no dead-letter area), or
                cannot delete a single dead letter
                (:class:`~huey.protocols.SupportsDeadLetterDeletion`).
        """
        storage = self.engine.leases("delete_dead_letter()")
        if not isinstance(storage, SupportsDeadLetterDeletion):
            raise ConfigurationError(
                "delete_dead_letter() needs a storage that deletes single dead letters "
                f"(SupportsDeadLetterDeletion); {type(storage).__name__} lacks it"
            )
        return storage.delete_dead_letter(letter_id)

    def lease_counts(self) -> LeaseCounts:
        """How many leased tasks are in flight, and how many leases expired, right now.

        An expired lease belongs to a worker that died or hung; the consumer's scheduler
        returns it to the queue (or the dead letters) at its next iteration.

        Raises:
            ConfigurationError: the storage has no leases, or cannot count them
                (:class:`~huey.protocols.SupportsLeaseCounts`).
        """
        storage = self.engine.leases("lease_counts()")
        if not isinstance(storage, SupportsLeaseCounts):
            raise ConfigurationError(
                "lease_counts() needs a storage that counts its leases "
                f"(SupportsLeaseCounts); {type(storage).__name__} lacks it"
            )
        return storage.lease_counts(self.engine.ports.clock.time())

    def flush(self) -> None:
        """Empty the storage: queue, schedule, result store, counters and dead letters."""
        flush_all(self.storage)
