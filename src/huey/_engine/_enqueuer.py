"""Building task messages and putting them in the queue or the schedule."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

from .. import _core
from .._localtime import epoch_of
from .._task import Task, TaskOptions, TaskSettings
from .._timeutil import delay_to_seconds
from ..protocols import Storage, SupportsKeyedEnqueue, SupportsScheduleTransfer
from ..signals import SIGNAL_ENQUEUED, SIGNAL_SCHEDULED
from ._codec import Codec
from ._events import Events
from ._ports import Ports
from ._revocations import Revocations
from ._settings import check_backoff, check_count, check_priority, check_timeout

__all__ = ("Enqueuer", "SupportsEnqueueMany", "new_task_id")

R = TypeVar("R")

_OPTION_NAMES = frozenset(TaskOptions.__annotations__)


class _RandomHex:
    """32 random hex digits at a time, drawn from ``os.urandom`` 64 ids' worth at once.

    One ``getrandom`` system call per id (what ``uuid.uuid4`` makes) is a good share of
    an enqueue's CPU time, and gives up the GIL. Each thread draws its own (no lock), and
    a forked child starts afresh: it must not repeat its parent's ids.
    """

    _PER_DRAW = 64

    def __init__(self) -> None:
        self._local = threading.local()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._local = threading.local()

    def next(self) -> str:
        """The next 32 random hex digits."""
        local = self._local
        try:
            drawn: Iterator[str] = local.drawn
            return next(drawn)
        except (AttributeError, StopIteration):
            digits = os.urandom(16 * self._PER_DRAW).hex()
            local.drawn = drawn = iter([digits[i : i + 32] for i in range(0, len(digits), 32)])
            return next(drawn)


_RANDOM_HEX: Final = _RandomHex()


def new_task_id() -> str:
    """A new random task id: a version 4 UUID in its usual text form.

    Formatted directly from random digits; ``str(uuid.uuid4())`` builds and checks a
    ``UUID`` object on the way, a tenth of an enqueue's own CPU time.
    """
    h = _RANDOM_HEX.next()
    variant = "89ab"[int(h[16], 16) & 3]  # the RFC 4122 variant: binary 10xx
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


@runtime_checkable
class SupportsEnqueueMany(Protocol):
    """A storage that queues many messages in few round trips (Redis: a pipeline)."""

    def enqueue_many(self, items: Sequence[tuple[bytes, int | None, Sequence[str]]], /) -> None:
        """Queue ``(data, priority, keys)`` items in order, as ``enqueue_keyed`` would."""
        ...


@dataclass(frozen=True, slots=True)
class _Capabilities:
    """What the storage in use offers the enqueuer, decided once per storage.

    ``isinstance`` against a runtime-checkable ``Protocol`` inspects each of its
    members; an enqueue asks these attributes instead.
    """

    storage: Storage
    keyed: SupportsKeyedEnqueue | None
    transfer: SupportsScheduleTransfer | None
    many: SupportsEnqueueMany | None

    @classmethod
    def of(cls, storage: Storage) -> _Capabilities:
        keyed = storage if isinstance(storage, SupportsKeyedEnqueue) else None
        return cls(
            storage,
            keyed,
            storage if isinstance(storage, SupportsScheduleTransfer) else None,
            storage if keyed is not None and isinstance(storage, SupportsEnqueueMany) else None,
        )


class Enqueuer:
    """Builds tasks from calls and enqueues or schedules them.

    Args:
        ports: the storage in use, the clock, and whether immediate mode is on.
        codec: encodes the messages.
        events: emits ``enqueued`` and ``scheduled``.
        run_now: runs a task synchronously (immediate mode).
    """

    __slots__ = ("_capabilities", "_defaults", "codec", "events", "ports", "run_now")

    def __init__(
        self,
        ports: Ports,
        codec: Codec,
        events: Events,
        run_now: Callable[[Task[Any]], object],
    ) -> None:
        self.ports: Ports = ports
        self.codec: Codec = codec
        self.events: Events = events
        self.run_now: Callable[[Task[Any]], object] = run_now
        self._capabilities: _Capabilities | None = None
        self._defaults: dict[int, tuple[TaskSettings, Mapping[str, Any]]] = {}

    def _caps(self) -> _Capabilities:
        """The capabilities of the storage in use (re-decided when it is swapped)."""
        caps = self._capabilities
        if caps is None or caps.storage is not self.ports.storage:
            caps = self._capabilities = _Capabilities.of(self.ports.storage)
        return caps

    def build(
        self,
        settings: TaskSettings,
        args: tuple[object, ...],
        kwargs: dict[str, object],
        options: Mapping[str, object],
    ) -> Task[Any]:
        """A new task message for a call, with per-call ``options`` over the defaults.

        Raises:
            TypeError: an unknown option, or an option of the wrong type.
            ValueError: an option out of range, or both ``eta`` and ``delay``.
        """
        if not options:  # the common call: the task's own defaults, checked once
            return Task(
                id=new_task_id(),
                name=settings.name,
                args=args,
                kwargs=kwargs,
                **self._defaults_of(settings),
            )
        unknown = set(options) - _OPTION_NAMES
        if unknown:
            raise TypeError(
                f"unknown task options: {', '.join(sorted(unknown))} "
                f"(valid: {', '.join(sorted(_OPTION_NAMES))})"
            )
        if "eta" in options and "delay" in options:
            raise ValueError("give eta or delay, not both")
        eta: float | None = None
        if "eta" in options:
            eta = epoch_of(options["eta"], what="eta")
        elif "delay" in options:
            delay = delay_to_seconds(options["delay"])
            eta = self.ports.clock.time() + delay if delay else None
        expires, expires_at = self._expiry(options.get("expires", settings.expires))
        return Task(
            id=str(options.get("id") or new_task_id()),
            name=settings.name,
            args=args,
            kwargs=kwargs,
            eta=eta,
            retries=check_count(options.get("retries", settings.retries), "retries"),
            retry_delay=delay_to_seconds(
                options.get("retry_delay", settings.retry_delay), what="retry_delay"
            ),
            retry_backoff=check_backoff(options.get("retry_backoff", settings.retry_backoff)),
            priority=check_priority(options.get("priority", settings.priority)),
            expires=expires,
            expires_at=expires_at,
            timeout=check_timeout(options.get("timeout", settings.timeout)),
        )

    def _defaults_of(self, settings: TaskSettings) -> Mapping[str, Any]:
        """The message fields a call without options takes from ``settings``, checked.

        Raises:
            TypeError, ValueError: a default out of range (nothing is remembered then).
        """
        # Keyed by identity: hashing a frozen dataclass hashes all of its fields.
        remembered = self._defaults.get(id(settings))
        if remembered is not None and remembered[0] is settings:
            return remembered[1]
        expires, expires_at = self._expiry(settings.expires)
        defaults: Mapping[str, Any] = {
            "retries": check_count(settings.retries, "retries"),
            "retry_delay": delay_to_seconds(settings.retry_delay, what="retry_delay"),
            "retry_backoff": check_backoff(settings.retry_backoff),
            "priority": check_priority(settings.priority),
            "expires": expires,
            "expires_at": expires_at,
            "timeout": check_timeout(settings.timeout),
        }
        # The settings are kept too: their id is not reused while they are alive.
        self._defaults[id(settings)] = (settings, defaults)
        return defaults

    @staticmethod
    def _expiry(value: object) -> tuple[float | None, float | None]:
        """``(relative, absolute)`` expiry from seconds, a ``timedelta`` or a datetime."""
        if value is None:
            return None, None
        if isinstance(value, datetime):
            return None, epoch_of(value, what="expires")
        return delay_to_seconds(value, what="expires"), None

    def copy_for_reschedule(
        self,
        task: Task[R],
        *,
        eta: datetime | None,
        delay: float | timedelta | None,
        expires: float | datetime | None,
        priority: int | None,
    ) -> Task[R]:
        """A copy of ``task`` with a new id and the given timing (``Result.reschedule``).

        Raises:
            TypeError, ValueError: a bad ``eta``, ``delay``, ``expires`` or ``priority``.
        """
        if eta is not None and delay is not None:
            raise ValueError("give eta or delay, not both")
        new_eta: float | None = None
        if eta is not None:
            new_eta = epoch_of(eta, what="eta")
        elif delay is not None:
            new_eta = self.ports.clock.time() + delay_to_seconds(delay)
        # A relative expiry is re-resolved when the copy is enqueued; an absolute one stays.
        relative, absolute = task.expires, task.expires_at if task.expires is None else None
        if expires is not None:
            relative, absolute = self._expiry(expires)
        return replace(
            task,
            id=new_task_id(),
            eta=new_eta,
            expires=relative,
            expires_at=absolute,
            priority=task.priority if priority is None else check_priority(priority),
        )

    def enqueue(self, task: Task[Any]) -> None:
        """Queue ``task``, schedule it if it is not due, or run it in immediate mode.

        Raises:
            TaskSerializationError: an argument cannot be serialized.
        """
        now = self.ports.clock.time()
        task = _core.resolve_expiry(task, now)
        if not _core.is_due(task, now):
            self.schedule(task)
            return
        task = self.events.stamp(task)
        data = self.codec.encode_task(task)
        if self.ports.immediate:
            # Run what a worker would decode, so immediate mode fails where production
            # would (an argument the serializer cannot carry, a value that changes on the
            # way) and at the same moment: at the call.
            self.events.emit(SIGNAL_ENQUEUED, task)
            self.run_now(self.codec.decode_task(data))
            return
        caps = self._caps()
        if caps.keyed is not None:
            # reserve then hands the revocation flags over with the lease (no extra reads).
            caps.keyed.enqueue_keyed(data, task.priority or None, Revocations.keys_of(task))
        else:
            caps.storage.enqueue(data, task.priority or None)
        self.events.emit(SIGNAL_ENQUEUED, task)

    def enqueue_many(self, tasks: Iterable[Task[Any]]) -> None:
        """Queue ``tasks`` as :meth:`enqueue` would each, batched where the storage can.

        On a storage with :class:`SupportsEnqueueMany` the due tasks go in pipelined
        batches (one round trip per batch); the others are scheduled one by one.

        Raises:
            TaskSerializationError: an argument cannot be serialized (nothing queued).
        """
        many = self._caps().many
        if many is None or self.ports.immediate:
            for task in tasks:
                self.enqueue(task)
            return
        now = self.ports.clock.time()
        due: list[Task[Any]] = []
        items: list[tuple[bytes, int | None, Sequence[str]]] = []
        later: list[Task[Any]] = []
        for task in tasks:
            task = _core.resolve_expiry(task, now)
            if not _core.is_due(task, now):
                later.append(task)
                continue
            due.append(task)
            items.append(
                (self.codec.encode_task(task), task.priority or None, Revocations.keys_of(task))
            )
        if items:
            many.enqueue_many(items)
        for task in due:
            self.events.emit(SIGNAL_ENQUEUED, task)
        for task in later:
            self.schedule(task)

    def schedule(self, task: Task[Any]) -> None:
        """Put ``task`` in the schedule, to be enqueued at its ``eta`` (default now)."""
        eta = task.eta if task.eta is not None else self.ports.clock.time()
        task = self.events.stamp(task)
        data = self.codec.encode_task(task)
        caps = self._caps()
        if caps.transfer is not None:
            # The priority travels with the item, so the atomic move keeps it.
            caps.transfer.add_to_schedule_with_priority(data, eta, task.priority or 0)
        else:
            caps.storage.add_to_schedule(data, eta)
        self.events.emit(SIGNAL_SCHEDULED, task)
