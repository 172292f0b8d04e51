"""The leased task path on Redis costs two round trips: reserve, then one atomic settle."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from huey import Huey, Task
from huey import _delivery as delivery
from huey.constants import EmptyData
from huey.protocols import SupportsKeyedEnqueue, SupportsSettle
from huey.storage.redis import (
    PriorityRedisStorage,
    RedisStorage,
)
from huey.testing import MockClock

from .conftest import ALL_STORAGES, StorageFactory

pytestmark = pytest.mark.redis

ALL = ALL_STORAGES


class CountingClient:
    """Wraps the storage's redis client and counts its requests (each one round trip).

    The storages send every request through ``execute_command`` and use no pipelines,
    so the count is the number of round trips (a script reloaded after NOSCRIPT counts
    its SCRIPT LOAD and retry too).
    """

    sent = 0

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def execute_command(self, *args: str | bytes | int | float) -> object:
        """Count, then send."""
        CountingClient.sent += 1
        reply: object = self.inner.execute_command(*args)
        return reply

    def close(self) -> None:
        """Close the wrapped client."""
        self.inner.close()


def _counting_huey(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> tuple[Huey[Literal[True]], RedisStorage]:
    storage = make_storage(cls, blocking=False)
    inner: object = storage._client  # pyright: ignore[reportPrivateUsage]  # counting needs the client
    storage._client = CountingClient(inner)  # pyright: ignore[reportPrivateUsage]  # counting needs the client
    return Huey("round-trips", storage=storage, clock=MockClock()), storage


def _sent() -> int:
    return CountingClient.sent


@pytest.mark.parametrize("cls", ALL)
def test_leased_task_costs_two_round_trips(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """With results on, each leased task costs one reserve and one settle round trip."""
    huey, storage = _counting_huey(cls, make_storage)
    assert isinstance(storage, SupportsKeyedEnqueue)
    assert isinstance(storage, SupportsSettle)

    @huey.task()
    def double(n: int) -> int:
        return 2 * n

    warm = double(0)  # loads the scripts and opens the connection
    assert delivery.process_next(huey).status == "completed"
    assert warm.get() == 0
    results = [double(n) for n in range(1, 6)]
    before = _sent()
    reports = [delivery.process_next(huey) for _ in results]
    spent = _sent() - before
    assert [report.status for report in reports] == ["completed"] * 5
    assert spent == 2 * len(results)
    assert [result.get() for result in results] == [2, 4, 6, 8, 10]
    assert storage.leased_count() == 0
    assert storage.queue_size() == 0


@pytest.mark.parametrize("cls", ALL)
def test_revoked_tasks_are_dropped_on_the_fast_path(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """Flags read by reserve drop revoked tasks; a revoke_once flag is consumed."""
    huey, storage = _counting_huey(cls, make_storage)
    ran: list[int] = []

    @huey.task()
    def record(n: int) -> int:
        ran.append(n)
        return n

    once = record(1)
    once.revoke(revoke_once=True)
    kept = record(2)
    assert delivery.process_next(huey).status == "completed"
    assert delivery.process_next(huey).status == "completed"
    assert ran == [2]
    assert not huey.is_revoked(once.task)  # the one-shot flag was consumed
    assert kept.get() == 2
    record.revoke()
    blocked = record(3)
    assert delivery.process_next(huey).status == "completed"
    assert ran == [2]
    assert huey.is_revoked(blocked.task)  # a task-wide flag stays
    record.restore()
    record(4)
    assert delivery.process_next(huey).status == "completed"
    assert ran == [2, 4]
    assert storage.leased_count() == 0


@pytest.mark.parametrize("cls", ALL)
def test_settle_clears_a_flag_set_while_running(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """A revocation made while the task runs is removed by the settle, as before."""
    huey, _ = _counting_huey(cls, make_storage)

    @huey.task(context=True)
    def self_revoking(task: Task[str] | None = None) -> str:
        assert task is not None
        huey.revoke_by_id(task.id)
        return "done"

    result = self_revoking()
    assert delivery.process_next(huey).status == "completed"
    assert result.get() == "done"
    assert not huey.is_revoked(result.id)


@pytest.mark.parametrize("cls", ALL)
def test_stale_settle_stores_nothing(cls: type[RedisStorage], make_storage: StorageFactory) -> None:
    """A worker whose lease expired cannot settle; the new holder records the result."""
    huey, storage = _counting_huey(cls, make_storage)
    clock = huey.clock
    assert isinstance(clock, MockClock)

    @huey.task()
    def echo(n: int) -> int:
        return n

    result = echo(5)
    late = delivery.receive(huey)
    assert isinstance(late, delivery.Received)
    clock.advance(huey.lease_timeout + 1)
    assert delivery.requeue_expired(huey) == 1
    current = delivery.receive(huey)
    assert isinstance(current, delivery.Received)
    assert delivery.run_received(huey, late).status == "stale"
    assert storage.peek_data(result.id) is EmptyData
    assert delivery.run_received(huey, current).status == "completed"
    assert result.get() == 5
    assert storage.leased_count() == 0


@pytest.mark.parametrize("cls", [RedisStorage, PriorityRedisStorage])
def test_worker_path_costs_one_round_trip_per_task(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """Settling a task leases the next one in the same script: one round trip a task."""
    huey, storage = _counting_huey(cls, make_storage)
    # Load both scripts first (a script's first call also costs NOSCRIPT and SCRIPT LOAD).
    assert storage.reserve(0.0, 1.0) is None
    assert storage.settle_and_reserve("none", None, (), 0.0, 1.0) == (False, None)

    @huey.task()
    def double(n: int) -> int:
        return 2 * n

    results = [double(n) for n in range(5)]
    before = _sent()
    received = delivery.receive(huey)
    ran = 0
    while isinstance(received, delivery.Received):
        report = delivery.run_received(huey, received, reserve_next=True)
        assert report.status == "completed"
        ran += 1
        if report.next_lease is None:
            break
        received = delivery.receive(huey, lease=report.next_lease)
    assert ran == 5
    assert _sent() - before == 1 + 5  # the first reserve, then one settle-and-reserve a task
    assert [result.get() for result in results] == [0, 2, 4, 6, 8]
