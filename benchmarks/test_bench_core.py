"""Core throughput on the in-memory queue: enqueue, and enqueue then execute.

Run with ``make bench``. Each workload runs against this huey and, when it can be
imported as ``huey_original`` (see ``conftest.py`` and ``README.md``), against the
original huey too; both land in the same benchmark group, so pytest-benchmark's table
shows them side by side with their ratio to the fastest.

The workloads use only the documented API both implementations share (``MemoryHuey``,
``@huey.task()``, calling a task, ``Task.then``, ``enqueue``, ``dequeue``, ``execute``,
``flush``), so they measure the same work.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol, cast

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

BATCH = 1000
"""Tasks per benchmark round."""

PIPELINES = 200
"""Three-stage pipelines per round of the pipeline benchmark."""

IMPLEMENTATIONS = ("huey", "huey_original")


class Workload:
    """One implementation's queue with an ``add`` task registered.

    The implementation is used through ``Any``: the original huey has no type
    information, and the same code must drive both.

    Args:
        module_name: ``huey`` or ``huey_original``.
    """

    def __init__(self, module_name: str) -> None:
        module: Any = importlib.import_module(module_name)
        self.huey: Any = module.MemoryHuey(f"bench-{module_name}")

        def add(a: int, b: int) -> int:
            return a + b

        self.add: Any = self.huey.task(name="add")(add)

    def reset(self) -> None:
        """Empty the queue, the schedule and the result store."""
        self.huey.flush()

    def enqueue(self, count: int) -> None:
        """Enqueue ``count`` calls of ``add``."""
        add = self.add
        for i in range(count):
            add(i, i)

    def enqueue_pipelines(self, count: int) -> None:
        """Enqueue ``count`` pipelines of three ``add`` stages."""
        huey, add = self.huey, self.add
        for i in range(count):
            huey.enqueue(add.s(i, i).then(add, b=1).then(add, b=2))

    def drain(self) -> int:
        """Execute queued tasks until the queue is empty; return how many ran."""
        huey = self.huey
        executed = 0
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
            executed += 1
        return executed


@pytest.fixture(params=IMPLEMENTATIONS)
def workload(request: pytest.FixtureRequest) -> Workload:
    """A fresh workload for each implementation; the original is skipped if absent."""
    name: str = request.param
    if name == "huey_original":
        pytest.importorskip(
            "huey_original", reason="set HUEY_ORIGINAL_PATH to compare (benchmarks/README.md)"
        )
    return Workload(name)


class _Pedantic(Protocol):
    """The typed shape of ``BenchmarkFixture.pedantic`` (pytest-benchmark leaves it unannotated)."""

    def pedantic(
        self,
        target: Callable[[], object],
        *,
        setup: Callable[[], object],
        rounds: int,
        warmup_rounds: int,
    ) -> object: ...


def _rounds(benchmark: BenchmarkFixture, workload: Workload, run: Callable[[], object]) -> None:
    # Start every round from an empty queue, so rounds measure the same work.
    timer = cast(_Pedantic, benchmark)
    timer.pedantic(run, setup=workload.reset, rounds=15, warmup_rounds=1)


@pytest.mark.benchmark(group="enqueue 1000 tasks")
def test_enqueue(benchmark: BenchmarkFixture, workload: Workload) -> None:
    """Enqueueing 1000 task calls leaves 1000 messages in the queue."""
    _rounds(benchmark, workload, lambda: workload.enqueue(BATCH))
    assert len(workload.huey) == BATCH


@pytest.mark.benchmark(group="enqueue + execute 1000 tasks")
def test_enqueue_and_execute(benchmark: BenchmarkFixture, workload: Workload) -> None:
    """Enqueueing then executing 1000 tasks runs each one and empties the queue."""

    def run() -> int:
        workload.enqueue(BATCH)
        return workload.drain()

    _rounds(benchmark, workload, run)
    assert len(workload.huey) == 0


@pytest.mark.benchmark(group="200 three-stage pipelines")
def test_pipelines(benchmark: BenchmarkFixture, workload: Workload) -> None:
    """Enqueueing and executing 200 three-stage pipelines runs 600 tasks."""
    executed: list[int] = []

    def run() -> None:
        workload.enqueue_pipelines(PIPELINES)
        executed.append(workload.drain())

    _rounds(benchmark, workload, run)
    assert executed[-1] == 3 * PIPELINES
