"""A storage that discards everything written to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..constants import EmptyData, EmptyDataType

__all__ = ("BlackHoleStorage",)


class BlackHoleStorage:
    """Discards all data and always appears empty. For tests only.

    Besides the base protocol it has the rest of huey 3.5's storage API as capabilities
    (counters, expiring keys, compare-and-delete, ``peek_many``, ``delete_data``,
    ``flush_all``, ``close``): ``put_if_empty`` always succeeds, ``incr`` returns
    ``amount``, reads find nothing and deletes delete nothing.
    """

    blocking = False
    priority = True

    def __init__(self, name: str = "huey", **storage_kwargs: object) -> None:
        del storage_kwargs  # accepted for compatibility with Huey(**storage_kwargs)
        self.name = name

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        """Discard ``data``."""

    def dequeue(self) -> bytes | None:
        """Nothing: ``None``."""
        return None

    def queue_size(self) -> int:
        """Always 0."""
        return 0

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Always empty."""
        return []

    def flush_queue(self) -> None:
        """Nothing to remove."""

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        """Discard ``data``."""

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        """Always empty."""
        return []

    def schedule_size(self) -> int:
        """Always 0."""
        return 0

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Always empty."""
        return []

    def flush_schedule(self) -> None:
        """Nothing to remove."""

    def put_data(self, key: str, value: bytes, /) -> None:
        """Discard the value."""

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """Always ``EmptyData``."""
        return EmptyData

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """Always ``EmptyData``."""
        return EmptyData

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None, /) -> bool:
        """Discard the value; report it stored (``True``), as huey 3.5 does."""
        del ttl
        return True

    def put_if_empty_ttl(self, key: str, value: bytes, ttl: float, /) -> bool:
        """Discard the value; report it stored (``True``)."""
        return True

    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        """Nothing to delete: ``False``."""
        return False

    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        """``EmptyData`` for every key."""
        return [EmptyData for _ in keys]

    def delete_data(self, key: str, /) -> bool:
        """Nothing to delete: ``False``."""
        return False

    def has_data_for_key(self, key: str, /) -> bool:
        """Always ``False``."""
        return False

    def result_store_size(self) -> int:
        """Always 0."""
        return 0

    def result_items(self) -> Mapping[str, bytes]:
        """Always empty."""
        return {}

    def flush_results(self) -> None:
        """Nothing to remove."""

    def incr(self, key: str, amount: int = 1, /) -> int:
        """Count nothing: return ``amount``, as huey 3.5 does."""
        return amount

    def delete_counter(self, key: str, /) -> None:
        """Nothing to remove."""

    def flush_counters(self) -> None:
        """Nothing to remove."""

    def flush_all(self) -> None:
        """Nothing to remove."""

    def close(self) -> None:
        """Nothing to release."""
