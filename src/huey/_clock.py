"""The system clock: the only place huey reads the time or sleeps (I/O shell)."""

from __future__ import annotations

import time

__all__ = ("SystemClock",)


class SystemClock:
    """Satisfies :class:`huey.protocols.Clock` with the real clocks."""

    def time(self) -> float:
        """Wall-clock time, UTC epoch seconds."""
        return time.time()

    def monotonic(self) -> float:
        """Monotonic seconds."""
        return time.monotonic()

    def sleep(self, seconds: float, /) -> None:
        """Block for ``seconds``."""
        time.sleep(seconds)
