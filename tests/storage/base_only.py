"""Storages offering only the base :class:`huey.protocols.Storage` protocol, or that and
:class:`huey.protocols.SupportsLeases` (test doubles)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from huey.constants import EmptyDataType
from huey.protocols import DeadLetter, Lease
from huey.storage import MemoryStorage


class BaseOnlyStorage:
    """Delegates the base protocol to a :class:`MemoryStorage`; no capabilities."""

    def __init__(self, name: str = "huey", **storage_kwargs: object) -> None:
        del storage_kwargs
        self.name = name
        self._inner = MemoryStorage(name)

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        """Append ``data``."""
        self._inner.enqueue(data, priority)

    def dequeue(self) -> bytes | None:
        """Pop the next item."""
        return self._inner.dequeue()

    def queue_size(self) -> int:
        """Items waiting."""
        return self._inner.queue_size()

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items waiting, in order."""
        return self._inner.enqueued_items(limit)

    def flush_queue(self) -> None:
        """Empty the queue."""
        self._inner.flush_queue()

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        """Schedule ``data``."""
        self._inner.add_to_schedule(data, timestamp)

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        """Pop due items."""
        return self._inner.read_schedule(timestamp)

    def schedule_size(self) -> int:
        """Items scheduled."""
        return self._inner.schedule_size()

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items scheduled, earliest first."""
        return self._inner.scheduled_items(limit)

    def flush_schedule(self) -> None:
        """Empty the schedule."""
        self._inner.flush_schedule()

    def put_data(self, key: str, value: bytes, /) -> None:
        """Store a value."""
        self._inner.put_data(key, value)

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """Read a value."""
        return self._inner.peek_data(key)

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """Read and remove a value."""
        return self._inner.pop_data(key)

    def put_if_empty(self, key: str, value: bytes, /) -> bool:
        """Store a value if absent."""
        return self._inner.put_if_empty(key, value)

    def has_data_for_key(self, key: str, /) -> bool:
        """Whether a value exists."""
        return self._inner.has_data_for_key(key)

    def result_store_size(self) -> int:
        """Number of keys."""
        return self._inner.result_store_size()

    def result_items(self) -> Mapping[str, bytes]:
        """Every key and value."""
        return self._inner.result_items()

    def flush_results(self) -> None:
        """Remove every key."""
        self._inner.flush_results()


class LeasesOnlyStorage(BaseOnlyStorage):
    """The base protocol and leases (a third-party storage written before the optional
    dead-letter deletion and lease counts): no other capability."""

    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        """Lease the next item."""
        return self._inner.reserve(now, lease_seconds)

    def extend_lease(self, token: str, now: float, lease_seconds: float, /) -> bool:
        """Move a lease's deadline."""
        return self._inner.extend_lease(token, now, lease_seconds)

    def ack(self, token: str, /) -> bool:
        """Delete a leased item."""
        return self._inner.ack(token)

    def release(self, token: str, /) -> bool:
        """Give a leased item back."""
        return self._inner.release(token)

    def dead_letter(self, token: str, reason: str, now: float, /) -> bool:
        """Bury a leased item."""
        return self._inner.dead_letter(token, reason, now)

    def requeue_expired(self, now: float, max_deliveries: int, /) -> int:
        """Return expired leases."""
        return self._inner.requeue_expired(now, max_deliveries)

    def dead_letters(self, limit: int | None = None, /) -> Sequence[DeadLetter]:
        """The dead letters."""
        return self._inner.dead_letters(limit)

    def requeue_dead_letter(self, letter_id: str, /) -> bool:
        """Requeue a dead letter."""
        return self._inner.requeue_dead_letter(letter_id)

    def purge_dead_letters(self) -> int:
        """Delete every dead letter."""
        return self._inner.purge_dead_letters()
