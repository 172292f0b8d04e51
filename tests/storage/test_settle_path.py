"""The two-round-trip task path, on a test storage offering keyed enqueue and settle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import pytest
from typing_extensions import override

from huey import Huey
from huey import _delivery as delivery
from huey.constants import EmptyData, EmptyDataType
from huey.exceptions import TaskException
from huey.protocols import Lease, SupportsKeyedEnqueue, SupportsSettle
from huey.storage import MemoryStorage
from huey.testing import MockClock


class SettlingStorage(MemoryStorage):
    """A MemoryStorage with keyed enqueue and settle; counts key/value reads and writes."""

    def __init__(self) -> None:
        super().__init__("settling")
        self.keys_of: dict[bytes, tuple[str, ...]] = {}
        self.kv_calls: list[str] = []
        self.settles: list[tuple[tuple[str, bytes] | None, tuple[str, ...]]] = []

    def enqueue_keyed(self, data: bytes, priority: int | None, keys: Sequence[str], /) -> None:
        """Remember the item's keys, then enqueue it."""
        self.keys_of[data] = tuple(keys)
        self.enqueue(data, priority)

    @override
    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        """Reserve, with the values of a keyed item's keys."""
        lease = super().reserve(now, lease_seconds)
        if lease is None or lease.data not in self.keys_of:
            return lease
        values = tuple(self._value(key) for key in self.keys_of[lease.data])
        return replace(lease, watched=values)

    def _value(self, key: str) -> bytes | None:
        value = super().peek_data(key)
        return None if value is EmptyData else value

    @override
    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        """Acknowledge; when current, store the result and drop the keys."""
        if not super().ack(token):
            return False
        self.settles.append((result, tuple(discard)))
        for key in discard:
            super().pop_data(key)
        if result is not None:
            super().put_data(*result)
        return True

    @override
    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """Count the read."""
        self.kv_calls.append(f"peek {key}")
        return super().peek_data(key)

    @override
    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """Count the read."""
        self.kv_calls.append(f"pop {key}")
        return super().pop_data(key)


@pytest.fixture
def storage() -> SettlingStorage:
    """A fresh settling storage."""
    return SettlingStorage()


@pytest.fixture
def huey(storage: SettlingStorage) -> Huey[Literal[True]]:
    """A Huey on the settling storage."""
    return Huey("settle", storage=storage, clock=MockClock())


def test_storage_offers_both_capabilities(storage: SettlingStorage) -> None:
    """The test storage is recognised as keyed and settling."""
    assert isinstance(storage, SupportsKeyedEnqueue)
    assert isinstance(storage, SupportsSettle)


def test_task_settles_without_separate_reads(
    huey: Huey[Literal[True]], storage: SettlingStorage
) -> None:
    """Flags come with the lease; result, flag removal and ack are one settle."""

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 3)
    assert storage.keys_of[huey.serialize_task(result.task)] == (f"r:{result.id}", f"rt:{add.name}")
    assert delivery.process_next(huey).status == "completed"
    assert storage.kv_calls == []
    assert len(storage.settles) == 1
    stored, discard = storage.settles[0]
    assert stored is not None
    assert stored[0] == result.id
    assert discard == (f"r:{result.id}",)
    assert result.get() == 5


def test_revoke_once_is_consumed(huey: Huey[Literal[True]], storage: SettlingStorage) -> None:
    """A revoke_once flag read by reserve drops the task once and is removed."""
    ran: list[int] = []

    @huey.task()
    def record(n: int) -> None:
        ran.append(n)

    first = record(1)
    huey.revoke_by_id(first.id, revoke_once=True)
    record(2)
    assert delivery.process_next(huey).status == "completed"
    assert storage.kv_calls == [f"pop r:{first.id}"]
    assert delivery.process_next(huey).status == "completed"
    assert ran == [2]
    assert not huey.is_revoked(first.id)


def test_failed_pipeline_stores_every_stage_error(huey: Huey[Literal[True]]) -> None:
    """A failing first stage records errors for it and every later stage."""

    @huey.task()
    def boom(x: int) -> int:
        raise ValueError(f"no {x}")

    @huey.task()
    def inc(x: int) -> int:
        return x + 1

    group = huey.enqueue(boom.s(1).then(inc).then(inc))
    assert delivery.process_next(huey).status == "completed"
    for result in group:
        with pytest.raises(TaskException):
            result.get()


def test_interrupted_task_is_released_and_its_writes_applied(
    huey: Huey[Literal[True]], storage: SettlingStorage
) -> None:
    """An interrupted task is released, not settled; its flag is removed as before."""

    @huey.task()
    def stop() -> None:
        raise KeyboardInterrupt

    result = stop()
    report = delivery.process_next(huey)
    assert report.status == "released"
    assert storage.settles == []
    assert storage.kv_calls == [f"pop r:{result.id}"]
    assert storage.queue_size() == 1


def test_execute_uses_given_revocation_flags(
    huey: Huey[Literal[True]], storage: SettlingStorage
) -> None:
    """execute(revocations=...) decides from the given flags without reading them."""
    ran: list[int] = []

    @huey.task()
    def record(n: int) -> None:
        ran.append(n)

    huey.revoke_by_id("elsewhere")  # a real flag, to compare its wire form
    stored = storage.peek_data("r:elsewhere")
    assert isinstance(stored, bytes)
    storage.kv_calls.clear()
    huey.execute(record.s(1), revocations=(stored, None))
    assert ran == []
    huey.execute(record.s(2), revocations=(None, None))
    assert ran == [2]
    assert all(not call.startswith("peek") for call in storage.kv_calls)
    with pytest.raises(ValueError, match="2 flags"):
        huey.execute(record.s(3), revocations=(None,))
