"""Rate limits over the storage's atomic counters (layer 2, on the engine's storage).

A :class:`RateLimit` admits at most ``limit`` calls per fixed window of ``per`` seconds,
counted across every process sharing the storage. Windows are aligned to the epoch:
window ``w`` covers ``[w * per, (w + 1) * per)``.

Why it is atomic. Each window has a counter of its own, named after the window
(``<app>.rl.<name>.<w>``), and a call is admitted when the storage's atomic ``incr``
returns a count of at most ``limit``. Nothing is reset when a window ends: the next
window starts a fresh counter. So no two callers can both see "the window changed" and
reset the count in between each other's increments (the original huey stored the
window and the count under two keys and admitted that race).

How old counters go. The first caller of a window (the one whose ``incr`` returned 1)
reads the window marker ``<app>.rl.<name>.w`` of the key/value store, which names the
last window that had a counter, deletes that window's counter and writes its own
window there. Windows with no calls leave no counter, so nothing else accumulates. A
caller that read the clock just before a window ended and incremented after the next
window's first caller cleaned up can leave one counter behind; it is never read again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Protocol, Self

from typing_extensions import ParamSpec, TypeVar

from ._engine import HasEngine, Ports
from ._lock import guarded
from ._timeutil import delay_to_seconds
from .constants import EmptyData
from .exceptions import ConfigurationError, RateLimitExceeded
from .protocols import Storage, SupportsCounters

__all__ = ("RateLimit",)

P = ParamSpec("P")
R = TypeVar("R")


class _CountingStorage(Storage, SupportsCounters, Protocol):
    """A storage with atomic counters: what a rate limit needs."""


class RateLimit:
    """At most ``limit`` calls per ``per`` seconds; a decorator or a context manager.

    Get one from :meth:`huey.Huey.rate_limit`. Each entry (each call of a decorated
    function, each ``with`` block) counts one call of the current window. A call over
    the limit raises :class:`~huey.exceptions.RateLimitExceeded` instead of running: a
    task refused this way is rescheduled for the start of the next window without
    using up one of its retries (``retry=True``), or fails (``retry=False``; it is
    still retried if it has retries left, and that uses one up).

    Args:
        huey: the application whose storage keeps the counts.
        name: the rate limit's name: every ``RateLimit`` of the application with this
            name shares the count.
        limit: calls admitted per window, at least 1.
        per: the window's length in seconds (or a ``timedelta``).
        retry: whether a refused task is rescheduled without using a retry.

    Raises:
        ConfigurationError: the storage has no atomic counters
            (:class:`~huey.protocols.SupportsCounters`).
        TypeError: ``name`` is not a ``str``, ``limit`` not an ``int``, ``per`` not a
            number of seconds or a ``timedelta``, ``retry`` not a ``bool``.
        ValueError: ``name`` is empty, ``limit`` is below 1, ``per`` is not positive.
    """

    def __init__(
        self,
        huey: HasEngine,
        name: str,
        limit: int,
        per: float | timedelta,
        retry: bool = True,
    ) -> None:
        name = _check_name(name)
        limit = _check_limit(name, limit)
        seconds = _check_per(name, per)
        retry = _check_retry(name, retry)
        engine = huey.engine
        self._ports: Ports = engine.ports
        self.name: str = name
        self.limit: int = limit
        self.per: float = seconds
        self.retry: bool = retry
        self.key: str = f"{engine.settings.name}.rl.{name}"
        """Prefix of the counters' keys: ``<key>.<window>``; ``<key>.w`` is the marker."""
        self._counters()  # refuse a storage without counters now, not at the first call

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Wrap ``fn`` so that each call counts against the limit.

        Raises:
            ConfigurationError: ``fn`` is already a task: the limit would count the
                enqueues, not the runs; put the rate limit below ``@huey.task()``.
        """
        return guarded(self, fn, f"rate_limit({self.name!r})")

    def acquire(self) -> None:
        """Count one call of the current window.

        Raises:
            RateLimitExceeded: the window's ``limit`` is used up; ``delay`` is the time
                until the next window starts.
            ConfigurationError: the storage in use has no atomic counters.
        """
        storage = self._counters()
        now = self._ports.clock.time()
        window = self._window(now)
        count = storage.incr(self._counter_key(window), 1)
        if count <= 1:
            self._roll_over(storage, window)
        if count > self.limit:
            delay = max((window + 1) * self.per - now, 0.0)
            raise RateLimitExceeded(self.name, delay, self.retry)

    def current_usage(self) -> int:
        """How many calls the current window admitted so far (at most ``limit``)."""
        storage = self._counters()
        window = self._window(self._ports.clock.time())
        count = storage.incr(self._counter_key(window), 0)
        if count == 0:
            # The read created the counter: clean up like a first caller would.
            self._roll_over(storage, window)
        return min(count, self.limit)

    def reset(self) -> None:
        """Forget the current window's count: ``limit`` more calls are admitted."""
        storage = self._counters()
        window = self._window(self._ports.clock.time())
        storage.delete_counter(self._counter_key(window))
        last = self._last_window(storage)
        if last is not None and last != window:
            storage.delete_counter(self._counter_key(last))
        storage.pop_data(self._marker_key)

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    # --- internals ---------------------------------------------------------------------

    @property
    def _marker_key(self) -> str:
        return f"{self.key}.w"

    def _counter_key(self, window: int) -> str:
        return f"{self.key}.{window}"

    def _window(self, now: float) -> int:
        return math.floor(now / self.per)

    def _counters(self) -> _CountingStorage:
        # The storage in use may change (immediate mode swaps in a memory storage).
        storage = self._ports.storage
        if not isinstance(storage, SupportsCounters):
            raise ConfigurationError(
                f"rate_limit({self.name!r}) needs a storage with atomic counters "
                f"(SupportsCounters); {type(storage).__name__} lacks it"
            )
        return storage

    def _last_window(self, storage: _CountingStorage) -> int | None:
        raw = storage.peek_data(self._marker_key)
        if raw is EmptyData:
            return None
        try:
            return int(raw)
        except ValueError:
            return None

    def _roll_over(self, storage: _CountingStorage, window: int) -> None:
        """Record ``window`` as the latest and delete the previous window's counter."""
        last = self._last_window(storage)
        if last is not None and last >= window:
            return  # already recorded, or this caller is late for its window
        storage.put_data(self._marker_key, str(window).encode("ascii"))
        if last is not None:
            storage.delete_counter(self._counter_key(last))


def _check_name(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"rate_limit name must be a str, got {value!r}")
    if not value:
        raise ValueError("rate_limit name must not be empty")
    return value


def _check_limit(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"rate_limit({name!r}) limit must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"rate_limit({name!r}) limit must be at least 1, got {value!r}")
    return value


def _check_per(name: str, value: object) -> float:
    seconds = delay_to_seconds(value, what=f"rate_limit({name!r}) per")
    if seconds <= 0:
        raise ValueError(f"rate_limit({name!r}) per must be more than 0 seconds, got {value!r}")
    return seconds


def _check_retry(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"rate_limit({name!r}) retry must be a bool, got {value!r}")
    return value
