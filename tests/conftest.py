"""Shared fixtures: a controllable clock and a ``MemoryHuey`` driven by it.

Other test modules may append fixtures here; keep each one small and documented.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from huey import MemoryHuey

__all__ = ("START", "MockClock")

START = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC: where every :class:`MockClock` starts by default."""


class MockClock:
    """A fake :class:`huey.protocols.Clock`: time only moves when told to.

    ``sleep(s)`` does not block; it advances both the wall clock and the monotonic
    clock by ``s``, so code that polls with sleeps finishes instantly and
    deterministically.

    Args:
        start: the initial wall-clock time (UTC epoch seconds).
    """

    def __init__(self, start: float = START) -> None:
        self.now = start
        self.mono = 0.0
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
