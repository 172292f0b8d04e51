"""Task locks over the key/value store (layer 2, on the engine's storage)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from typing_extensions import ParamSpec, TypeVar

from ._wrapper import TaskWrapper
from .constants import EmptyData
from .exceptions import ConfigurationError, TaskLockedException
from .protocols import SupportsExpiringKeys

if TYPE_CHECKING:
    from ._api import Huey

__all__ = ("TaskLock", "lock_key")


def lock_key(app_name: str, lock_name: str) -> str:
    """The key of the lock ``lock_name`` of the application ``app_name``."""
    return f"{app_name}.lock.{lock_name}"


P = ParamSpec("P")
R = TypeVar("R")


class TaskLock:
    """A named lock; a decorator or a context manager. Get one from ``huey.lock_task``.

    Entering the lock when it is held raises :class:`~huey.exceptions.TaskLockedException`
    (the consumer then emits ``SIGNAL_LOCKED`` and retries the task if it has retries).

    Args:
        huey: the huey whose storage holds the lock.
        name: the lock's name.
        ttl: seconds after which the lock frees itself (needs a storage with the
            :class:`~huey.protocols.SupportsExpiringKeys` capability).
    """

    def __init__(self, huey: Huey[Any], name: str, ttl: float | None = None) -> None:
        engine = huey.engine
        storage = engine.ports.storage
        if ttl is not None and not isinstance(storage, SupportsExpiringKeys):
            raise ConfigurationError(
                f"lock_task({name!r}, ttl=...) needs a storage with expiring keys "
                f"(SupportsExpiringKeys); {type(storage).__name__} lacks it"
            )
        self.huey = huey
        self.name = name
        self.ttl = ttl
        self.key: str = lock_key(engine.settings.name, name)
        self._ports = engine.ports
        # So that huey.flush_locks() (the consumer's -f) knows every lock of the app.
        engine.registry.lock_names.add(name)

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Wrap ``fn`` so each call holds the lock.

        Raises:
            ConfigurationError: ``fn`` is already a task: the lock would be held while
                the call is enqueued, not while the task runs.
        """
        if isinstance(fn, TaskWrapper):
            raise ConfigurationError(
                f"@lock_task({self.name!r}) is above @task() on {fn.name}: it would lock "
                "the enqueue, not the run; put it below, next to the function"
            )

        @functools.wraps(fn)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            with self:
                return fn(*args, **kwargs)

        return inner

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            TaskLockedException: the lock is held.
        """
        storage = self._ports.storage
        if self.ttl is not None and isinstance(storage, SupportsExpiringKeys):
            taken = storage.put_if_empty_ttl(self.key, b"1", self.ttl)
        else:
            taken = storage.put_if_empty(self.key, b"1")
        if not taken:
            raise TaskLockedException(f"unable to acquire lock {self.name}")

    def release(self) -> None:
        """Free the lock."""
        self.clear()

    def clear(self) -> bool:
        """Free the lock; whether it was held."""
        return self._ports.storage.pop_data(self.key) is not EmptyData

    def is_locked(self) -> bool:
        """Whether the lock is held."""
        return self._ports.storage.has_data_for_key(self.key)

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
