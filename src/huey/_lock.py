"""Task locks over the key/value store (layer 2, on the engine's storage).

Each acquisition stores a fresh random *owner token* as the lock's value, and release
deletes the key only while it still holds that token. A holder whose lock expired
(``ttl``) and was taken by another worker therefore cannot free the new holder's lock.

The token of an acquisition is kept per execution context (:mod:`contextvars`): one
``TaskLock`` is shared by every worker thread running the decorated function, and each
thread (or asyncio task) releases only what it acquired.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from contextvars import ContextVar
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Self, cast

from typing_extensions import ParamSpec, TypeVar

from ._wrapper import TaskWrapper
from .constants import EmptyData
from .exceptions import ConfigurationError, TaskLockedException
from .protocols import SupportsExpiringKeys
from .storage._operations import delete_if_equal, put_if_empty

if TYPE_CHECKING:
    from ._api import Huey

__all__ = ("HeldTokens", "TaskLock", "guarded", "lock_key", "new_token")

logger = logging.getLogger("huey")


def lock_key(app_name: str, lock_name: str) -> str:
    """The key of the lock ``lock_name`` of the application ``app_name``."""
    return f"{app_name}.lock.{lock_name}"


def new_token() -> str:
    """A random owner token (128 bits, hex)."""
    return os.urandom(16).hex()


_EMPTY: Mapping[object, tuple[str, ...]] = MappingProxyType({})
_held: ContextVar[Mapping[object, tuple[str, ...]]] = ContextVar("huey_held_tokens", default=_EMPTY)


class HeldTokens:
    """The tokens one owner object acquired in the current execution context.

    A stack per owner (nested acquisitions release in reverse order), stored in one
    module-level :class:`~contextvars.ContextVar` whose value is replaced, never
    mutated, so threads and asyncio tasks each see only their own acquisitions. An
    owner's entry is dropped when its stack empties.

    Args:
        owner: the object the tokens belong to (a lock or a semaphore).
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: object) -> None:
        self._owner = owner

    def push(self, token: str) -> None:
        """Record ``token`` as acquired here."""
        held = _held.get()
        _held.set({**held, self._owner: (*held.get(self._owner, ()), token)})

    def pop(self) -> str | None:
        """Forget and return the latest token acquired here, or ``None``."""
        held = _held.get()
        stack = held.get(self._owner)
        if not stack:
            return None
        *older, latest = stack
        rest = {owner: tokens for owner, tokens in held.items() if owner is not self._owner}
        if older:
            rest[self._owner] = tuple(older)
        _held.set(rest)
        return latest


P = ParamSpec("P")
R = TypeVar("R")


def guarded(guard: AbstractContextManager[object], fn: Callable[P, R], what: str) -> Callable[P, R]:
    """``fn`` wrapped so that each call runs inside ``guard``.

    An ``async def`` function stays one: its wrapper holds ``guard`` while the coroutine
    runs (not merely while it is created).

    Args:
        guard: entered around each call (a lock, a semaphore slot).
        fn: the function to wrap.
        what: how the decorator was written, for the error message (``lock_task('x')``).

    Raises:
        ConfigurationError: ``fn`` is already a task: the guard would be held while the
            call is enqueued, not while the task runs.
    """
    if isinstance(fn, TaskWrapper):
        raise ConfigurationError(
            f"@{what} is above @task() on {fn.name}: it would lock the enqueue, not the "
            "run; put it below, next to the function"
        )
    if inspect.iscoroutinefunction(fn):
        coroutine_fn = cast("Callable[P, Awaitable[object]]", fn)

        @functools.wraps(fn)
        async def guarded_coroutine(*args: P.args, **kwargs: P.kwargs) -> object:
            with guard:
                return await coroutine_fn(*args, **kwargs)

        # The same signature: an async function returning what fn's coroutine returns.
        return cast("Callable[P, R]", guarded_coroutine)

    @functools.wraps(fn)
    def guarded_call(*args: P.args, **kwargs: P.kwargs) -> R:
        with guard:
            return fn(*args, **kwargs)

    return guarded_call


class TaskLock:
    """A named lock; a decorator or a context manager. Get one from ``huey.lock_task``.

    Entering the lock when it is held raises :class:`~huey.exceptions.TaskLockedException`
    (the consumer then emits ``SIGNAL_LOCKED`` and retries the task if it has retries).

    The lock's value is a random owner token made at each acquisition; releasing frees
    the lock only if it still holds that token (atomically on storages with
    :class:`~huey.protocols.SupportsCompareAndDelete`, which every bundled storage has).
    So a holder that outlived its ``ttl`` does not release the lock another worker has
    taken since; it logs a warning instead.

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
        self._held = HeldTokens(self)
        # The token of the latest acquisition, from any context: released by a context
        # that did not acquire (acquire() in one thread, release() in another).
        self._last_token: str | None = None
        # So that huey.flush_locks() (the consumer's -f) knows every lock of the app.
        engine.registry.lock_names.add(name)

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Wrap ``fn`` so each call holds the lock (an ``async def`` while it runs).

        Raises:
            ConfigurationError: ``fn`` is already a task: the lock would be held while
                the call is enqueued, not while the task runs.
        """
        return guarded(self, fn, f"lock_task({self.name!r})")

    def acquire(self) -> None:
        """Take the lock, storing a fresh owner token as its value.

        Raises:
            TaskLockedException: the lock is held.
        """
        token = new_token()
        if not put_if_empty(self._ports.storage, self.key, token.encode(), self.ttl):
            raise TaskLockedException(f"unable to acquire lock {self.name}")
        self._held.push(token)
        self._last_token = token

    def release(self) -> bool:
        """Free the lock if this holder still holds it.

        The token is the one this thread (or asyncio task) acquired; failing that, the
        latest one this lock acquired anywhere.

        Returns:
            Whether the lock was freed. ``False`` when it had expired (and may have been
            taken by someone else, whose lock stays held) or was never acquired here;
            an expired ``ttl`` is logged as a warning.
        """
        token = self._held.pop()
        if token is None:
            token = self._last_token
        if token is None:
            return False
        if token == self._last_token:
            self._last_token = None
        if delete_if_equal(self._ports.storage, self.key, token.encode()):
            return True
        if self.ttl is not None:
            logger.warning(
                "lock %r expired (ttl=%ss) before its holder released it; it was not "
                "released, in case another worker holds it now: raise the ttl above "
                "the longest run",
                self.name,
                self.ttl,
            )
        return False

    def clear(self) -> bool:
        """Free the lock whoever holds it; whether it was held."""
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
