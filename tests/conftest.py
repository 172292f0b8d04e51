"""Shared fixtures: a controllable clock (the public ``huey.testing.MockClock``) and a
``MemoryHuey`` driven by it.

Other test modules may append fixtures here; keep each one small and documented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from huey import MemoryHuey
from huey.protocols import Storage
from huey.storage import FileStorage, MemoryStorage, SqliteStorage
from huey.testing import MockClock

__all__ = ("LOCAL_STORAGES", "START", "MockClock")

LOCAL_STORAGES: dict[str, Callable[[Path], Storage]] = {
    "memory": lambda _: MemoryStorage("q"),
    "sqlite": lambda path: SqliteStorage("q", path / "q.db"),
    "file": lambda path: FileStorage("q", path / "files"),
}
"""The bundled storages that need no server, each made fresh in a temporary folder."""

START = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC: where every :class:`MockClock` starts by default."""


@pytest.fixture
def clock() -> MockClock:
    """A fresh :class:`MockClock` at :data:`START`."""
    return MockClock()


@pytest.fixture
def huey(clock: MockClock) -> Iterator[MemoryHuey]:
    """A ``MemoryHuey`` using the ``clock`` fixture, flushed afterwards."""
    instance = MemoryHuey("test-huey", clock=clock)
    yield instance
    instance.flush()


@pytest.fixture(params=sorted(LOCAL_STORAGES))
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each bundled storage that needs no server (memory, SQLite, file), fresh."""
    make: Callable[[Path], Storage] = LOCAL_STORAGES[request.param]
    return make(tmp_path)
