"""Counting semaphores: let at most N runs of some work happen at once (huey 3.x helpers).

:func:`lock_task_semaphore` is :meth:`huey.Huey.lock_task` with ``value`` slots instead
of one::

    from huey.contrib.helpers import lock_task_semaphore

    @huey.task(retries=3, retry_delay=30)
    @lock_task_semaphore(huey, "crawler", value=3)   # at most 3 crawls at once
    def crawl(url: str) -> None:
        ...

:class:`RedisSemaphore` is the semaphore itself, for code that acquires and releases
slots by hand. Despite its name (kept from huey 3.x), it works on every storage with
:class:`~huey.protocols.SupportsSemaphores`: the Redis storages (each operation one Lua
script), SQLite, the file storage and the in-memory one.

A holder's slot expires ``timeout`` seconds after it was taken or last renewed, so a
worker killed while holding one frees it by itself. :func:`lock_task_semaphore` renews
its slot from a background thread while the guarded code runs, so a long run keeps it.

.. versionadded:: 3.6
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from typing_extensions import ParamSpec, TypeVar

from .._lock import HeldTokens, guarded, lock_key, new_token
from ..exceptions import ConfigurationError, TaskLockedException
from ..protocols import SupportsSemaphores

if TYPE_CHECKING:
    from .._api import Huey

__all__ = ("DEFAULT_TIMEOUT", "RedisSemaphore", "SemaphoreLock", "lock_task_semaphore")

_logger = logging.getLogger("huey")

DEFAULT_TIMEOUT: Final = 300.0
"""Seconds a holder keeps its slot without renewing it, unless ``timeout`` says otherwise."""

P = ParamSpec("P")
R = TypeVar("R")


def _slots(value: object) -> int:
    """``value`` checked at run time (untyped callers exist): an int >= 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"a semaphore's value must be an int >= 1, got {value!r}")
    return value


def _seconds(timeout: object) -> float:
    """``timeout`` checked at run time: a positive, finite number of seconds."""
    if (
        not isinstance(timeout, int | float)
        or isinstance(timeout, bool)
        or not timeout > 0
        or math.isinf(timeout)
    ):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


class RedisSemaphore:
    """A semaphore admitting at most ``value`` holders at once, across workers and hosts.

    Each operation is atomic in the storage. Acquiring returns a holder id, which
    renews and releases the slot; a slot not renewed for ``timeout`` seconds frees
    itself (its holder died).

    Args:
        huey: the huey whose storage keeps the semaphore; it needs
            :class:`~huey.protocols.SupportsSemaphores` (every bundled storage but
            ``BlackHoleStorage`` has it). In immediate mode the semaphore lives in the
            in-memory storage, like every other value.
        name: the semaphore's name (its key is ``"<huey name>.lock.<name>"``).
        value: how many holders it admits.
        timeout: seconds a slot is kept without renewal (default
            :data:`DEFAULT_TIMEOUT`, 300).

    Raises:
        ConfigurationError: the storage has no semaphores.
        ValueError: ``value`` is not a positive int, or ``timeout`` not a positive
            number of seconds.
    """

    def __init__(
        self, huey: Huey[Any], name: str, value: int = 1, timeout: float | None = None
    ) -> None:
        self.huey = huey
        self.name = name
        self.value: int = _slots(value)
        self.timeout: float = _seconds(DEFAULT_TIMEOUT if timeout is None else timeout)
        self.key: str = lock_key(huey.name, name)
        self._storage()  # a storage without semaphores fails here, not at the first run

    def _storage(self) -> SupportsSemaphores:
        storage = self.huey.engine.ports.storage
        if not isinstance(storage, SupportsSemaphores):
            raise ConfigurationError(
                f"semaphore {self.name!r} needs a storage with semaphores "
                f"(SupportsSemaphores); {type(storage).__name__} lacks it"
            )
        return storage

    def acquire(self, name: str | None = None) -> str | None:
        """Take a slot.

        Args:
            name: the holder id to use (default: a new random one).

        Returns:
            The holder id, or ``None`` when all ``value`` slots are held.
        """
        holder = new_token() if name is None else name
        if self._storage().semaphore_acquire(self.key, holder, self.value, self.timeout):
            return holder
        return None

    def renew(self, name: str) -> bool:
        """Keep holder ``name``'s slot for another ``timeout`` seconds; ``False`` if lost."""
        return self._storage().semaphore_renew(self.key, name, self.timeout)

    def release(self, name: str) -> bool:
        """Free holder ``name``'s slot; whether it held one (``False``: it had expired)."""
        return self._storage().semaphore_release(self.key, name)

    def holders(self) -> list[str]:
        """The current holders, earliest to expire first."""
        return list(self._storage().semaphore_holders(self.key))

    def clear(self) -> int:
        """Free every slot, whoever holds it; return how many were held."""
        return self._storage().semaphore_clear(self.key)


class _Renewer:
    """Renews one holder's slot every ``timeout / 3`` seconds until stopped or lost."""

    def __init__(self, semaphore: RedisSemaphore, holder: str) -> None:
        self.semaphore = semaphore
        self.holder = holder
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"huey-semaphore-{semaphore.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.semaphore.timeout / 3):
            try:
                if not self.semaphore.renew(self.holder):
                    _logger.warning(
                        "semaphore %r: a slot expired before it was renewed (timeout=%ss); "
                        "more than value=%d runs may overlap now",
                        self.semaphore.name,
                        self.semaphore.timeout,
                        self.semaphore.value,
                    )
                    return
            except Exception:
                # A transient storage error: the next renewal may succeed before expiry.
                _logger.exception("semaphore %r: renewing a slot failed", self.semaphore.name)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class SemaphoreLock:
    """One of ``value`` slots; a decorator or a context manager.

    Get one from :func:`lock_task_semaphore`. Entering takes a slot, or raises
    :class:`~huey.exceptions.TaskLockedException` when all are held (the consumer then
    emits ``SIGNAL_LOCKED`` and retries the task if it has retries left). While the
    slot is held a background thread renews it, so a run longer than ``timeout`` keeps
    it; a killed worker stops renewing and its slot frees itself after ``timeout``.

    One ``SemaphoreLock`` may be used by many threads at once: each entry takes its own
    slot and each exit frees the slot its own thread (or asyncio task) took.

    Args:
        semaphore: the semaphore to take slots of.
    """

    def __init__(self, semaphore: RedisSemaphore) -> None:
        self.semaphore = semaphore
        self._held = HeldTokens(self)
        self._renewers: dict[str, _Renewer] = {}
        self._renewers_lock = threading.Lock()

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Wrap ``fn`` so each call holds a slot (an ``async def`` while it runs).

        Raises:
            ConfigurationError: ``fn`` is already a task (the decorator belongs below
                ``@huey.task()``).
        """
        return guarded(self, fn, f"lock_task_semaphore(huey, {self.semaphore.name!r})")

    def __enter__(self) -> str:
        """Take a slot; return its holder id.

        Raises:
            TaskLockedException: all ``value`` slots are held.
        """
        holder = self.semaphore.acquire()
        if holder is None:
            raise TaskLockedException(f"unable to acquire lock: {self.semaphore.name}")
        self._held.push(holder)
        renewer = _Renewer(self.semaphore, holder)
        with self._renewers_lock:
            self._renewers[holder] = renewer
        return holder

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        holder = self._held.pop()
        if holder is None:
            return
        with self._renewers_lock:
            renewer = self._renewers.pop(holder, None)
        if renewer is not None:
            renewer.stop()
        self.semaphore.release(holder)


def lock_task_semaphore(
    huey: Huey[Any], lock_name: str, value: int = 1, timeout: float | None = None
) -> SemaphoreLock:
    """A lock with ``value`` slots: at most ``value`` holders run the guarded code at once.

    Use it as a decorator below ``@huey.task()``, like :meth:`huey.Huey.lock_task`, or
    as a context manager (``with lock_task_semaphore(huey, "api", 5):``). A run that
    finds every slot held raises :class:`~huey.exceptions.TaskLockedException`; give the
    task ``retries`` and a ``retry_delay`` to try again later. Nothing blocks or waits.

    Args:
        huey: the huey whose storage keeps the semaphore (see :class:`RedisSemaphore`).
        lock_name: the semaphore's name.
        value: how many holders it admits.
        timeout: seconds a slot survives a holder that stopped renewing it, for example
            a killed worker (default :data:`DEFAULT_TIMEOUT`, 300).

    Raises:
        ConfigurationError: the storage has no semaphores.
        ValueError: a bad ``value`` or ``timeout``.
    """
    return SemaphoreLock(RedisSemaphore(huey, lock_name, value, timeout))
