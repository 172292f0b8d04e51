"""Shared fixtures: a controllable clock (the public ``huey.testing.MockClock``) and a
``MemoryHuey`` driven by it.

Other test modules may append fixtures here; keep each one small and documented.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from huey import MemoryHuey
from huey.testing import MockClock

__all__ = ("START", "MockClock")

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
