"""In-memory storage: process-local, for tests and immediate mode."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Mapping, Sequence

from ..constants import EmptyData, EmptyDataType

__all__ = ("MemoryStorage",)


class MemoryStorage:
    """Keeps everything in this process's memory. Supports priorities.

    Args:
        name: the queue's name (informational).
    """

    blocking = False
    priority = True

    def __init__(self, name: str = "huey", **storage_kwargs: object) -> None:
        del storage_kwargs  # accepted for compatibility with Huey(**storage_kwargs)
        self.name = name
        self._lock = threading.RLock()
        self._order = itertools.count()
        self._queue: list[tuple[int, int, bytes]] = []
        self._schedule: list[tuple[float, int, bytes]] = []
        self._data: dict[str, bytes] = {}
        self._expiry: dict[str, float] = {}
        self._counters: dict[str, int] = {}

    # queue

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        with self._lock:
            heapq.heappush(self._queue, (-(priority or 0), next(self._order), data))

    def dequeue(self) -> bytes | None:
        with self._lock:
            if not self._queue:
                return None
            return heapq.heappop(self._queue)[2]

    def queue_size(self) -> int:
        return len(self._queue)

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        with self._lock:
            return [item[2] for item in sorted(self._queue)[:limit]]

    def flush_queue(self) -> None:
        with self._lock:
            self._queue.clear()

    # schedule

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        with self._lock:
            heapq.heappush(self._schedule, (timestamp, next(self._order), data))

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        with self._lock:
            due: list[bytes] = []
            while self._schedule and self._schedule[0][0] <= timestamp:
                due.append(heapq.heappop(self._schedule)[2])
            return due

    def schedule_size(self) -> int:
        return len(self._schedule)

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        with self._lock:
            return [item[2] for item in sorted(self._schedule)[:limit]]

    def flush_schedule(self) -> None:
        with self._lock:
            self._schedule.clear()

    # key/value store

    def _purge_expired(self, key: str) -> None:
        deadline = self._expiry.get(key)
        if deadline is not None and deadline <= time.monotonic():
            del self._expiry[key]
            self._data.pop(key, None)

    def put_data(self, key: str, value: bytes, /) -> None:
        with self._lock:
            self._expiry.pop(key, None)
            self._data[key] = value

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        with self._lock:
            self._purge_expired(key)
            return self._data.get(key, EmptyData)

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        with self._lock:
            self._purge_expired(key)
            self._expiry.pop(key, None)
            return self._data.pop(key, EmptyData)

    def put_if_empty(self, key: str, value: bytes, /) -> bool:
        with self._lock:
            self._purge_expired(key)
            if key in self._data:
                return False
            self._data[key] = value
            return True

    def put_if_empty_ttl(self, key: str, value: bytes, ttl: float, /) -> bool:
        with self._lock:
            if not self.put_if_empty(key, value):
                return False
            self._expiry[key] = time.monotonic() + ttl
            return True

    def has_data_for_key(self, key: str, /) -> bool:
        with self._lock:
            self._purge_expired(key)
            return key in self._data

    def result_store_size(self) -> int:
        return len(self.result_items())

    def result_items(self) -> Mapping[str, bytes]:
        with self._lock:
            for key in list(self._expiry):
                self._purge_expired(key)
            return dict(self._data)

    def flush_results(self) -> None:
        with self._lock:
            self._data.clear()
            self._expiry.clear()

    # counters

    def incr(self, key: str, amount: int = 1, /) -> int:
        with self._lock:
            value = self._counters.get(key, 0) + amount
            self._counters[key] = value
            return value

    def delete_counter(self, key: str, /) -> None:
        with self._lock:
            self._counters.pop(key, None)

    def flush_counters(self) -> None:
        with self._lock:
            self._counters.clear()
