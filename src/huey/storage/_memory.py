"""In-memory storage: process-local, for tests and immediate mode."""

from __future__ import annotations

import heapq
import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from .. import _core
from ..constants import EmptyData, EmptyDataType
from ..protocols import Clock, DeadLetter, Lease, LeaseCounts
from ._operations import log_expired_dead_letter

__all__ = ("MemoryStorage",)


def _check_priority(priority: object) -> int:
    """``priority``, checked at run time: untyped callers exist."""
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise ValueError(f"priority must be an int, got {priority!r}")
    return priority


def _check_ttl(ttl: object) -> float:
    """``ttl`` as a positive, finite number of seconds."""
    if not isinstance(ttl, int | float) or isinstance(ttl, bool) or not ttl > 0 or math.isinf(ttl):
        raise ValueError(f"ttl must be a positive number of seconds, got {ttl!r}")
    return float(ttl)


class _MemoryLease:
    __slots__ = ("data", "deadline", "deliveries", "order", "priority")

    def __init__(
        self, priority: int, order: int, data: bytes, deliveries: int, deadline: float
    ) -> None:
        self.priority = priority
        self.order = order
        self.data = data
        self.deliveries = deliveries
        self.deadline = deadline


class MemoryStorage:
    """Keeps everything in this process's memory. Supports priorities.

    Satisfies :class:`~huey.protocols.Storage` and every capability that makes sense in
    one process: leases (with deleting one dead letter and counting leases), counters,
    expiring keys, compare-and-delete, ``peek_many``, ``delete_data``, ``flush_all``,
    semaphores, schedule transfer, settle and ``close`` (which does nothing).

    Args:
        name: the queue's name (informational).
        clock: the clock whose ``monotonic()`` times key TTLs and semaphore holders
            (default: :func:`time.monotonic`); tests pass a
            :class:`~huey.testing.MockClock`.
        storage_kwargs: accepted and ignored, so ``Huey(**storage_kwargs)`` works.
    """

    blocking = False
    priority = True

    def __init__(
        self, name: str = "huey", *, clock: Clock | None = None, **storage_kwargs: object
    ) -> None:
        del storage_kwargs  # accepted for compatibility with Huey(**storage_kwargs)
        self.name = name
        self._monotonic: Callable[[], float] = time.monotonic if clock is None else clock.monotonic
        self._lock = threading.RLock()
        self._order = itertools.count()
        self._queue: list[tuple[int, int, bytes]] = []
        # (due time, order, data, priority or None when scheduled without one)
        self._schedule: list[tuple[float, int, bytes, int | None]] = []
        self._data: dict[str, bytes] = {}
        self._expiry: dict[str, float] = {}
        self._counters: dict[str, int] = {}
        # Leased delivery: a leased item leaves the heap but keeps its (priority, order)
        # key, so a released or expired item goes back to its old place.
        self._deliveries: dict[int, int] = {}
        self._leases: dict[str, _MemoryLease] = {}
        self._dead: dict[str, tuple[DeadLetter, int]] = {}
        self._dead_ids = itertools.count(1)
        # semaphore name -> holder -> monotonic deadline
        self._semaphores: dict[str, dict[str, float]] = {}

    def close(self) -> None:
        """Nothing to release (satisfies :class:`~huey.protocols.SupportsClose`)."""

    # queue

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        """Append ``data``; higher ``priority`` is dequeued first."""
        with self._lock:
            heapq.heappush(self._queue, (-(priority or 0), next(self._order), data))

    def dequeue(self) -> bytes | None:
        """Remove and return the next item, or ``None``."""
        with self._lock:
            if not self._queue:
                return None
            _, order, data = heapq.heappop(self._queue)
            self._deliveries.pop(order, None)
            return data

    def queue_size(self) -> int:
        """Items waiting in the queue (leased items excluded)."""
        return len(self._queue)

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items in the queue, in dequeue order, at most ``limit``."""
        with self._lock:
            return [item[2] for item in sorted(self._queue)[:limit]]

    def flush_queue(self) -> None:
        """Remove every item of the queue, leased ones included."""
        with self._lock:
            self._queue.clear()
            self._deliveries.clear()
            self._leases.clear()

    # schedule

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        """Store ``data`` to become due at ``timestamp`` (UTC epoch seconds)."""
        with self._lock:
            heapq.heappush(self._schedule, (timestamp, next(self._order), data, None))

    def add_to_schedule_with_priority(
        self, data: bytes, timestamp: float, priority: int, /
    ) -> None:
        """Store ``data`` to become due at ``timestamp`` and to be queued with ``priority``.

        Raises:
            ValueError: ``priority`` is not an int.
        """
        value = _check_priority(priority)
        with self._lock:
            heapq.heappush(self._schedule, (timestamp, next(self._order), data, value))

    def move_due(
        self, timestamp: float, priority_of: Callable[[bytes], int | None], /
    ) -> Sequence[bytes]:
        """Move the items due at ``timestamp`` to the queue under the storage's lock.

        Satisfies :class:`~huey.protocols.SupportsScheduleTransfer`. Items keep the
        priority stored with them; ``priority_of`` gives it for items scheduled without
        one. Every priority is worked out before anything moves, so an exception from
        ``priority_of`` leaves the schedule and the queue unchanged.
        """
        with self._lock:
            due: list[tuple[float, int, bytes, int | None]] = []
            while self._schedule and self._schedule[0][0] <= timestamp:
                due.append(heapq.heappop(self._schedule))
            try:
                moves = [
                    (data, priority_of(data) if priority is None else priority)
                    for _, _, data, priority in due
                ]
            except BaseException:
                for entry in due:
                    heapq.heappush(self._schedule, entry)
                raise
            for data, priority in moves:
                heapq.heappush(self._queue, (-(priority or 0), next(self._order), data))
            return [data for data, _ in moves]

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        """Remove and return every item due at or before ``timestamp``."""
        with self._lock:
            due: list[bytes] = []
            while self._schedule and self._schedule[0][0] <= timestamp:
                due.append(heapq.heappop(self._schedule)[2])
            return due

    def schedule_size(self) -> int:
        """Items in the schedule."""
        return len(self._schedule)

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items in the schedule, earliest first, at most ``limit``."""
        with self._lock:
            return [item[2] for item in sorted(self._schedule)[:limit]]

    def flush_schedule(self) -> None:
        """Remove every item of the schedule."""
        with self._lock:
            self._schedule.clear()

    # key/value store

    def _purge_expired(self, key: str) -> None:
        deadline = self._expiry.get(key)
        if deadline is not None and deadline <= self._monotonic():
            del self._expiry[key]
            self._data.pop(key, None)

    def put_data(self, key: str, value: bytes, /) -> None:
        """Store ``value`` under ``key``, replacing any value (and its TTL)."""
        with self._lock:
            self._expiry.pop(key, None)
            self._data[key] = value

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """The value under ``key``, or ``EmptyData``."""
        with self._lock:
            self._purge_expired(key)
            return self._data.get(key, EmptyData)

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """Remove and return the value under ``key``, or ``EmptyData``."""
        with self._lock:
            self._purge_expired(key)
            self._expiry.pop(key, None)
            return self._data.pop(key, EmptyData)

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None, /) -> bool:
        """Store ``value`` only if ``key`` holds nothing; whether it was stored.

        With ``ttl`` (huey 3.5's form) it is :meth:`put_if_empty_ttl`.
        """
        if ttl is not None:
            return self.put_if_empty_ttl(key, value, ttl)
        return self._put_if_empty(key, value, None)

    def _put_if_empty(self, key: str, value: bytes, ttl: float | None) -> bool:
        deadline = None if ttl is None else self._monotonic() + _check_ttl(ttl)
        with self._lock:
            self._purge_expired(key)
            if key in self._data:
                return False
            self._data[key] = value
            if deadline is not None:
                self._expiry[key] = deadline
            return True

    def put_if_empty_ttl(self, key: str, value: bytes, ttl: float, /) -> bool:
        """Like ``put_if_empty``; the key disappears after ``ttl`` seconds.

        Raises:
            ValueError: ``ttl`` is not a positive number.
        """
        return self._put_if_empty(key, value, ttl)

    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        """Delete ``key`` if it holds ``value``; whether it did (under the storage's lock)."""
        with self._lock:
            self._purge_expired(key)
            if self._data.get(key) != value:
                return False
            del self._data[key]
            self._expiry.pop(key, None)
            return True

    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        """The values under ``keys`` (``EmptyData`` for an empty one), read together."""
        with self._lock:
            return [self.peek_data(key) for key in keys]

    def delete_data(self, key: str, /) -> bool:
        """Remove ``key``; whether it held a value."""
        return self.pop_data(key) is not EmptyData

    def has_data_for_key(self, key: str, /) -> bool:
        """Whether ``key`` holds a value."""
        with self._lock:
            self._purge_expired(key)
            return key in self._data

    def result_store_size(self) -> int:
        """Keys in the key/value store."""
        return len(self.result_items())

    def result_items(self) -> Mapping[str, bytes]:
        """Every key and value of the key/value store."""
        with self._lock:
            for key in list(self._expiry):
                self._purge_expired(key)
            return dict(self._data)

    def flush_results(self) -> None:
        """Remove every key of the key/value store."""
        with self._lock:
            self._data.clear()
            self._expiry.clear()

    # counters

    def incr(self, key: str, amount: int = 1, /) -> int:
        """Add ``amount`` to the counter ``key`` and return the new value."""
        with self._lock:
            value = self._counters.get(key, 0) + amount
            self._counters[key] = value
            return value

    def delete_counter(self, key: str, /) -> None:
        """Remove the counter ``key``."""
        with self._lock:
            self._counters.pop(key, None)

    def flush_counters(self) -> None:
        """Remove every counter."""
        with self._lock:
            self._counters.clear()

    # everything

    def flush_all(self) -> None:
        """Remove everything: queue and leases, schedule, values, counters, dead letters."""
        with self._lock:
            self.flush_queue()
            self.flush_schedule()
            self.flush_results()
            self.flush_counters()
            self._dead.clear()
            self._semaphores.clear()

    # semaphores (SupportsSemaphores)

    def _live_holders(self, name: str) -> dict[str, float]:
        holders = self._semaphores.get(name, {})
        now = self._monotonic()
        for holder in [h for h, deadline in holders.items() if deadline <= now]:
            del holders[holder]
        return holders

    def semaphore_acquire(self, name: str, holder: str, limit: int, timeout: float, /) -> bool:
        """Take a slot of ``name`` for ``holder`` unless ``limit`` others hold one."""
        deadline = self._monotonic() + _check_ttl(timeout)
        with self._lock:
            holders = self._live_holders(name)
            if holder not in holders and len(holders) >= limit:
                return False
            holders[holder] = deadline
            self._semaphores[name] = holders
            return True

    def semaphore_renew(self, name: str, holder: str, timeout: float, /) -> bool:
        """Restart ``holder``'s timeout; ``False`` if its slot is gone."""
        deadline = self._monotonic() + _check_ttl(timeout)
        with self._lock:
            holders = self._live_holders(name)
            if holder not in holders:
                return False
            holders[holder] = deadline
            return True

    def semaphore_release(self, name: str, holder: str, /) -> bool:
        """Free ``holder``'s slot; whether it held one."""
        with self._lock:
            holders = self._live_holders(name)
            held = holders.pop(holder, None) is not None
            if not holders:
                self._semaphores.pop(name, None)
            return held

    def semaphore_holders(self, name: str, /) -> Sequence[str]:
        """The current holders of ``name``, earliest to expire first."""
        with self._lock:
            holders = self._live_holders(name)
            return sorted(holders, key=lambda holder: holders[holder])

    def semaphore_clear(self, name: str, /) -> int:
        """Free every slot of ``name``; return how many were held."""
        with self._lock:
            count = len(self._live_holders(name))
            self._semaphores.pop(name, None)
            return count

    # leases (SupportsLeases)

    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        """Lease the next item (same order as ``dequeue``) until ``now + lease_seconds``."""
        with self._lock:
            if not self._queue:
                return None
            neg_priority, order, data = heapq.heappop(self._queue)
            deliveries = self._deliveries.pop(order, 0) + 1
            token = os.urandom(16).hex()
            deadline = now + lease_seconds
            self._leases[token] = _MemoryLease(neg_priority, order, data, deliveries, deadline)
            return Lease(token=token, data=data, deliveries=deliveries, deadline=deadline)

    def extend_lease(self, token: str, now: float, lease_seconds: float, /) -> bool:
        """Move the lease's deadline to ``now + lease_seconds``; ``False`` if stale."""
        with self._lock:
            lease = self._leases.get(token)
            if lease is None:
                return False
            lease.deadline = now + lease_seconds
            return True

    def ack(self, token: str, /) -> bool:
        """Delete the leased item; ``False`` if the token is stale."""
        with self._lock:
            return self._leases.pop(token, None) is not None

    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        """Acknowledge, delete ``discard`` and store ``result`` at once; ``False`` if stale.

        Satisfies :class:`~huey.protocols.SupportsSettle`: a late run whose lease went
        to another worker writes nothing.
        """
        with self._lock:
            if self._leases.pop(token, None) is None:
                return False
            for key in discard:
                self.pop_data(key)
            if result is not None:
                self.put_data(*result)
            return True

    def _return_to_queue(self, lease: _MemoryLease, deliveries: int) -> None:
        if deliveries:
            self._deliveries[lease.order] = deliveries
        heapq.heappush(self._queue, (lease.priority, lease.order, lease.data))

    def release(self, token: str, /) -> bool:
        """Return the leased item to its place in the queue; this delivery is not counted."""
        with self._lock:
            lease = self._leases.pop(token, None)
            if lease is None:
                return False
            self._return_to_queue(lease, lease.deliveries - 1)
            return True

    def _bury(self, lease: _MemoryLease, reason: str, now: float) -> str:
        letter_id = str(next(self._dead_ids))
        letter = DeadLetter(
            id=letter_id,
            data=lease.data,
            reason=reason,
            deliveries=lease.deliveries,
            timestamp=now,
        )
        self._dead[letter_id] = (letter, -lease.priority)
        return letter_id

    def dead_letter(self, token: str, reason: str, now: float, /) -> bool:
        """Move the leased item to the dead letters; ``False`` if the token is stale."""
        with self._lock:
            lease = self._leases.pop(token, None)
            if lease is None:
                return False
            self._bury(lease, reason, now)
            return True

    def requeue_expired(self, now: float, max_deliveries: int, /) -> int:
        """Return leases expired at ``now`` to the queue, or dead-letter them.

        An item that has reached ``max_deliveries`` goes to the dead letters (each one
        logged with its reason). Returns how many items moved.
        """
        with self._lock:
            expired = [token for token, lease in self._leases.items() if lease.deadline < now]
            for token in expired:
                lease = self._leases.pop(token)
                if _core.delivery_allowed(lease.deliveries + 1, max_deliveries):
                    self._return_to_queue(lease, lease.deliveries)
                else:
                    reason = _core.too_many_deliveries_reason(lease.deliveries, max_deliveries)
                    log_expired_dead_letter(self.name, self._bury(lease, reason, now), reason)
            return len(expired)

    def dead_letters(self, limit: int | None = None, /) -> Sequence[DeadLetter]:
        """The dead letters, oldest first, at most ``limit`` of them."""
        with self._lock:
            return [letter for letter, _ in self._dead.values()][:limit]

    def requeue_dead_letter(self, letter_id: str, /) -> bool:
        """Put a dead letter back at the end of the queue with a fresh delivery count."""
        with self._lock:
            entry = self._dead.pop(letter_id, None)
            if entry is None:
                return False
            letter, priority = entry
            self.enqueue(letter.data, priority)
            return True

    def purge_dead_letters(self) -> int:
        """Delete every dead letter; return how many there were."""
        with self._lock:
            count = len(self._dead)
            self._dead.clear()
            return count

    def delete_dead_letter(self, letter_id: str, /) -> bool:
        """Delete one dead letter; whether it existed (``SupportsDeadLetterDeletion``)."""
        with self._lock:
            return self._dead.pop(letter_id, None) is not None

    def lease_counts(self, now: float, /) -> LeaseCounts:
        """The leases in flight and expired at ``now`` (``SupportsLeaseCounts``)."""
        with self._lock:
            expired = sum(1 for lease in self._leases.values() if lease.deadline < now)
            return LeaseCounts(in_flight=len(self._leases) - expired, expired=expired)
