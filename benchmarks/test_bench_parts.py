"""Micro-benchmarks of this project's parts: wire format, core decisions, crontab, storages.

Run with ``make bench-micro``. Unlike ``test_bench_core.py`` these measure this project
only (the original has no such parts to compare): they keep the cost of each step of a
task's life visible, so a change that slows one shows up here first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from huey import Huey, MemoryHuey, Task, _core, crontab
from huey._core import Success
from huey.protocols import Storage, SupportsLeases
from huey.storage import FileStorage, MemoryStorage, SqliteStorage

NOW = 1_700_000_000.0


@pytest.fixture
def app() -> Huey:
    """An in-memory application with one ``add`` task."""
    huey = MemoryHuey("parts")

    @huey.task(name="add")
    def add(a: int, b: int) -> int:
        return a + b

    return huey


def _one_task(app: Huey) -> Task[Any]:
    entry = app.engine.registry.get("add")
    assert entry is not None
    return app.engine.enqueuer.build(entry.settings, (1, 2), {}, {})


def _time(benchmark: BenchmarkFixture, run: Callable[[], object]) -> object:
    """Time ``run`` with pytest-benchmark (which leaves its call unannotated)."""
    timer = cast("Callable[[Callable[[], object]], object]", benchmark)
    return timer(run)


@pytest.mark.benchmark(group="parts: wire format")
def test_encode_task(benchmark: BenchmarkFixture, app: Huey) -> None:
    """Encoding one task message."""
    task = _one_task(app)
    assert _time(benchmark, lambda: app.engine.codec.encode_task(task))


@pytest.mark.benchmark(group="parts: wire format")
def test_decode_task(benchmark: BenchmarkFixture, app: Huey) -> None:
    """Decoding (and validating) one task message."""
    data = app.engine.codec.encode_task(_one_task(app))
    decoded = _time(benchmark, lambda: app.engine.decode_task(data))
    assert isinstance(decoded, Task)


@pytest.mark.benchmark(group="parts: core")
def test_decide(benchmark: BenchmarkFixture, app: Huey) -> None:
    """The core's decision whether to run a task now."""
    task = _one_task(app)
    decision = _time(benchmark, lambda: _core.decide(task, NOW, revoked=False))
    assert isinstance(decision, _core.Run)


@pytest.mark.benchmark(group="parts: core")
def test_settle(benchmark: BenchmarkFixture, app: Huey) -> None:
    """The core's effects of a successful run (store the result, emit, post-execute)."""
    task = _one_task(app)

    def settle() -> object:
        return _core.settle(task, Success(3), NOW, store_results=True, store_none=False)

    assert _time(benchmark, settle)


@pytest.mark.benchmark(group="parts: crontab")
def test_crontab_match(benchmark: BenchmarkFixture) -> None:
    """Matching one minute against a crontab with lists, ranges and steps."""
    schedule = crontab(minute="*/5,7", hour="8-18", day_of_week="1-5")
    moment = datetime(2024, 5, 6, 9, 10, tzinfo=UTC)
    assert _time(benchmark, lambda: schedule(moment)) is True


def _storages(tmp_path: Path) -> Iterator[tuple[str, Storage]]:
    yield "memory", MemoryStorage("parts")
    yield "sqlite", SqliteStorage("parts", filename=tmp_path / "parts.db")
    yield "file", FileStorage("parts", path=tmp_path / "files")


@pytest.fixture(params=["memory", "sqlite", "file"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each local storage, empty."""
    return dict(_storages(tmp_path))[str(request.param)]


def _round(benchmark: BenchmarkFixture, run: Callable[[], object]) -> None:
    pedantic = cast("Callable[..., object]", getattr(benchmark, "pedantic"))  # noqa: B009  # unannotated in pytest-benchmark
    pedantic(run, rounds=10, warmup_rounds=1)


@pytest.mark.benchmark(group="parts: storage enqueue + dequeue 200")
def test_storage_enqueue_dequeue(benchmark: BenchmarkFixture, storage: Storage) -> None:
    """200 enqueues then 200 dequeues of a 200-byte message."""
    payload = b"x" * 200

    def run() -> None:
        for _ in range(200):
            storage.enqueue(payload)
        for _ in range(200):
            assert storage.dequeue() == payload

    _round(benchmark, run)


@pytest.mark.benchmark(group="parts: storage reserve + ack 200")
def test_storage_reserve_ack(benchmark: BenchmarkFixture, storage: Storage) -> None:
    """200 enqueues then 200 leases, each acknowledged (the at-least-once path)."""
    if not isinstance(storage, SupportsLeases):
        pytest.skip(f"{type(storage).__name__} has no leases")
    leases = storage
    payload = b"x" * 200

    def run() -> None:
        for _ in range(200):
            leases.enqueue(payload)
        for _ in range(200):
            lease = leases.reserve(NOW, 30.0)
            assert lease is not None
            assert leases.ack(lease.token)

    _round(benchmark, run)
