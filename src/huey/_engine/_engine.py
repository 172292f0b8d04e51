"""The engine: the parts of an application under the :class:`~huey.Huey` façade.

``Huey`` builds one :class:`Engine` and delegates to it. Everything else (task wrappers,
result handles, locks, the delivery flow, the consumer) works on the engine's parts,
which each receive what they need here, at construction; nothing below the façade
reaches back up to ``Huey``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from .._core import Success
from .._localtime import epoch_of, epoch_to_datetime
from .._task import Task
from ..exceptions import ConfigurationError, MessageDecodeError, UnknownTaskError
from ..protocols import Clock, Serializer, Storage, SupportsLeases
from ._chords import Chords
from ._codec import Codec
from ._enqueuer import Enqueuer
from ._events import Events
from ._ports import Ports
from ._registry import Registry
from ._results import Results, WriteThrough
from ._revocations import Revocations
from ._runner import ErrorBuilder, Runner, default_error_result
from ._settings import Settings

__all__ = ("Engine", "HasEngine")

logger = logging.getLogger("huey")


class Engine:
    """The assembled parts of one application.

    Args:
        settings: the validated application options.
        storage: the configured storage.
        serializer: the serializer.
        clock: the source of time.
        error_builder: builds the metadata stored for a failed task (the façade passes
            its ``build_error_result``).

    Attributes:
        settings: the application options.
        ports: the storage in use, the serializer, the clock, immediate mode.
        codec: bytes in and out.
        registry: the task functions.
        events: signals and hooks.
        revocations: revocation flags.
        results: reading results.
        enqueuer: building and enqueueing tasks.
        chords: chord bookkeeping (members' outcomes, the callback).
        runner: running tasks.
    """

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        serializer: Serializer,
        clock: Clock,
        error_builder: ErrorBuilder = default_error_result,
    ) -> None:
        self.settings = settings
        self.ports: Ports = Ports(storage, serializer, clock)
        self.codec: Codec = Codec(serializer, settings.max_message_size, queue=settings.name)
        self.registry: Registry = Registry(
            # The original huey's storages say whether they keep priorities this way.
            priorities=bool(getattr(storage, "priority", True)),
            storage_name=type(storage).__name__,
        )
        self.events: Events = Events()
        self.revocations: Revocations = Revocations(self.ports, self.codec)
        self.results: Results = Results(self.ports, self.codec)
        self.enqueuer: Enqueuer = Enqueuer(
            self.ports, self.codec, self.events, run_now=self.execute
        )
        self.chords: Chords = Chords(
            self.ports, self.codec, self.enqueuer.enqueue, store_results=settings.results
        )
        self.runner: Runner = Runner(
            settings=settings,
            ports=self.ports,
            codec=self.codec,
            registry=self.registry,
            events=self.events,
            revocations=self.revocations,
            enqueue=self.enqueuer.enqueue,
            schedule=self.enqueuer.schedule,
            error_builder=error_builder,
            chords=self.chords,
        )

    def timestamp(self, value: datetime | float | None) -> float:
        """UTC epoch seconds of ``value`` (``None``: now)."""
        if value is None:
            return self.ports.clock.time()
        if isinstance(value, datetime):
            return epoch_of(value, what="timestamp")
        return float(value)

    def execute(
        self,
        task: Task[Any],
        now: float | None = None,
        flags: Sequence[bytes | None] | None = None,
    ) -> object:
        """Run ``task`` at ``now`` (default: the clock's), writing its results through.

        Returns:
            What the task returned, or ``None`` when it failed or did not run.
        """
        now = self.ports.clock.time() if now is None else now
        outcome = self.runner.run(task, now, flags, WriteThrough(self.ports))
        return outcome.value if isinstance(outcome, Success) else None

    def leases(self, what: str) -> SupportsLeases:
        """The storage, for ``what``, which needs leases (and so a dead-letter area).

        Raises:
            ConfigurationError: the storage has no leases.
        """
        storage = self.ports.storage
        if not isinstance(storage, SupportsLeases):
            raise ConfigurationError(
                f"{what} needs a storage with leased delivery (SupportsLeases); "
                f"{type(storage).__name__} lacks it"
            )
        return storage

    def decode_task(self, data: bytes) -> Task[Any]:
        """The registered task in ``data``.

        Raises:
            MessageDecodeError: the bytes are not a valid message.
            UnknownTaskError: the message names a task that is not registered.
        """
        task = self.codec.decode_task(data)
        if task.name not in self.registry:
            raise UnknownTaskError(task.name)
        return task

    def dequeue(self) -> Task[Any] | None:
        """Pop the next task off the queue, destructively (``None``: the queue is empty).

        Raises:
            MessageDecodeError, UnknownTaskError: the item cannot be run here; it is off
                the queue and attached to the exception as ``data``.
        """
        data = self.ports.storage.dequeue()
        if data is None:
            return None
        try:
            return self.decode_task(data)
        except (MessageDecodeError, UnknownTaskError) as exc:
            exc.data = data
            raise

    def read_schedule(self, now: float) -> list[Task[Any]]:
        """Take the scheduled tasks due at ``now`` off the schedule (undecodable: logged)."""
        tasks: list[Task[Any]] = []
        for data in self.ports.storage.read_schedule(now):
            try:
                tasks.append(self.decode_task(data))
            except (MessageDecodeError, UnknownTaskError):
                logger.exception("undecodable item in the schedule of %s", self.settings.name)
        return tasks

    def periodic_tasks(self, timestamp: datetime | float) -> list[Task[Any]]:
        """New tasks for every periodic task whose ``validate_datetime`` accepts ``timestamp``.

        A naive datetime is taken as already in the application's frame (UTC, or local
        time with ``utc=False``) and passed on unchanged, as the original huey does; epoch
        seconds and aware datetimes are converted to that frame.
        """
        if isinstance(timestamp, datetime) and timestamp.tzinfo is None:
            moment = timestamp
        else:
            moment = epoch_to_datetime(self.timestamp(timestamp), utc=self.settings.utc)
        return [
            self.enqueuer.build(entry.settings, (), {}, {})
            for entry in self.registry.periodic()
            if entry.validate_datetime is not None and entry.validate_datetime(moment)
        ]

    def leasing_storage(self) -> SupportsLeases | None:
        """The storage, when messages are delivered under leases (at-least-once)."""
        storage = self.ports.storage
        if self.settings.delivery == "at-least-once" and isinstance(storage, SupportsLeases):
            return storage
        return None


class HasEngine(Protocol):
    """Anything that exposes an :class:`Engine` (a :class:`~huey.Huey`)."""

    @property
    def engine(self) -> Engine:
        """The application's engine."""
        ...
