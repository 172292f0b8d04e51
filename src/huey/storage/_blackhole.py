"""A storage that discards everything written to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..constants import EmptyData, EmptyDataType

__all__ = ("BlackHoleStorage",)


class BlackHoleStorage:
    """Discards all data and always appears empty. For tests only."""

    blocking = False
    priority = True

    def __init__(self, name: str = "huey", **storage_kwargs: object) -> None:
        del storage_kwargs  # accepted for compatibility with Huey(**storage_kwargs)
        self.name = name

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        pass

    def dequeue(self) -> bytes | None:
        return None

    def queue_size(self) -> int:
        return 0

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        return []

    def flush_queue(self) -> None:
        pass

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        pass

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        return []

    def schedule_size(self) -> int:
        return 0

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        return []

    def flush_schedule(self) -> None:
        pass

    def put_data(self, key: str, value: bytes, /) -> None:
        pass

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        return EmptyData

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        return EmptyData

    def put_if_empty(self, key: str, value: bytes, /) -> bool:
        return True

    def has_data_for_key(self, key: str, /) -> bool:
        return False

    def result_store_size(self) -> int:
        return 0

    def result_items(self) -> Mapping[str, bytes]:
        return {}

    def flush_results(self) -> None:
        pass
