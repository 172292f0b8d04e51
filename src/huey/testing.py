"""Test helpers: a fake clock and the storage conformance suite.

:func:`check_storage` runs the behavioural contract of :class:`huey.protocols.Storage`
and of every capability protocol a storage implements against a storage factory. Every
storage shipped with huey passes it; a third-party storage author calls it from their
own tests::

    from huey.testing import check_storage

    def test_my_storage_conforms(tmp_path: Path) -> None:
        counter = iter(range(1_000_000))
        check_storage(lambda: MyStorage(f"queue-{next(counter)}", path=tmp_path))

.. versionadded:: 3.6
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Collection, Iterable, KeysView, Mapping, Sequence, Sized
from typing import TypeVar, cast

from .constants import EmptyData
from .protocols import (
    Lease,
    LeaseCounts,
    Storage,
    SupportsClose,
    SupportsCompareAndDelete,
    SupportsCounters,
    SupportsDeadLetterDeletion,
    SupportsDeleteData,
    SupportsExpiringKeys,
    SupportsFlushAll,
    SupportsKeyedEnqueue,
    SupportsLeaseCounts,
    SupportsLeases,
    SupportsPeekMany,
    SupportsResultNotification,
    SupportsScheduleTransfer,
    SupportsSemaphores,
    SupportsSettle,
)
from .storage import MemoryStorage

__all__ = ("MockClock", "MemoryStorage", "check_storage", "STORAGE_CHECKS", "SETTLE_CHECKS")

T = TypeVar("T")

_START = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


class MockClock:
    """A fake :class:`huey.protocols.Clock`: time only moves when told to.

    ``sleep(s)`` does not block; it advances both clocks by ``s``, so code that polls
    with sleeps finishes at once and deterministically. Pass it as ``Huey(clock=...)``.

    Args:
        start: the initial wall-clock time (UTC epoch seconds); default
            2026-01-01 00:00:00 UTC.
    """

    def __init__(self, start: float = _START) -> None:
        self.now: float = start
        self.mono: float = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        """The fake wall-clock time."""
        return self.now

    def monotonic(self) -> float:
        """The fake monotonic time."""
        return self.mono

    def sleep(self, seconds: float, /) -> None:
        """Record the sleep and advance both clocks by ``seconds``."""
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        self.now += seconds
        self.mono += seconds


# --- assertions ----------------------------------------------------------------------


# Failure messages stay short whatever the storage returned: long collections are
# summarised (their size and the first few items), long values are cut.
_SHOWN_ITEMS = 3
_LONG_COLLECTION = 6
_LONG_REPR = 60
_LONG_DETAIL = 300
_VIOLATION = "storage contract violated: "


def _brief(value: object) -> str:
    """A short description of ``value`` for a failure message."""
    items = _items(value)
    if items is not None:
        if len(items) > _LONG_COLLECTION:
            return f"{len(items)} items ({_first_items(items)})"
        shown = ", ".join(_brief(item) for item in items)
        if isinstance(value, list):
            return f"[{shown}]"
        if isinstance(value, tuple):
            return f"({shown}{',' if len(items) == 1 else ''})"
        return f"{{{shown}}}" if items else "set()"
    mapping = _mapping(value)
    if mapping is not None:
        if len(mapping) > _LONG_COLLECTION:
            return f"{len(mapping)} keys ({_first_items(_ordered(mapping.keys()))})"
        shown = ", ".join(f"{_brief(k)}: {_brief(v)}" for k, v in mapping.items())
        return f"{{{shown}}}"
    if isinstance(value, bytes) and len(value) > _LONG_REPR // 2:
        return f"{value[:8]!r}... ({len(value)} bytes)"
    text = repr(value)
    if len(text) > _LONG_REPR:
        size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} long"
        return f"{text[: _LONG_REPR - 20]}... ({size})"
    return text


def _ordered(items: Iterable[object]) -> list[object]:
    """A list of ``items``; a set's items are sorted, so messages are reproducible."""
    if isinstance(items, set | frozenset | KeysView):
        return sorted(items, key=repr)
    return list(items)


def _count(items: Sized, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _first_items(items: Sequence[object]) -> str:
    shown = ", ".join(_brief(item) for item in items[:_SHOWN_ITEMS])
    return f"first {shown}, ..." if len(items) > _SHOWN_ITEMS else shown


def _items(value: object) -> list[object] | None:
    """The items of a list, tuple or set (a set's sorted); ``None`` for anything else."""
    if isinstance(value, list | tuple | set | frozenset):
        return _ordered(cast("Collection[object]", value))
    return None


def _mapping(value: object) -> Mapping[object, object] | None:
    return cast("Mapping[object, object]", value) if isinstance(value, Mapping) else None


def _difference(actual: object, expected: object) -> str:
    """What differs between ``actual`` and ``expected``, in a few words."""
    got, wanted = _items(actual), _items(expected)
    if got is not None and wanted is not None and max(len(got), len(wanted)) > _LONG_COLLECTION:
        return _collection_difference(got, wanted)
    got_map, wanted_map = _mapping(actual), _mapping(expected)
    if got_map is not None and wanted_map is not None:
        return _mapping_difference(got_map, wanted_map)
    return f"expected {_brief(expected)}, got {_brief(actual)}"


def _mapping_difference(got: Mapping[object, object], wanted: Mapping[object, object]) -> str:
    missing = _ordered(key for key in wanted if key not in got)
    extra = _ordered(key for key in got if key not in wanted)
    changed = _ordered(key for key in wanted if key in got and got[key] != wanted[key])
    parts: list[str] = []
    if missing:
        parts.append(f"{_count(missing, 'key')} missing ({_first_items(missing)})")
    if extra:
        parts.append(f"{_count(extra, 'unexpected key')} ({_first_items(extra)})")
    if changed:
        key = changed[0]
        parts.append(
            f"{_count(changed, 'value')} differing (under {_brief(key)}: expected "
            f"{_brief(wanted[key])}, got {_brief(got[key])})"
        )
    return "; ".join(parts) or f"expected {_brief(wanted)}, got {_brief(got)}"


def _collection_difference(got: list[object], wanted: list[object]) -> str:
    parts = [f"got {_count(got, 'item')}, expected {len(wanted)}"]
    try:
        missing = list((Counter(wanted) - Counter(got)).elements())
        extra = list((Counter(got) - Counter(wanted)).elements())
    except TypeError:  # unhashable items: show the start of both
        return f"expected {_brief(wanted)}, got {_brief(got)}"
    if missing:
        parts.append(f"{len(missing)} missing ({_first_items(missing)})")
    if extra:
        parts.append(f"{len(extra)} unexpected or repeated ({_first_items(extra)})")
    if not missing and not extra:
        index = next(i for i, (a, b) in enumerate(zip(got, wanted, strict=True)) if a != b)
        parts = [
            f"the same {len(got)} items in another order; item {index} is "
            f"{_brief(got[index])}, expected {_brief(wanted[index])}"
        ]
    return "; ".join(parts)


def _expect(condition: bool, rule: str, detail: str) -> None:
    if not condition:
        detail = detail or "it did not hold"
        if len(detail) > _LONG_DETAIL:
            detail = f"{detail[: _LONG_DETAIL - 5]} ..."
        raise AssertionError(f"{_VIOLATION}{rule}: {detail}")


def _equal(actual: object, expected: object, rule: str) -> None:
    if actual != expected:
        _expect(False, rule, _difference(actual, expected))


def _empty(value: object, rule: str) -> None:
    _expect(value is EmptyData, rule, f"expected EmptyData, got {_brief(value)}")


def _given(value: T | None, rule: str, call: str) -> T:
    """``value``, which must not be ``None`` (``call`` names what returned it)."""
    if value is None:
        raise AssertionError(f"{_VIOLATION}{rule}: {call} returned None")
    return value


def _run_threads(count: int, target: Callable[[int], T]) -> list[T]:
    """Run ``target(i)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [result for result in results if result is not None]


# --- the base protocol ---------------------------------------------------------------


def _check_queue_fifo(storage: Storage) -> None:
    _equal(storage.dequeue(), None, "dequeue() on an empty queue returns None")
    for item in (b"a", b"b", b"c"):
        storage.enqueue(item)
    _equal(storage.queue_size(), 3, "queue_size() counts enqueued items")
    got = [storage.dequeue() for _ in range(4)]
    _equal(got, [b"a", b"b", b"c", None], "items of one priority are dequeued FIFO")
    _equal(storage.queue_size(), 0, "queue_size() is 0 once the queue is drained")


def _has_priorities(storage: object) -> bool:
    # The original BaseStorage.priority attribute: False on FIFO-only storages (RedisStorage),
    # which refuse a non-zero priority; their priority checks are skipped.
    return getattr(storage, "priority", True) is not False


def _check_queue_priorities(storage: Storage) -> None:
    if not _has_priorities(storage):
        return
    storage.enqueue(b"low-1", 0)
    storage.enqueue(b"high", 10)
    storage.enqueue(b"none", None)
    storage.enqueue(b"negative", -5)
    storage.enqueue(b"mid", 5)
    storage.enqueue(b"low-2", 0)
    expected = [b"high", b"mid", b"low-1", b"none", b"low-2", b"negative"]
    rule = "higher priority first, FIFO within a priority, None counts as 0"
    _equal(list(storage.enqueued_items()), expected, f"enqueued_items(): {rule}")
    _equal([storage.dequeue() for _ in expected], expected, f"dequeue(): {rule}")


def _check_queue_listing(storage: Storage) -> None:
    for item in (b"1", b"2", b"3"):
        storage.enqueue(item)
    _equal(list(storage.enqueued_items(2)), [b"1", b"2"], "enqueued_items(limit) stops at limit")
    _equal(list(storage.enqueued_items(None)), [b"1", b"2", b"3"], "enqueued_items() lists all")
    _equal(storage.queue_size(), 3, "enqueued_items() does not remove items")
    storage.flush_queue()
    _equal(storage.queue_size(), 0, "flush_queue() empties the queue")
    _equal(storage.dequeue(), None, "nothing is dequeued after flush_queue()")
    _equal(list(storage.enqueued_items()), [], "enqueued_items() is empty after flush_queue()")


def _check_binary_safety(storage: Storage) -> None:
    blob = bytes(range(256)) * 3 + b"\x00"
    storage.enqueue(blob)
    _equal(storage.dequeue(), blob, "queue items are arbitrary bytes, returned unchanged")
    storage.add_to_schedule(blob, 10.0)
    _equal(list(storage.read_schedule(10.0)), [blob], "schedule items are returned unchanged")
    storage.put_data("blob", blob)
    _equal(storage.peek_data("blob"), blob, "values are returned unchanged")
    storage.put_data("empty", b"")
    _equal(storage.peek_data("empty"), b"", "an empty value is a value, not EmptyData")
    _equal(storage.has_data_for_key("empty"), True, "has_data_for_key() of an empty value")
    storage.flush_results()


def _check_schedule(storage: Storage) -> None:
    _equal(list(storage.read_schedule(1e12)), [], "read_schedule() of an empty schedule")
    storage.add_to_schedule(b"t100", 100.0)
    storage.add_to_schedule(b"t50", 50.0)
    storage.add_to_schedule(b"t75-a", 75.0)
    storage.add_to_schedule(b"t75-b", 75.0)
    storage.add_to_schedule(b"t75.5", 75.5)
    _equal(storage.schedule_size(), 5, "schedule_size() counts scheduled items")
    order = [b"t50", b"t75-a", b"t75-b", b"t75.5", b"t100"]
    rule = "scheduled_items() lists earliest first, ties in insertion order"
    _equal(list(storage.scheduled_items()), order, rule)
    _equal(list(storage.scheduled_items(2)), order[:2], "scheduled_items(limit) stops at limit")
    _equal(list(storage.read_schedule(49.999)), [], "nothing is due before its timestamp")
    _equal(
        list(storage.read_schedule(75.0)),
        [b"t50", b"t75-a", b"t75-b"],
        "read_schedule(t) returns the items due at or before t, earliest first",
    )
    _equal(storage.schedule_size(), 2, "read_schedule() removes what it returns")
    _equal(list(storage.read_schedule(75.0)), [], "an item is returned by one read only")
    _equal(list(storage.read_schedule(1e12)), [b"t75.5", b"t100"], "later items stay due")
    storage.add_to_schedule(b"x", 1.0)
    storage.flush_schedule()
    _equal(storage.schedule_size(), 0, "flush_schedule() empties the schedule")


def _check_schedule_concurrent_pop(storage: Storage) -> None:
    items = [f"s{i}".encode() for i in range(60)]
    for index, item in enumerate(items):
        storage.add_to_schedule(item, 1000.0 + index)

    def pop(_: int) -> list[bytes]:
        got: list[bytes] = []
        for step in range(30):
            got.extend(storage.read_schedule(1000.0 + 2 * step + 1))
        return got

    popped = [item for batch in _run_threads(4, pop) for item in batch]
    _equal(
        sorted(popped),
        sorted(items),
        "concurrent read_schedule() calls return every due item exactly once",
    )


def _check_result_store(storage: Storage) -> None:
    _empty(storage.peek_data("k"), "peek_data() of a missing key")
    _empty(storage.pop_data("k"), "pop_data() of a missing key")
    _equal(storage.has_data_for_key("k"), False, "has_data_for_key() of a missing key")
    storage.put_data("k", b"v1")
    storage.put_data("k", b"v2")
    _equal(storage.peek_data("k"), b"v2", "put_data() replaces the previous value")
    _equal(storage.peek_data("k"), b"v2", "peek_data() does not remove the value")
    _equal(storage.has_data_for_key("k"), True, "has_data_for_key() after put_data()")
    _equal(storage.pop_data("k"), b"v2", "pop_data() returns the value")
    _empty(storage.pop_data("k"), "pop_data() removes the value")
    keys = ["r:abc", "a/b", "../x", "unicodé ✓", "chord:1:2", "x" * 300]
    for index, key in enumerate(keys):
        storage.put_data(key, str(index).encode())
    expected = {key: str(index).encode() for index, key in enumerate(keys)}
    _equal(dict(storage.result_items()), expected, "result_items() maps every key to its value")
    _equal(storage.result_store_size(), len(keys), "result_store_size() counts keys")
    storage.flush_results()
    _equal(storage.result_store_size(), 0, "flush_results() removes every key")
    _equal(dict(storage.result_items()), {}, "result_items() is empty after flush_results()")


def _check_put_if_empty(storage: Storage) -> None:
    _equal(storage.put_if_empty("lock", b"1"), True, "put_if_empty() on a free key")
    _equal(storage.put_if_empty("lock", b"2"), False, "put_if_empty() on a held key")
    _equal(storage.peek_data("lock"), b"1", "put_if_empty() keeps the existing value")
    storage.pop_data("lock")
    _equal(storage.put_if_empty("lock", b"3"), True, "put_if_empty() after pop_data()")
    storage.flush_results()
    for round_number in range(3):
        key = f"race-{round_number}"

        def race(index: int, key: str = key) -> bool:
            return storage.put_if_empty(key, str(index).encode())

        wins = _run_threads(6, race)
        _equal(wins.count(True), 1, "exactly one of concurrent put_if_empty() calls wins")


def _check_areas_are_separate(storage: Storage) -> None:
    storage.enqueue(b"q")
    storage.add_to_schedule(b"s", 5.0)
    storage.put_data("k", b"v")
    storage.flush_queue()
    _equal(storage.schedule_size(), 1, "flush_queue() leaves the schedule alone")
    _equal(storage.peek_data("k"), b"v", "flush_queue() leaves the key/value store alone")
    storage.enqueue(b"q")
    storage.flush_schedule()
    _equal(storage.queue_size(), 1, "flush_schedule() leaves the queue alone")
    storage.add_to_schedule(b"s", 5.0)
    storage.flush_results()
    _equal((storage.queue_size(), storage.schedule_size()), (1, 1), "flush_results() only")


# --- capabilities --------------------------------------------------------------------


def _check_counters(storage: SupportsCounters, base: Storage) -> None:
    _equal(storage.incr("c"), 1, "incr() creates a counter at 0 and adds 1")
    _equal(storage.incr("c", 5), 6, "incr(key, amount) adds amount")
    _equal(storage.incr("c", -10), -4, "incr() accepts negative amounts")
    _empty(base.peek_data("c"), "counters are separate from the key/value store")
    storage.delete_counter("c")
    _equal(storage.incr("c"), 1, "delete_counter() resets the counter")
    storage.delete_counter("missing")  # deleting a missing counter is not an error
    storage.incr("d", 3)
    storage.flush_counters()
    _equal(storage.incr("d"), 1, "flush_counters() removes every counter")
    storage.flush_counters()
    _run_threads(4, lambda _: [storage.incr("n") for _ in range(25)])
    _equal(storage.incr("n", 0), 100, "concurrent incr() calls are atomic")


def _check_expiring_keys(storage: SupportsExpiringKeys, base: Storage) -> None:
    _equal(storage.put_if_empty_ttl("ttl", b"1", 3600.0), True, "put_if_empty_ttl() free key")
    _equal(storage.put_if_empty_ttl("ttl", b"2", 3600.0), False, "put_if_empty_ttl() held key")
    _equal(base.put_if_empty("ttl", b"3"), False, "a TTL'd key blocks put_if_empty()")
    _equal(base.peek_data("ttl"), b"1", "a TTL'd key holds its value until it expires")
    # The protocol takes no ``now``: expiry uses the storage's own clock, so this one
    # check waits a little in real time.
    _equal(storage.put_if_empty_ttl("short", b"1", 0.05), True, "put_if_empty_ttl() short TTL")
    time.sleep(0.12)
    _empty(base.peek_data("short"), "an expired key holds no value")
    _equal(base.has_data_for_key("short"), False, "has_data_for_key() of an expired key")
    rule = "result_items() skips expired keys"
    _expect("short" not in base.result_items(), rule, "the expired key is listed")
    if isinstance(storage, SupportsPeekMany):
        _equal(list(storage.peek_many(["short"])), [EmptyData], "peek_many() of an expired key")
    if isinstance(storage, SupportsCompareAndDelete):
        rule = "delete_if_equal() of an expired key"
        _equal(storage.delete_if_equal("short", b"1"), False, rule)
        _equal(storage.delete_if_equal("ttl", b"1"), True, "delete_if_equal() of a TTL'd key")
        _equal(base.put_if_empty("ttl", b"4"), True, "put_if_empty() after delete_if_equal()")
    if isinstance(storage, SupportsDeleteData):
        _equal(storage.delete_data("short"), False, "delete_data() of an expired key")
    _equal(base.put_if_empty("short", b"2"), True, "put_if_empty() on an expired key")
    _equal(base.peek_data("short"), b"2", "the new value replaces the expired one")
    base.flush_results()


def _check_compare_and_delete(storage: Storage) -> None:
    _same_kind(isinstance(storage, SupportsCompareAndDelete), storage, "SupportsCompareAndDelete")
    assert isinstance(storage, SupportsCompareAndDelete)
    _equal(storage.delete_if_equal("lock", b"a"), False, "delete_if_equal() of a missing key")
    storage.put_data("lock", b"owner-a")
    _equal(storage.delete_if_equal("lock", b"owner-b"), False, "delete_if_equal(), other value")
    _equal(storage.delete_if_equal("lock", b"owner"), False, "delete_if_equal(), a prefix")
    _equal(storage.peek_data("lock"), b"owner-a", "a refused delete_if_equal() keeps the value")
    _equal(storage.delete_if_equal("lock", b"owner-a"), True, "delete_if_equal(), same value")
    _empty(storage.peek_data("lock"), "delete_if_equal() removes the key")
    _equal(storage.delete_if_equal("lock", b"owner-a"), False, "delete_if_equal() deletes once")
    storage.put_data("empty", b"")
    _equal(storage.delete_if_equal("empty", b""), True, "delete_if_equal() of an empty value")
    for round_number in range(3):
        key = f"race-{round_number}"
        storage.put_data(key, b"token")

        def race(index: int, key: str = key) -> bool:
            return storage.delete_if_equal(key, b"token")

        wins = _run_threads(6, race)
        _equal(wins.count(True), 1, "exactly one of concurrent delete_if_equal() calls wins")


def _check_peek_many(storage: Storage) -> None:
    _same_kind(isinstance(storage, SupportsPeekMany), storage, "SupportsPeekMany")
    assert isinstance(storage, SupportsPeekMany)
    _equal(list(storage.peek_many([])), [], "peek_many() of no keys")
    storage.put_data("a", b"A")
    storage.put_data("b", b"")
    got = list(storage.peek_many(["a", "missing", "b", "a"]))
    rule = "peek_many() returns each key's value in order, EmptyData for an empty key"
    _equal(got, [b"A", EmptyData, b"", b"A"], rule)
    _equal(list(storage.peek_many(["missing"])), [EmptyData], "peek_many() of one missing key")
    _equal(storage.result_store_size(), 2, "peek_many() removes nothing")
    keys = [f"k{i}" for i in range(1200)]
    for key in keys[::100]:
        storage.put_data(key, key.encode())
    expected = [key.encode() if index % 100 == 0 else EmptyData for index, key in enumerate(keys)]
    _equal(list(storage.peek_many(keys)), expected, "peek_many() of many keys")


def _check_delete_data(storage: Storage) -> None:
    _same_kind(isinstance(storage, SupportsDeleteData), storage, "SupportsDeleteData")
    assert isinstance(storage, SupportsDeleteData)
    _equal(storage.delete_data("k"), False, "delete_data() of a missing key")
    storage.put_data("k", b"v")
    storage.put_data("other", b"w")
    _equal(storage.delete_data("k"), True, "delete_data() of a key holding a value")
    _empty(storage.peek_data("k"), "delete_data() removes the value")
    _equal(storage.delete_data("k"), False, "delete_data() removes once")
    _equal(storage.peek_data("other"), b"w", "delete_data() leaves other keys alone")
    if isinstance(storage, SupportsResultNotification):
        storage.put_result("result", b"42")
        _equal(storage.delete_data("result"), True, "delete_data() of a task result")
        _empty(storage.peek_data("result"), "delete_data() removes a task result")


def _check_flush_all(storage: Storage) -> None:
    _same_kind(isinstance(storage, SupportsFlushAll), storage, "SupportsFlushAll")
    assert isinstance(storage, SupportsFlushAll)
    storage.enqueue(b"queued")
    storage.add_to_schedule(b"scheduled", 10.0)
    storage.put_data("k", b"v")
    if isinstance(storage, SupportsCounters):
        storage.incr("c", 5)
    if isinstance(storage, SupportsLeases):
        storage.enqueue(b"leased")
        storage.enqueue(b"buried")
        _given(storage.reserve(1000.0, 30.0), "reserve() of an item", "reserve()")
        lease = _given(storage.reserve(1000.0, 30.0), "reserve() of an item", "reserve()")
        storage.dead_letter(lease.token, "poison", 1000.0)
    if isinstance(storage, SupportsSemaphores):
        storage.semaphore_acquire("sem", "holder", 1, 3600.0)
    storage.flush_all()
    sizes = (storage.queue_size(), storage.schedule_size(), storage.result_store_size())
    _equal(sizes, (0, 0, 0), "flush_all() empties the queue, the schedule and the values")
    _equal(storage.dequeue(), None, "nothing is dequeued after flush_all()")
    if isinstance(storage, SupportsCounters):
        _equal(storage.incr("c"), 1, "flush_all() removes the counters")
    if isinstance(storage, SupportsLeases):
        _equal(storage.requeue_expired(1e12, 5), 0, "flush_all() removes leased items")
        _equal(list(storage.dead_letters()), [], "flush_all() removes the dead letters")
    if isinstance(storage, SupportsSemaphores):
        _equal(list(storage.semaphore_holders("sem")), [], "flush_all() frees the semaphores")
    storage.flush_all()  # flushing an empty storage is not an error


def _check_semaphores(storage: Storage) -> None:
    _same_kind(isinstance(storage, SupportsSemaphores), storage, "SupportsSemaphores")
    assert isinstance(storage, SupportsSemaphores)
    _equal(list(storage.semaphore_holders("s")), [], "a new semaphore has no holders")
    _equal(storage.semaphore_acquire("s", "a", 2, 3600.0), True, "semaphore_acquire(), a slot")
    _equal(storage.semaphore_acquire("s", "b", 2, 3600.0), True, "semaphore_acquire(), the last")
    _equal(storage.semaphore_acquire("s", "c", 2, 3600.0), False, "a full semaphore refuses")
    _equal(storage.semaphore_acquire("s", "a", 2, 3600.0), True, "a holder may acquire again")
    _equal(sorted(storage.semaphore_holders("s")), ["a", "b"], "semaphore_holders() lists them")
    _equal(storage.semaphore_acquire("t", "c", 1, 3600.0), True, "semaphores are separate")
    _equal(storage.semaphore_release("s", "a"), True, "semaphore_release() of a holder")
    _equal(storage.semaphore_release("s", "a"), False, "semaphore_release() frees once")
    _equal(storage.semaphore_acquire("s", "c", 2, 3600.0), True, "a released slot is free")
    _equal(storage.semaphore_renew("s", "b", 3600.0), True, "semaphore_renew() of a holder")
    _equal(storage.semaphore_renew("s", "a", 3600.0), False, "semaphore_renew() of a non-holder")
    _equal(storage.semaphore_clear("s"), 2, "semaphore_clear() counts the holders")
    _equal(list(storage.semaphore_holders("s")), [], "semaphore_clear() frees every slot")
    _equal(list(storage.semaphore_holders("t")), ["c"], "semaphore_clear() of one semaphore")
    for round_number in range(3):
        name = f"race-{round_number}"

        def race(index: int, name: str = name) -> bool:
            return storage.semaphore_acquire(name, f"h{index}", 3, 3600.0)

        wins = _run_threads(8, race)
        _equal(wins.count(True), 3, "exactly limit of concurrent semaphore_acquire() calls win")
    # Holders expire by the storage's own clock: this check waits a little in real time.
    _equal(storage.semaphore_acquire("x", "dies", 1, 0.05), True, "a holder with a short timeout")
    _equal(storage.semaphore_acquire("x", "kept", 2, 3600.0), True, "a second holder")
    _equal(storage.semaphore_renew("x", "kept", 0.05), True, "renewing with a short timeout")
    _equal(storage.semaphore_renew("x", "kept", 3600.0), True, "renewing before it expires")
    time.sleep(0.12)
    _equal(list(storage.semaphore_holders("x")), ["kept"], "an expired holder is dropped")
    _equal(storage.semaphore_release("x", "dies"), False, "an expired holder holds nothing")
    _equal(storage.semaphore_renew("x", "dies", 3600.0), False, "an expired holder cannot renew")
    _equal(storage.semaphore_acquire("x", "new", 2, 3600.0), True, "an expired slot is free")


def _check_lease_basics(storage: SupportsLeases, base: Storage) -> None:
    _equal(storage.reserve(1000.0, 30.0), None, "reserve() on an empty queue returns None")
    base.enqueue(b"a")
    base.enqueue(b"b")
    lease = _given(storage.reserve(1000.0, 30.0), "reserve() hands out a ready item", "reserve()")
    _equal(lease.data, b"a", "reserve() follows dequeue order")
    _equal(lease.deliveries, 1, "the first lease of an item is delivery 1")
    _equal(lease.deadline, 1030.0, "the lease deadline is now + lease_seconds")
    _equal(base.queue_size(), 1, "a leased item is not counted by queue_size()")
    _equal(list(base.enqueued_items()), [b"b"], "a leased item is not listed as enqueued")
    _equal(base.dequeue(), b"b", "dequeue() skips leased items")
    _equal(storage.reserve(1000.0, 30.0), None, "a leased item is not reserved twice")
    _equal(storage.ack(lease.token), True, "ack() with the current token")
    _equal(storage.ack(lease.token), False, "a second ack() of the same token is refused")
    _equal(storage.requeue_expired(1e12, 5), 0, "an acknowledged item never comes back")
    _equal(base.queue_size(), 0, "ack() deletes the item")


def _check_lease_priorities(storage: SupportsLeases, base: Storage) -> None:
    if not _has_priorities(base):
        return
    base.enqueue(b"low", 1)
    base.enqueue(b"high", 9)
    base.enqueue(b"low-2", 1)
    got: list[bytes] = []
    while (lease := storage.reserve(1000.0, 30.0)) is not None:
        got.append(lease.data)
        storage.ack(lease.token)
    _equal(got, [b"high", b"low", b"low-2"], "reserve() honours priorities, then FIFO")


def _check_lease_expiry(storage: SupportsLeases, base: Storage) -> None:
    base.enqueue(b"x")
    first = _given(storage.reserve(1000.0, 10.0), "reserve() hands out a ready item", "reserve()")
    _equal(storage.requeue_expired(1009.0, 5), 0, "a lease is not expired before its deadline")
    _equal(storage.requeue_expired(1011.0, 5), 1, "requeue_expired() returns an expired lease")
    _equal(base.queue_size(), 1, "an expired lease's item is ready again")
    second = _given(storage.reserve(1011.0, 10.0), "an expired item is ready again", "reserve()")
    _equal(second.data, b"x", "the expired item is delivered again")
    _equal(second.deliveries, 2, "a redelivery counts deliveries")
    _expect(second.token != first.token, "each lease gets a new token", "token reused")
    rule = "a stale token is refused"
    _expect(not storage.ack(first.token), rule, "ack() accepted it")
    _expect(not storage.release(first.token), rule, "release() accepted it")
    _expect(not storage.extend_lease(first.token, 1011.0, 10.0), rule, "extend_lease() did")
    _expect(not storage.dead_letter(first.token, "late", 1011.0), rule, "dead_letter() did")
    _equal(base.queue_size(), 0, "refused calls with a stale token change nothing")
    _equal(storage.ack(second.token), True, "the current token is still accepted")
    _equal(storage.ack("no-such-token"), False, "an unknown token is refused")


def _check_lease_extend(storage: SupportsLeases, base: Storage) -> None:
    base.enqueue(b"long")
    lease = _given(storage.reserve(1000.0, 10.0), "reserve() hands out a ready item", "reserve()")
    _equal(storage.extend_lease(lease.token, 1008.0, 10.0), True, "extend_lease() of a lease")
    _equal(storage.requeue_expired(1012.0, 5), 0, "an extended lease lasts until its new deadline")
    _equal(storage.requeue_expired(1019.0, 5), 1, "an extended lease still expires")


def _check_lease_release(storage: SupportsLeases, base: Storage) -> None:
    base.enqueue(b"first")
    lease = _given(storage.reserve(1000.0, 30.0), "reserve() hands out a ready item", "reserve()")
    base.enqueue(b"later")
    _equal(storage.release(lease.token), True, "release() with the current token")
    _equal(storage.ack(lease.token), False, "a released lease's token is stale")
    again = _given(storage.reserve(1000.0, 30.0), "a released item is ready again", "reserve()")
    _equal(again.data, b"first", "a released item is delivered before items enqueued after it")
    _equal(again.deliveries, 1, "a released delivery is not counted")
    storage.ack(again.token)
    base.flush_queue()


def _check_dead_letters(storage: SupportsLeases, base: Storage) -> None:
    _equal(list(storage.dead_letters()), [], "no dead letters at first")
    base.enqueue(b"poison", 3 if _has_priorities(base) else None)
    lease = _given(storage.reserve(1000.0, 30.0), "reserve() hands out a ready item", "reserve()")
    rule = "dead_letter() with the current token"
    _equal(storage.dead_letter(lease.token, "undecodable", 1005.0), True, rule)
    _equal(base.queue_size(), 0, "a dead-lettered item leaves the queue")
    _equal(storage.ack(lease.token), False, "a dead-lettered lease's token is stale")
    letters = list(storage.dead_letters())
    _equal(len(letters), 1, "dead_letters() lists the dead letter")
    letter = letters[0]
    got = (letter.data, letter.reason, letter.deliveries, letter.timestamp)
    _equal(got, (b"poison", "undecodable", 1, 1005.0), "a dead letter keeps data and reason")
    base.enqueue(b"other")
    _equal(storage.requeue_dead_letter(letter.id), True, "requeue_dead_letter() of a letter")
    _equal(list(storage.dead_letters()), [], "a requeued dead letter is gone")
    _equal(storage.requeue_dead_letter(letter.id), False, "a letter is requeued once")
    _equal(storage.requeue_dead_letter("no-such-letter"), False, "an unknown letter id")
    _equal(storage.requeue_dead_letter("9" * 24), False, "a letter id beyond 64 bits")
    again = _given(storage.reserve(1000.0, 30.0), "a requeued letter is ready", "reserve()")
    _equal(again.data, b"poison", "a requeued dead letter keeps its priority")
    _equal(again.deliveries, 1, "a requeued dead letter starts a fresh delivery count")
    storage.ack(again.token)
    base.flush_queue()


def _check_max_deliveries(storage: SupportsLeases, base: Storage) -> None:
    base.enqueue(b"crashes-workers")
    now = 1000.0
    for delivery in (1, 2, 3):
        rule = "an item is redelivered until its deliveries reach max_deliveries"
        lease = _given(storage.reserve(now, 10.0), rule, "reserve()")
        _equal(lease.deliveries, delivery, "deliveries counts every lease")
        now += 11.0
        _equal(storage.requeue_expired(now, 3), 1, "requeue_expired() counts moved items")
    rule = "an item whose lease expires on delivery number max_deliveries"
    _equal(storage.reserve(now, 10.0), None, f"{rule} is not delivered again")
    letters = list(storage.dead_letters())
    _equal(len(letters), 1, f"{rule} becomes a dead letter")
    _equal(letters[0].data, b"crashes-workers", "the dead letter holds the item")
    _equal(letters[0].deliveries, 3, "the dead letter records its deliveries")
    _equal(letters[0].timestamp, now, "the dead letter is stamped with requeue_expired's now")
    _expect(bool(letters[0].reason), "a dead letter has a reason", "empty reason")


def _check_dead_letter_listing(storage: SupportsLeases, base: Storage) -> None:
    for index in range(3):
        base.enqueue(f"d{index}".encode())
        lease = _given(storage.reserve(1000.0 + index, 30.0), "reserve() of an item", "reserve()")
        storage.dead_letter(lease.token, f"reason {index}", 1000.0 + index)
    datas = [letter.data for letter in storage.dead_letters()]
    _equal(datas, [b"d0", b"d1", b"d2"], "dead_letters() lists oldest first")
    _equal([letter.data for letter in storage.dead_letters(2)], [b"d0", b"d1"], "limit")
    ids = [letter.id for letter in storage.dead_letters()]
    _equal(len(set(ids)), 3, "dead letter ids are unique")
    base.flush_queue()
    _equal(len(storage.dead_letters()), 3, "flush_queue() leaves dead letters alone")
    _equal(storage.purge_dead_letters(), 3, "purge_dead_letters() returns how many it deleted")
    _equal(list(storage.dead_letters()), [], "purge_dead_letters() deletes them all")
    _equal(storage.purge_dead_letters(), 0, "purging nothing returns 0")


def _check_flush_drops_leases(storage: SupportsLeases, base: Storage) -> None:
    base.enqueue(b"leased")
    lease = _given(storage.reserve(1000.0, 10.0), "reserve() hands out a ready item", "reserve()")
    base.flush_queue()
    _equal(storage.requeue_expired(1e12, 5), 0, "flush_queue() also removes leased items")
    _equal(storage.reserve(1e12, 10.0), None, "nothing comes back after flush_queue()")
    _equal(storage.ack(lease.token), False, "a flushed lease's token is stale")


def _check_concurrent_reserve(storage: SupportsLeases, base: Storage) -> None:
    items = {f"m{i}".encode() for i in range(80)}
    for item in sorted(items):
        base.enqueue(item)

    def drain(_: int) -> list[bytes]:
        got: list[bytes] = []
        while (lease := storage.reserve(1000.0, 60.0)) is not None:
            got.append(lease.data)
            _equal(storage.ack(lease.token), True, "ack() of a fresh concurrent lease")
        return got

    delivered = [item for batch in _run_threads(4, drain) for item in batch]
    _equal(len(delivered), len(items), "concurrent reserve() delivers each item once")
    _equal(set(delivered), items, "concurrent reserve() delivers every item")


# --- SupportsDeadLetterDeletion and SupportsLeaseCounts (additions to leases) ----------


def _bury_items(storage: SupportsLeases, base: Storage, items: Sequence[bytes]) -> list[str]:
    """Make a dead letter of each item, in order; return their ids."""
    for item in items:
        base.enqueue(item)
        lease = _given(storage.reserve(1000.0, 30.0), "reserve() of an item", "reserve()")
        _equal(storage.dead_letter(lease.token, "poison", 1000.0), True, "dead_letter()")
    return [letter.id for letter in storage.dead_letters()]


def _check_delete_dead_letter(storage: SupportsLeases, base: Storage) -> None:
    assert isinstance(storage, SupportsDeadLetterDeletion)
    for unknown in ("no-such-letter", "", "-1", "99999999999999999999999"):
        _equal(storage.delete_dead_letter(unknown), False, f"delete_dead_letter({unknown!r})")
    first, second, third, fourth = _bury_items(storage, base, [b"d0", b"d1", b"d2", b"d3"])
    _equal(storage.delete_dead_letter(second), True, "delete_dead_letter() of a dead letter")
    datas = [letter.data for letter in storage.dead_letters()]
    _equal(datas, [b"d0", b"d2", b"d3"], "delete_dead_letter() deletes that letter alone")
    _equal(base.queue_size(), 0, "a deleted dead letter is not requeued")
    _equal(storage.delete_dead_letter(second), False, "a dead letter is deleted once")
    _equal(storage.requeue_dead_letter(second), False, "a deleted letter cannot be requeued")
    _equal(storage.requeue_dead_letter(first), True, "requeue_dead_letter() of a dead letter")
    _equal(storage.delete_dead_letter(first), False, "a requeued letter cannot be deleted")
    _equal(base.dequeue(), b"d0", "the requeued letter is queued")

    wins = _run_threads(6, lambda _: storage.delete_dead_letter(third))
    _equal(wins.count(True), 1, "exactly one of concurrent delete_dead_letter() calls wins")

    def delete_or_requeue(index: int) -> tuple[str, bool]:
        if index % 2:
            return "requeue", storage.requeue_dead_letter(fourth)
        return "delete", storage.delete_dead_letter(fourth)

    outcomes = _run_threads(6, delete_or_requeue)
    winners = [kind for kind, won in outcomes if won]
    rule = "exactly one of concurrent delete_dead_letter() and requeue_dead_letter() wins"
    _equal(len(winners), 1, rule)
    queued = 1 if winners == ["requeue"] else 0
    _equal(base.queue_size(), queued, "only a winning requeue_dead_letter() queues the letter")
    _equal(list(storage.dead_letters()), [], "every dead letter is gone")
    base.flush_queue()


def _counts(storage: SupportsLeases, now: float) -> LeaseCounts:
    assert isinstance(storage, SupportsLeaseCounts)
    return storage.lease_counts(now)


def _check_lease_counts(storage: SupportsLeases, base: Storage) -> None:
    none = LeaseCounts(in_flight=0, expired=0)
    _equal(_counts(storage, 1000.0), none, "lease_counts() with no leases")
    for item in (b"short", b"long", b"released", b"buried", b"waiting"):
        base.enqueue(item)
    short = _reserved(storage, 1000.0, b"short")  # deadline 1010
    long = _given(storage.reserve(1000.0, 30.0), "reserve() of an item", "reserve()")
    released = _given(storage.reserve(1000.0, 30.0), "reserve() of an item", "reserve()")
    buried = _given(storage.reserve(1000.0, 30.0), "reserve() of an item", "reserve()")
    rule = "lease_counts() counts leases, not queued items"
    _equal(_counts(storage, 1005.0), LeaseCounts(in_flight=4, expired=0), rule)
    rule = "a lease whose deadline is now is still in flight (as for requeue_expired)"
    _equal(_counts(storage, 1010.0), LeaseCounts(in_flight=4, expired=0), rule)
    rule = "a lease is expired once its deadline passed"
    _equal(_counts(storage, 1020.0), LeaseCounts(in_flight=3, expired=1), rule)
    _equal(_counts(storage, 1e12), LeaseCounts(in_flight=0, expired=4), rule)
    storage.extend_lease(short.token, 1020.0, 30.0)
    rule = "an extended lease is in flight until its new deadline"
    _equal(_counts(storage, 1020.0), LeaseCounts(in_flight=4, expired=0), rule)
    storage.ack(long.token)
    storage.release(released.token)
    storage.dead_letter(buried.token, "poison", 1020.0)
    rule = "acknowledged, released and dead-lettered items are not leased"
    _equal(_counts(storage, 1020.0), LeaseCounts(in_flight=1, expired=0), rule)
    _equal(storage.requeue_expired(1e12, 5), 1, "requeue_expired() returns the expired lease")
    _equal(_counts(storage, 1e12), none, "a requeued item is not leased")
    _equal(base.queue_size(), 3, "lease_counts() changes nothing")
    base.flush_queue()


# --- SupportsScheduleTransfer ----------------------------------------------------------


def _check_schedule_transfer(storage: SupportsScheduleTransfer, base: Storage) -> None:
    prioritized = _has_priorities(base)

    def level(priority: int) -> int:
        # FIFO-only storages refuse non-zero priorities; their items all queue at 0.
        return priority if prioritized else 0

    asked: list[bytes] = []

    def priority_of(data: bytes) -> int | None:
        asked.append(data)
        return level(3)

    storage.add_to_schedule_with_priority(b"s-low", 10.0, 0)
    storage.add_to_schedule_with_priority(b"s-high", 10.0, level(5))
    base.add_to_schedule(b"s-plain", 12.0)
    storage.add_to_schedule_with_priority(b"s-negative", 14.0, level(-2))
    storage.add_to_schedule_with_priority(b"s-later", 100.0, level(9))
    schedule = [b"s-low", b"s-high", b"s-plain", b"s-negative", b"s-later"]
    _equal(
        list(base.scheduled_items()),
        schedule,
        "items scheduled with a priority are listed like others, earliest first",
    )
    _equal(list(storage.move_due(9.999, priority_of)), [], "move_due() moves nothing not due")
    _equal(base.queue_size(), 0, "move_due() of nothing due queues nothing")
    base.enqueue(b"queued-first")
    moved = list(storage.move_due(50.0, priority_of))
    _equal(moved, schedule[:4], "move_due(t) returns the items due at or before t, earliest first")
    _expect(
        set(asked) <= {b"s-plain"},
        "priority_of is only asked about items scheduled without a priority",
        f"asked about {asked!r}",
    )
    if prioritized:
        _expect(
            b"s-plain" in asked,
            "items scheduled without a priority take theirs from priority_of",
            "priority_of was never called",
        )
        queued = [b"s-high", b"s-plain", b"queued-first", b"s-low", b"s-negative"]
    else:
        queued = [b"queued-first", b"s-low", b"s-high", b"s-plain", b"s-negative"]
    _equal(list(base.scheduled_items()), [b"s-later"], "items not yet due stay in the schedule")
    rule = (
        "moved items keep their stored priority and queue behind items already waiting "
        "at the same priority, in schedule order"
    )
    _equal(list(base.enqueued_items()), queued, rule)
    _equal(list(storage.move_due(50.0, priority_of)), [], "an item is moved only once")
    _equal([base.dequeue() for _ in queued], queued, f"dequeue(): {rule}")
    _equal(list(base.read_schedule(1e12)), [b"s-later"], "read_schedule() returns the data")
    try:
        storage.add_to_schedule_with_priority(b"bad", 1.0, cast("int", "high"))
    except ValueError:
        pass
    else:
        raise AssertionError(
            "storage contract violated: add_to_schedule_with_priority() refuses a non-int "
            "priority with ValueError (it was accepted)"
        )
    _equal(base.schedule_size(), 0, "a refused priority stores nothing")


def _check_schedule_transfer_failure(storage: SupportsScheduleTransfer, base: Storage) -> None:
    if not _has_priorities(base):
        return  # FIFO-only storages queue everything at priority 0: no priority_of call
    for index in range(4):
        base.add_to_schedule(f"f{index}".encode(), 10.0 + index)

    def broken(data: bytes) -> int | None:
        if data == b"f2":
            raise LookupError("cannot decode")
        return 0

    try:
        storage.move_due(100.0, broken)
    except LookupError:
        pass
    else:
        raise AssertionError(
            "storage contract violated: an exception from priority_of propagates out of "
            "move_due() (it was swallowed)"
        )
    _equal(
        base.schedule_size() + base.queue_size(),
        4,
        "after a failed move_due() every item is in the schedule or the queue, never both",
    )
    rest = list(storage.move_due(100.0, lambda data: 0))
    _equal(base.schedule_size(), 0, "a later move_due() moves what a failed one left")
    _equal(
        sorted(base.enqueued_items()),
        [b"f0", b"f1", b"f2", b"f3"],
        "after a failed and a successful move_due() every item is queued exactly once",
    )
    _expect(
        set(rest) <= {b"f0", b"f1", b"f2", b"f3"},
        "move_due() returns the items it moved",
        f"returned {rest!r}",
    )


def _check_schedule_transfer_concurrent(storage: SupportsScheduleTransfer, base: Storage) -> None:
    items = [f"c{i}".encode() for i in range(60)]
    for index, item in enumerate(items):
        storage.add_to_schedule_with_priority(item, 1000.0 + index, 0)

    def move(_: int) -> list[bytes]:
        got: list[bytes] = []
        for step in range(30):
            got.extend(storage.move_due(1000.0 + 2 * step + 1, lambda data: 0))
        return got

    moved = [item for batch in _run_threads(4, move) for item in batch]
    _equal(sorted(moved), sorted(items), "concurrent move_due() calls move each item once")
    _equal(base.schedule_size(), 0, "concurrent move_due() empties the due schedule")
    _equal(base.queue_size(), len(items), "concurrent move_due() queues each item once")


# --- SupportsKeyedEnqueue and SupportsSettle (the two-round-trip task path) -----------


def _reserved(storage: SupportsLeases, now: float, data: bytes) -> Lease:
    lease = _given(storage.reserve(now, 10.0), "reserve() hands out a ready item", "reserve()")
    _equal(lease.data, data, "reserve() hands out the next item")
    return lease


def _check_keyed_reserve(storage: SupportsLeases, base: Storage) -> None:
    assert isinstance(storage, SupportsKeyedEnqueue)
    base.put_data("flag:a", b"A")
    storage.enqueue_keyed(b"keyed", None, ("flag:a", "flag:b"))
    base.enqueue(b"plain")
    lease = _reserved(storage, 100.0, b"keyed")
    _equal(lease.watched, (b"A", None), "reserve() returns the values of the item's keys")
    _equal(base.peek_data("flag:a"), b"A", "reserve() leaves the watched values in place")
    _equal(_reserved(storage, 100.0, b"plain").watched, None, "an unkeyed item watches nothing")
    base.put_data("flag:b", b"B")
    _equal(storage.release(lease.token), True, "release() of a keyed item")
    again = _reserved(storage, 101.0, b"keyed")
    _equal(again.watched, (b"A", b"B"), "each reservation reads the values anew")
    _equal(again.deliveries, 1, "a keyed item counts its deliveries like any other")


def _check_settle(storage: SupportsLeases, base: Storage) -> None:
    assert isinstance(storage, SupportsSettle)
    base.put_data("gone", b"x")
    base.put_data("kept", b"y")
    base.enqueue(b"job")
    first = _reserved(storage, 100.0, b"job")
    _equal(storage.requeue_expired(111.0, 5), 1, "an expired lease is requeued")
    second = _reserved(storage, 111.0, b"job")
    stale = storage.settle(first.token, ("res", b"late"), ("gone",))
    _equal(stale, False, "settle() refuses a stale token")
    _empty(base.peek_data("res"), "a refused settle() stores nothing")
    _equal(base.peek_data("gone"), b"x", "a refused settle() deletes nothing")
    current = storage.settle(second.token, ("res", b"42"), ("gone",))
    _equal(current, True, "settle() with the current token")
    _equal(base.peek_data("res"), b"42", "settle() stores the result")
    _equal(base.has_data_for_key("gone"), False, "settle() deletes the discarded keys")
    _equal(base.peek_data("kept"), b"y", "settle() leaves other keys alone")
    _equal(storage.ack(second.token), False, "settle() acknowledges the lease")
    _equal(storage.requeue_expired(1e12, 5), 0, "a settled item never comes back")
    base.enqueue(b"next")
    lease = _reserved(storage, 200.0, b"next")
    _equal(storage.settle(lease.token, None, ()), True, "settle() without a result")
    _equal((base.queue_size(), storage.requeue_expired(1e12, 5)), (0, 0), "the item is gone")


_Check = Callable[[Storage], None]
_LeaseCheck = Callable[[SupportsLeases, Storage], None]
_TransferCheck = Callable[[SupportsScheduleTransfer, Storage], None]

_BASE_CHECKS: tuple[tuple[str, _Check], ...] = (
    ("queue_fifo", _check_queue_fifo),
    ("queue_priorities", _check_queue_priorities),
    ("queue_listing", _check_queue_listing),
    ("binary_safety", _check_binary_safety),
    ("schedule", _check_schedule),
    ("schedule_concurrent_pop", _check_schedule_concurrent_pop),
    ("result_store", _check_result_store),
    ("put_if_empty", _check_put_if_empty),
    ("areas_are_separate", _check_areas_are_separate),
)
_LEASE_CHECKS: tuple[tuple[str, _LeaseCheck], ...] = (
    ("lease_basics", _check_lease_basics),
    ("lease_priorities", _check_lease_priorities),
    ("lease_expiry", _check_lease_expiry),
    ("lease_extend", _check_lease_extend),
    ("lease_release", _check_lease_release),
    ("dead_letters", _check_dead_letters),
    ("max_deliveries", _check_max_deliveries),
    ("dead_letter_listing", _check_dead_letter_listing),
    ("flush_drops_leases", _check_flush_drops_leases),
    ("concurrent_reserve", _check_concurrent_reserve),
)

_LEASE_CAPABILITY_CHECKS: tuple[tuple[str, type, _LeaseCheck], ...] = (
    ("delete_dead_letter", SupportsDeadLetterDeletion, _check_delete_dead_letter),
    ("lease_counts", SupportsLeaseCounts, _check_lease_counts),
)

_SETTLE_CHECKS: tuple[tuple[str, _LeaseCheck], ...] = (
    ("keyed_reserve", _check_keyed_reserve),
    ("settle", _check_settle),
)

SETTLE_CHECKS: tuple[str, ...] = tuple(name for name, _ in _SETTLE_CHECKS)
"""Checks :func:`check_storage` runs, after :data:`STORAGE_CHECKS`, for a leasing storage
with :class:`~huey.protocols.SupportsKeyedEnqueue` (``keyed_reserve``) and
:class:`~huey.protocols.SupportsSettle` (``settle``): both for the Redis storages,
``settle`` alone for SQLite, file and memory."""

_SETTLE_CAPABILITIES: dict[str, type] = {
    "keyed_reserve": SupportsKeyedEnqueue,
    "settle": SupportsSettle,
}

_TRANSFER_CHECKS: tuple[tuple[str, _TransferCheck], ...] = (
    ("schedule_transfer", _check_schedule_transfer),
    ("schedule_transfer_failure", _check_schedule_transfer_failure),
    ("schedule_transfer_concurrent", _check_schedule_transfer_concurrent),
)

_CAPABILITY_CHECKS: tuple[tuple[str, Callable[[object], bool], _Check], ...] = (
    (
        "compare_and_delete",
        lambda storage: isinstance(storage, SupportsCompareAndDelete),
        _check_compare_and_delete,
    ),
    ("peek_many", lambda storage: isinstance(storage, SupportsPeekMany), _check_peek_many),
    ("delete_data", lambda storage: isinstance(storage, SupportsDeleteData), _check_delete_data),
    ("flush_all", lambda storage: isinstance(storage, SupportsFlushAll), _check_flush_all),
    ("semaphores", lambda storage: isinstance(storage, SupportsSemaphores), _check_semaphores),
)

STORAGE_CHECKS: tuple[str, ...] = (
    *(name for name, _ in _BASE_CHECKS),
    "counters",
    "expiring_keys",
    *(name for name, _, _ in _CAPABILITY_CHECKS),
    *(name for name, _ in _LEASE_CHECKS),
    *(name for name, _, _ in _LEASE_CAPABILITY_CHECKS),
    *(name for name, _ in _TRANSFER_CHECKS),
)
"""The names of every check :func:`check_storage` knows, in the order it runs them."""


def check_storage(make_storage: Callable[[], Storage]) -> Sequence[str]:
    """Run the storage contract against storages built by ``make_storage``.

    Each check calls ``make_storage()`` once and must get a new, empty storage (for
    example a new queue name or a new file each time). Checks for a capability
    (:class:`~huey.protocols.SupportsCounters`,
    :class:`~huey.protocols.SupportsExpiringKeys`,
    :class:`~huey.protocols.SupportsCompareAndDelete`,
    :class:`~huey.protocols.SupportsPeekMany`,
    :class:`~huey.protocols.SupportsDeleteData`,
    :class:`~huey.protocols.SupportsFlushAll`,
    :class:`~huey.protocols.SupportsSemaphores`,
    :class:`~huey.protocols.SupportsLeases`, and with leases
    :class:`~huey.protocols.SupportsDeadLetterDeletion` and
    :class:`~huey.protocols.SupportsLeaseCounts`,
    :class:`~huey.protocols.SupportsScheduleTransfer`) run when the storage implements it;
    so do :data:`SETTLE_CHECKS` for a leasing storage with
    :class:`~huey.protocols.SupportsKeyedEnqueue` or :class:`~huey.protocols.SupportsSettle`
    (each check for its capability).
    Storages implementing :class:`~huey.protocols.SupportsClose` are closed after each
    check. Times passed to lease methods are explicit (no sleeping), except in the
    expiring-keys and semaphore checks, which wait about 0.1 s each because
    ``put_if_empty_ttl`` and semaphore timeouts read the storage's own clock.

    Args:
        make_storage: returns a fresh, empty storage on every call.

    Returns:
        The names of the checks that ran (see :data:`STORAGE_CHECKS`).

    Raises:
        AssertionError: on the first rule the storage breaks, with a short message naming
            the check, the rule and what differed (a long listing is summarised by its
            size and first items). Other exceptions raised by the storage propagate,
            with a note naming the check.
    """
    ran: list[str] = []

    def run(name: str, check: Callable[[Storage], None]) -> None:
        storage = make_storage()
        try:
            empty = (storage.queue_size(), storage.schedule_size(), storage.result_store_size())
            _equal(empty, (0, 0, 0), "make_storage() returns an empty storage")
            check(storage)
        except AssertionError as exc:
            raise AssertionError(f"[{name}] {_assertion_text(exc)}") from None
        except Exception as exc:
            exc.add_note(f"raised by the storage during check_storage's [{name}] check")
            raise
        finally:
            if isinstance(storage, SupportsClose):
                storage.close()
        ran.append(name)

    for name, base_check in _BASE_CHECKS:
        run(name, base_check)
    probe = make_storage()
    has_counters = isinstance(probe, SupportsCounters)
    has_ttl = isinstance(probe, SupportsExpiringKeys)
    has_leases = isinstance(probe, SupportsLeases)
    has_transfer = isinstance(probe, SupportsScheduleTransfer)
    settle_checks = [
        (name, check)
        for name, check in _SETTLE_CHECKS
        if isinstance(probe, _SETTLE_CAPABILITIES[name])
    ]
    capability_checks = [(name, check) for name, has, check in _CAPABILITY_CHECKS if has(probe)]
    if isinstance(probe, SupportsClose):
        probe.close()
    if has_counters:

        def counters(storage: Storage) -> None:
            _same_kind(isinstance(storage, SupportsCounters), storage, "SupportsCounters")
            assert isinstance(storage, SupportsCounters)
            _check_counters(storage, storage)

        run("counters", counters)
    if has_ttl:

        def expiring_keys(storage: Storage) -> None:
            _same_kind(isinstance(storage, SupportsExpiringKeys), storage, "SupportsExpiringKeys")
            assert isinstance(storage, SupportsExpiringKeys)
            _check_expiring_keys(storage, storage)

        run("expiring_keys", expiring_keys)
    for name, capability_check in capability_checks:
        run(name, capability_check)
    if has_leases:
        for name, lease_check in _LEASE_CHECKS:

            def leases(storage: Storage, check: _LeaseCheck = lease_check) -> None:
                _same_kind(isinstance(storage, SupportsLeases), storage, "SupportsLeases")
                assert isinstance(storage, SupportsLeases)
                check(storage, storage)

            run(name, leases)
        for name, capability, lease_capability_check in _LEASE_CAPABILITY_CHECKS:
            if not isinstance(probe, capability):
                continue

            def addition(
                storage: Storage,
                check: _LeaseCheck = lease_capability_check,
                capability: type = capability,
            ) -> None:
                has_it = isinstance(storage, SupportsLeases) and isinstance(storage, capability)
                _same_kind(has_it, storage, capability.__name__)
                assert isinstance(storage, SupportsLeases)
                check(storage, storage)

            run(name, addition)
    if has_transfer:
        for name, transfer_check in _TRANSFER_CHECKS:

            def transfer(storage: Storage, check: _TransferCheck = transfer_check) -> None:
                has_it = isinstance(storage, SupportsScheduleTransfer)
                _same_kind(has_it, storage, "SupportsScheduleTransfer")
                assert isinstance(storage, SupportsScheduleTransfer)
                check(storage, storage)

            run(name, transfer)
    if has_leases:
        for name, settle_check in settle_checks:

            def settles(
                storage: Storage, check: _LeaseCheck = settle_check, name: str = name
            ) -> None:
                capability = _SETTLE_CAPABILITIES[name]
                _same_kind(isinstance(storage, capability), storage, capability.__name__)
                assert isinstance(storage, SupportsLeases)
                check(storage, storage)

            run(name, settles)
    return tuple(ran)


def _assertion_text(exc: AssertionError) -> str:
    """The message of a failed check: short, and never empty."""
    text = str(exc)
    if text.startswith(_VIOLATION):
        return text
    # Some other assert failed (the storage's own, most likely): say where.
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else ""
    if not text:
        return f"an assert without a message failed{where}"
    if len(text) > _LONG_DETAIL:
        text = f"{text[: _LONG_DETAIL - 5]} ..."
    return f"an assert failed{where}: {text}"


def _same_kind(has_it: bool, storage: Storage, capability: str) -> None:
    _expect(
        has_it,
        "make_storage() returns storages of one kind",
        f"{type(storage).__name__} lacks {capability}",
    )
