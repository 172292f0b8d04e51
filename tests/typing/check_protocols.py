"""Typing contract: ``huey.protocols`` are satisfied structurally, without base classes.

Expected-error lines carry ``# type: ignore[code]  # pyright: ignore[rule]`` (see
check_tasks.py); ``rejected_*`` functions are never called.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Literal, assert_type

from huey import Huey
from huey._delivery import SupportsSettleInFlight
from huey.constants import EmptyData, EmptyDataType
from huey.protocols import (
    Clock,
    Consumer,
    Lease,
    LeaseCounts,
    Serializer,
    Storage,
    SupportsClose,
    SupportsCounters,
    SupportsDeadLetterDeletion,
    SupportsExpiringKeys,
    SupportsLeaseCounts,
    SupportsLeases,
)
from huey.storage import MemoryStorage
from huey.storage.redis import RedisSettleInFlight, RedisStorage


class DictStorage:
    """A user-written storage: no huey base class, parameter names of its own choosing."""

    def __init__(self) -> None:
        self.queue: list[bytes] = []
        self.schedule: list[tuple[float, bytes]] = []
        self.data: dict[str, bytes] = {}

    def enqueue(self, item: bytes, priority: int | None = None, /) -> None:
        self.queue.append(item)

    def dequeue(self) -> bytes | None:
        return self.queue.pop(0) if self.queue else None

    def queue_size(self) -> int:
        return len(self.queue)

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        return self.queue[:limit]

    def flush_queue(self) -> None:
        self.queue.clear()

    def add_to_schedule(self, item: bytes, when: float, /) -> None:
        self.schedule.append((when, item))

    def read_schedule(self, when: float, /) -> Sequence[bytes]:
        due = [item for at, item in self.schedule if at <= when]
        self.schedule = [(at, item) for at, item in self.schedule if at > when]
        return due

    def schedule_size(self) -> int:
        return len(self.schedule)

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        return [item for _, item in sorted(self.schedule)][:limit]

    def flush_schedule(self) -> None:
        self.schedule.clear()

    def put_data(self, key: str, value: bytes, /) -> None:
        self.data[key] = value

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        return self.data.get(key, EmptyData)

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        return self.data.pop(key, EmptyData)

    def put_if_empty(self, key: str, value: bytes, /) -> bool:
        if key in self.data:
            return False
        self.data[key] = value
        return True

    def has_data_for_key(self, key: str, /) -> bool:
        return key in self.data

    def result_store_size(self) -> int:
        return len(self.data)

    def result_items(self) -> Mapping[str, bytes]:
        return dict(self.data)

    def flush_results(self) -> None:
        self.data.clear()


class CountingStorage(DictStorage):
    """A storage that also has the counters capability."""

    def __init__(self) -> None:
        super().__init__()
        self.counters: dict[str, int] = {}

    def incr(self, key: str, by: int = 1, /) -> int:
        self.counters[key] = self.counters.get(key, 0) + by
        return self.counters[key]

    def delete_counter(self, key: str, /) -> None:
        self.counters.pop(key, None)

    def flush_counters(self) -> None:
        self.counters.clear()


class NoFlushStorage:
    """Lacks most of the protocol: only ``enqueue`` and ``dequeue``."""

    def enqueue(self, item: bytes, priority: int | None = None, /) -> None:
        del item, priority

    def dequeue(self) -> bytes | None:
        return None


class JsonSerializer:
    """A user-written serializer."""

    def serialize(self, data: object, /) -> bytes:
        return json.dumps(data).encode()

    def deserialize(self, data: bytes, /) -> object:
        return json.loads(data)


class StrSerializer:
    """``serialize`` returns ``str``: not a :class:`Serializer`."""

    def serialize(self, data: object, /) -> str:
        return repr(data)

    def deserialize(self, data: bytes, /) -> object:
        return data


class NullConsumer:
    """A user-written consumer."""

    def run(self) -> None:
        self.start()

    def start(self) -> None:
        return None

    def stop(self, graceful: bool = False) -> None:
        del graceful


class FrozenClock:
    """A clock for tests."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float, /) -> None:
        self.now += seconds


def _hits(storage: Storage) -> int | None:
    """Use the counters capability when the storage has it."""
    if isinstance(storage, SupportsCounters):
        # Narrowed to an (unspellable) intersection of Storage and SupportsCounters.
        return assert_type(storage.incr("hits"), int)
    return None


def check_storage() -> None:
    """A user storage is a ``Storage``; capabilities narrow with ``isinstance``."""
    storage: Storage = DictStorage()
    huey = Huey("typing-protocols", storage=DictStorage(), immediate=True)
    assert_type(huey, Huey[Literal[True]])
    assert isinstance(storage, Storage)
    assert not isinstance(storage, SupportsCounters)
    assert _hits(CountingStorage()) == 1
    assert _hits(storage) is None
    assert not isinstance(storage, SupportsLeases | SupportsExpiringKeys | SupportsClose)
    assert_type(huey.storage, Storage)


def check_serializer_consumer_clock() -> None:
    """``Serializer``, ``Consumer`` and ``Clock`` are satisfied structurally."""
    serializer: Serializer = JsonSerializer()
    consumer: Consumer = NullConsumer()
    clock: Clock = FrozenClock()
    huey = Huey(
        "typing-protocols-json",
        serializer=JsonSerializer(),
        clock=FrozenClock(),
        storage=MemoryStorage(),
    )
    assert_type(serializer.deserialize(serializer.serialize([1])), object)
    consumer.stop(graceful=True)
    assert clock.time() == 1_000_000.0
    assert huey.serializer.deserialize(huey.serializer.serialize({"a": 1})) == {"a": 1}


def check_lease_additions() -> None:
    """Deleting one dead letter and counting leases: optional, typed capabilities."""
    deleter: SupportsDeadLetterDeletion = MemoryStorage()
    counter: SupportsLeaseCounts = MemoryStorage()
    assert_type(deleter.delete_dead_letter("1"), bool)
    counts = counter.lease_counts(1_000_000.0)
    assert_type(counts, LeaseCounts)
    assert_type(counts.in_flight, int)
    assert_type(counts.expired, int)
    huey = Huey("typing-lease-additions", storage=MemoryStorage())
    assert_type(huey.delete_dead_letter("1"), bool)
    assert_type(huey.lease_counts(), LeaseCounts)
    assert huey.lease_counts() == LeaseCounts(in_flight=0, expired=0)
    storage: Storage = DictStorage()
    assert not isinstance(storage, SupportsDeadLetterDeletion | SupportsLeaseCounts)


def rejected_lease_additions() -> None:
    """A storage without the methods, a positional or changed count (never called)."""
    _deleter: SupportsDeadLetterDeletion = DictStorage()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _counter: SupportsLeaseCounts = DictStorage()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    counts = LeaseCounts(1, 0)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    counts.expired = 2  # type: ignore[misc]  # pyright: ignore[reportAttributeAccessIssue]
    MemoryStorage().delete_dead_letter(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def rejected_protocols() -> None:
    """Incomplete or mistyped implementations are rejected (never called)."""
    _storage: Storage = NoFlushStorage()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    Huey("bad", storage=NoFlushStorage())  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
    _serializer: Serializer = StrSerializer()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
    _counters: SupportsCounters = DictStorage()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


def check_settles_sent_ahead() -> None:
    """Redis sends a settle without waiting; its handle gives the settle's outcome."""

    def typed(storage: RedisStorage) -> None:  # for the type checkers: no server here
        flight = storage.send_settle_and_reserve("token", ("result-key", b"1"), (), 0.0, 30.0)
        assert_type(flight, RedisSettleInFlight)
        assert_type(flight.next_token, str)
        assert_type(flight.finish(), tuple[bool, Lease | None])
        assert_type(storage.send_reserve(0.0, 30.0), RedisSettleInFlight)

    assert callable(typed)
    storage = RedisStorage("typing", port=1)
    assert_type(storage.sends_settles_ahead, bool)
    capable: SupportsSettleInFlight = storage
    assert isinstance(capable, SupportsSettleInFlight)


def rejected_settles_sent_ahead(storage: RedisStorage) -> None:
    """A result that is not bytes, a missing lease length (never called)."""
    storage.send_settle_and_reserve("token", ("key", "text"), (), 0.0, 30.0)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    storage.send_reserve(0.0)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    _capable: SupportsSettleInFlight = MemoryStorage()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]


def check_blocking_result_reads() -> None:
    """Redis reads a result with its wait in one write: the bytes, or ``EmptyData``."""

    def typed(storage: RedisStorage) -> None:  # for the type checkers: no server here
        assert_type(storage.read_or_wait("key", 1.0, False), bytes | EmptyDataType)
        assert_type(storage.wait_then_read("key", 1.0, True), bytes | EmptyDataType)

    assert callable(typed)


def rejected_blocking_result_reads(storage: RedisStorage) -> None:
    """A timeout that is not a number (never called)."""
    storage.read_or_wait("key", "1", False)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
