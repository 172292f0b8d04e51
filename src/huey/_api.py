"""The :class:`Huey` façade: options, immediate mode, and the public API (layer 4).

``Huey`` validates its options, builds the storage and an :class:`~huey._engine.Engine`,
and delegates every operation to the engine's parts (see ``docs/architecture.rst``). It
is generic in its results mode: ``Huey`` (or ``Huey[Literal[True]]``) stores results and
task calls return ``Result[R]``; ``Huey(results=False)`` is a ``Huey[Literal[False]]``
whose task calls return ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, cast, overload

from typing_extensions import ParamSpec, TypeVar, Unpack, override

from . import _core
from ._decorators import ContextArgDecorator, PeriodicDecorator, TaskDecorator
from ._engine import (
    HUEY_OPTION_NAMES,
    Delivery,
    Engine,
    HueyOptions,
    Receiver,
    clock_from,
    default_error_result,
    instance_key,
    make_storage,
    serializer_from,
    settings_from,
)
from ._group import ChordResult, chord, enqueue_group, group
from ._localtime import epoch_of
from ._lock import TaskLock, lock_key
from ._ratelimit import RateLimit
from ._result import Result, ResultGroup, enqueue_with_handles
from ._store_api import StoreAPI
from ._task import Pipeline, Task
from ._wrapper import TaskWrapper, register_function
from .constants import EmptyData
from .exceptions import ConfigurationError
from .protocols import Clock, Serializer, Storage
from .signals import Signal
from .storage import MemoryStorage, SqliteStorage

if TYPE_CHECKING:
    from . import consumer

__all__ = (
    "Delivery",
    "Huey",
    "HueyOptions",
    "Receiver",
)

P = ParamSpec("P")
R = TypeVar("R")
U = TypeVar("U")
Rt = TypeVar("Rt")
C = TypeVar("C")
RM = TypeVar("RM", bound=bool, default=Literal[True])
F = TypeVar("F", bound=Callable[..., object])


class Huey(StoreAPI, Generic[RM]):
    """A task queue: register tasks with its decorators, enqueue them, read results.

    Args:
        name: the queue's name (keys and lock names are namespaced by it).
        results: store task return values. With ``False`` task calls return ``None``.
        store_none: also store ``None`` return values.
        utc: evaluate periodic tasks' ``validate_datetime`` in UTC (else local time).
            Naive datetimes passed to huey are always local time, converted to UTC.
        immediate: run tasks synchronously when they are enqueued (development, tests).
        serializer: how messages and results become bytes; default pickle.
        compression: compress with gzip (or zlib, see ``use_zlib``).
        use_zlib: use zlib instead of gzip.
        immediate_use_memory: in immediate mode, use an in-memory storage.
        storage_class: the storage class, built as ``storage_class(name, **storage_kwargs)``.
        store_intermediate_errors: store the error of a failed attempt that will be
            retried, so a reader sees why (the retry's outcome replaces it); ``False``
            stores only the final error. A lock or a ``RetryTask`` is never stored while
            a retry is pending.
        storage: a ready storage object (anything satisfying
            :class:`huey.protocols.Storage`); overrides ``storage_class``.
        clock: the source of time (tests pass a fake clock).
        delivery: ``"at-least-once"`` (the default) leases each message to a worker and
            deletes it only once its outcome is recorded, when the storage supports
            leases (:class:`~huey.protocols.SupportsLeases`); ``"at-most-once"`` pops
            messages destructively like the original huey.
        lease_timeout: seconds a worker holds a message before it may be redelivered
            (workers extend the lease while the task runs).
        max_deliveries: most deliveries of a message; one whose lease expires on the last
            goes to the dead-letter area.
        max_message_size: largest serialized task in bytes, checked at enqueue
            (:class:`~huey.exceptions.MessageTooLarge`); ``None``, the default: no limit.
        storage_kwargs: passed to ``storage_class``; with the default storage
            (:class:`~huey.storage.SqliteStorage`) these are ``filename``, ``cache_mb``,
            ``fsync``, ``timeout``, ``strict_fifo``, ``journal_mode`` and ``pragmas``.

    Raises:
        TypeError: an unknown keyword option (the message lists the valid ones).
        ConfigurationError: an invalid option value, or a ``storage`` that is not one.
    """

    storage_class: ClassVar[Callable[..., Storage]] = SqliteStorage
    storage_options: ClassVar[frozenset[str] | None] = frozenset(
        {"filename", "cache_mb", "fsync", "timeout", "strict_fifo", "journal_mode", "pragmas"}
    )
    """The keyword options of :attr:`storage_class` accepted by the constructor
    (``None``: whatever the storage class accepts)."""

    # Set by _setup, the constructor body that every class's __init__ ends in (the
    # checker only looks for assignments in __init__ itself).
    _engine: Engine  # pyright: ignore[reportUninitializedInstanceVariable]  # set in _setup
    _storage: Storage  # pyright: ignore[reportUninitializedInstanceVariable]  # set in _setup
    _immediate_storage: Storage | None = None
    immediate_use_memory: bool = True
    """In immediate mode, use an in-memory storage."""

    @overload
    def __init__(
        self: Huey[Literal[True]],
        name: str = "huey",
        results: Literal[True] = True,
        store_none: bool = False,
        utc: bool = True,
        immediate: bool = False,
        serializer: Serializer | None = None,
        compression: bool = False,
        use_zlib: bool = False,
        immediate_use_memory: bool = True,
        storage_class: Callable[..., Storage] | None = None,
        store_intermediate_errors: bool = True,
        *,
        storage: Storage | None = None,
        clock: Clock | None = None,
        delivery: Delivery = "at-least-once",
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
        max_message_size: int | None = None,
        **storage_kwargs: object,
    ) -> None: ...
    @overload
    def __init__(
        self: Huey[Literal[False]],
        name: str = "huey",
        *,
        results: Literal[False],
        store_none: bool = False,
        utc: bool = True,
        immediate: bool = False,
        serializer: Serializer | None = None,
        compression: bool = False,
        use_zlib: bool = False,
        immediate_use_memory: bool = True,
        storage_class: Callable[..., Storage] | None = None,
        store_intermediate_errors: bool = True,
        storage: Storage | None = None,
        clock: Clock | None = None,
        delivery: Delivery = "at-least-once",
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
        max_message_size: int | None = None,
        **storage_kwargs: object,
    ) -> None: ...
    @overload
    def __init__(
        self: Huey[bool],
        name: str = "huey",
        results: bool = True,
        store_none: bool = False,
        utc: bool = True,
        immediate: bool = False,
        serializer: Serializer | None = None,
        compression: bool = False,
        use_zlib: bool = False,
        immediate_use_memory: bool = True,
        storage_class: Callable[..., Storage] | None = None,
        store_intermediate_errors: bool = True,
        *,
        storage: Storage | None = None,
        clock: Clock | None = None,
        delivery: Delivery = "at-least-once",
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
        max_message_size: int | None = None,
        **storage_kwargs: object,
    ) -> None: ...
    def __init__(
        self,
        name: str = "huey",
        results: bool = True,
        store_none: bool = False,
        utc: bool = True,
        immediate: bool = False,
        serializer: Serializer | None = None,
        compression: bool = False,
        use_zlib: bool = False,
        immediate_use_memory: bool = True,
        storage_class: Callable[..., Storage] | None = None,
        store_intermediate_errors: bool = True,
        *,
        storage: Storage | None = None,
        clock: Clock | None = None,
        delivery: Delivery = "at-least-once",
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
        max_message_size: int | None = None,
        **storage_kwargs: object,
    ) -> None:
        options = _options(locals(), "name", "results", "storage_class", "storage")
        options.update(options.pop("storage_kwargs"))
        self._setup(name, results, options, storage_class=storage_class, storage=storage)

    def _setup(
        self,
        name: str,
        results: bool,
        options: Mapping[str, Any],
        *,
        storage_class: Callable[..., Storage] | None = None,
        storage: Storage | None = None,
    ) -> None:
        """The one constructor body of ``Huey`` and its subclasses.

        The typed ``__init__`` overloads live on each public class (the self type decides
        the results mode, and an inherited overload cannot bind it for a subclass); they
        all end here with their keyword ``options``, Huey's and the storage's together.
        """
        settings = settings_from(name, results, options)
        storage_kwargs = {k: v for k, v in options.items() if k not in HUEY_OPTION_NAMES}
        clock = clock_from(options)
        self._storage = make_storage(
            type(self), name, storage, storage_class, storage_kwargs, clock
        )
        self.immediate_use_memory = options.get("immediate_use_memory", True)
        self._engine = Engine(
            settings,
            self._storage,
            serializer_from(options),
            clock,
            error_builder=self.build_error_result,
        )
        self.immediate = options.get("immediate", False)

    # --- the engine and the options --------------------------------------------------

    @property
    @override
    def engine(self) -> Engine:
        """The parts under this façade (for huey's own layers and extension authors).

        The consumer, task wrappers and result handles work on it; see "How the code is
        organised" in the docs. Its interface is internal and may change between
        releases.
        """
        return self._engine

    @property
    def name(self) -> str:
        """The queue's name."""
        return self._engine.settings.name

    @property
    def results(self) -> bool:
        """Whether task return values are stored."""
        return self._engine.settings.results

    @property
    def store_none(self) -> bool:
        """Whether ``None`` return values are stored."""
        return self._engine.settings.store_none

    @property
    def utc(self) -> bool:
        """Whether periodic tasks see UTC (else local) datetimes."""
        return self._engine.settings.utc

    @property
    def store_intermediate_errors(self) -> bool:
        """Whether the error of an attempt that will be retried is stored."""
        return self._engine.settings.store_intermediate_errors

    @property
    def delivery(self) -> Delivery:
        """The delivery mode asked for (see :func:`huey._delivery.uses_leases`)."""
        return self._engine.settings.delivery

    @property
    def lease_timeout(self) -> float:
        """Seconds a worker holds a leased message."""
        return self._engine.settings.lease_timeout

    @property
    def max_deliveries(self) -> int:
        """Deliveries after which a message is dead-lettered."""
        return self._engine.settings.max_deliveries

    @property
    def serializer(self) -> Serializer:
        """The serializer."""
        return self._engine.ports.serializer

    @property
    def clock(self) -> Clock:
        """The source of time."""
        return self._engine.ports.clock

    # --- storage and immediate mode ----------------------------------------------------

    @property
    def immediate(self) -> bool:
        """Immediate mode: tasks run synchronously when enqueued.

        Turning it on switches to an in-memory storage unless
        ``immediate_use_memory=False``; turning it off switches back.
        """
        return self._engine.ports.immediate

    @immediate.setter
    def immediate(self, value: bool) -> None:
        ports = self._engine.ports
        ports.immediate = bool(value)
        if ports.immediate and self.immediate_use_memory:
            if self._immediate_storage is None:
                self._immediate_storage = MemoryStorage(self.name, clock=self.clock)
            ports.storage = self._immediate_storage
        else:
            ports.storage = self._storage

    def get_storage(self) -> Storage:
        """The storage in use."""
        return self.storage

    # --- decorators ----------------------------------------------------------------

    def task(
        self,
        retries: int = 0,
        retry_delay: float = 0,
        retry_backoff: float = 1.0,
        priority: int | None = None,
        context: bool = False,
        name: str | None = None,
        expires: float | timedelta | datetime | None = None,
        timeout: float | None = None,
    ) -> TaskDecorator[RM]:
        """Decorator registering a function as a task.

        Calling the decorated function enqueues the call and returns a
        :class:`~huey.Result` (``None`` with ``results=False``).

        Args:
            retries: how many times to retry after an exception.
            retry_delay: seconds between retries.
            retry_backoff: multiply ``retry_delay`` by this after each retry.
            priority: higher runs first when there is a backlog.
            context: pass the running :class:`~huey.api.Task` as keyword ``task``
                (the function must accept ``task``).
            name: the registered name (default: ``module.function``).
            expires: seconds, ``timedelta`` or datetime after which a waiting task is
                dropped instead of run.
            timeout: seconds the task may run.
        """
        return TaskDecorator(self, _options(locals()))

    def periodic_task(
        self,
        validate_datetime: Callable[[datetime], bool],
        retries: int = 0,
        retry_delay: float = 0,
        retry_backoff: float = 1.0,
        priority: int | None = None,
        context: bool = False,
        name: str | None = None,
        expires: float | timedelta | datetime | None = None,
        timeout: float | None = None,
    ) -> PeriodicDecorator[RM]:
        """Decorator registering a function the consumer runs on a schedule.

        Once a minute the consumer calls ``validate_datetime`` with the minute (naive,
        UTC unless ``Huey(utc=False)``) and enqueues the task when it returns true.
        :func:`~huey.crontab` builds such functions. The function takes no required
        arguments; its results are not stored.
        """
        if not callable(validate_datetime):
            raise ConfigurationError("periodic_task() needs a validate_datetime function")
        return PeriodicDecorator(self, validate_datetime, _options(locals(), "validate_datetime"))

    @overload
    def context_task(
        self,
        obj: AbstractContextManager[C],
        as_argument: Literal[True],
        retries: int = 0,
        retry_delay: float = 0,
        retry_backoff: float = 1.0,
        priority: int | None = None,
        context: bool = False,
        name: str | None = None,
        expires: float | timedelta | datetime | None = None,
        timeout: float | None = None,
    ) -> ContextArgDecorator[C, RM]: ...
    @overload
    def context_task(
        self,
        obj: AbstractContextManager[object],
        as_argument: Literal[False] = False,
        retries: int = 0,
        retry_delay: float = 0,
        retry_backoff: float = 1.0,
        priority: int | None = None,
        context: bool = False,
        name: str | None = None,
        expires: float | timedelta | datetime | None = None,
        timeout: float | None = None,
    ) -> TaskDecorator[RM]: ...
    def context_task(
        self,
        obj: AbstractContextManager[Any],
        as_argument: bool = False,
        retries: int = 0,
        retry_delay: float = 0,
        retry_backoff: float = 1.0,
        priority: int | None = None,
        context: bool = False,
        name: str | None = None,
        expires: float | timedelta | datetime | None = None,
        timeout: float | None = None,
    ) -> ContextArgDecorator[Any, RM] | TaskDecorator[RM]:
        """Like :meth:`task`, and each run happens inside ``with obj``.

        With ``as_argument=True`` the value ``obj.__enter__()`` returns is passed as the
        function's first argument (and callers do not pass it). ``obj`` is entered once
        per run, so it must be re-usable (a ``@contextmanager`` object is not).
        """
        settings = _options(locals(), "obj", "as_argument")
        if as_argument:
            return ContextArgDecorator(self, obj, settings)
        return TaskDecorator(self, settings, obj)

    def register_task(
        self,
        fn: Callable[..., Any],
        settings: dict[str, Any],
        validate: Callable[[datetime], bool] | None,
    ) -> TaskWrapper[Any, Any, Any]:
        """Register ``fn`` as a task (what the decorators do; prefer :meth:`task`).

        Args:
            fn: the function (a :class:`TaskWrapper` is unwrapped).
            settings: the decorator's keyword arguments.
            validate: for a periodic task, its ``validate_datetime``.
        """
        return register_function(self, fn, settings, validate)

    # --- serialization -------------------------------------------------------------

    def serialize_task(self, task: Task[Any]) -> bytes:
        """The bytes stored in the queue for ``task``.

        Raises:
            TaskSerializationError: an argument cannot be serialized.
        """
        return self._engine.codec.encode_task(task)

    def deserialize_task(self, data: bytes) -> Task[Any]:
        """Decode bytes from the queue into a :class:`~huey.api.Task`.

        Raises:
            MessageDecodeError: the bytes are not a valid message.
            UnknownTaskError: the message names a task not registered here.
        """
        return self._engine.decode_task(data)

    # --- enqueueing ------------------------------------------------------------------

    @overload
    def enqueue(self: Huey[Literal[True]], task: chord[R, C, Any]) -> ChordResult[R, C]: ...
    @overload
    def enqueue(self: Huey[Literal[True]], task: group[R]) -> ResultGroup[R]: ...
    @overload
    def enqueue(self: Huey[Literal[False]], task: chord[Any, Any, Any] | group[Any]) -> None: ...
    @overload
    def enqueue(self: Huey[bool], task: chord[R, C, Any]) -> ChordResult[R, C] | None: ...
    @overload
    def enqueue(self: Huey[bool], task: group[R]) -> ResultGroup[R] | None: ...
    @overload
    def enqueue(self: Huey[Literal[True]], task: Pipeline[U, Rt]) -> ResultGroup[U]: ...
    @overload
    def enqueue(self: Huey[Literal[True]], task: Task[R]) -> Result[R]: ...
    @overload
    def enqueue(self: Huey[Literal[False]], task: Pipeline[U, Rt]) -> None: ...
    @overload
    def enqueue(self: Huey[Literal[False]], task: Task[R]) -> None: ...
    @overload
    def enqueue(self: Huey[bool], task: Pipeline[U, Rt]) -> ResultGroup[U] | None: ...
    @overload
    def enqueue(self: Huey[bool], task: Task[R]) -> Result[R] | None: ...
    def enqueue(
        self, task: Task[Any] | Pipeline[Any, Any] | group[Any] | chord[Any, Any, Any]
    ) -> Result[Any] | ResultGroup[Any] | ChordResult[Any, Any] | None:
        """Enqueue a task, a pipeline, a :class:`~huey.group` or a :class:`~huey.chord`.

        Returns:
            A :class:`~huey.Result` for a task, a :class:`~huey.ResultGroup` for a
            pipeline (one result per stage) or a group (one per member), a
            :class:`~huey.api.ChordResult` for a chord; ``None`` when results are off.
        """
        if isinstance(task, group | chord):
            return enqueue_group(self, task)
        return enqueue_with_handles(self, cast("Task[Any]", task))

    def dequeue(self) -> Task[Any] | None:
        """Take the next task from the queue (``None`` when it is empty).

        Raises:
            MessageDecodeError: the item could not be decoded (it has been taken off the
                queue and is attached as ``exc.data``).
            UnknownTaskError: the item names a task not registered here (attached as
                ``exc.data`` too).
        """
        return self._engine.dequeue()

    def add_schedule(self, task: Task[Any]) -> None:
        """Put ``task`` in the schedule, to be enqueued at its ``eta``."""
        self._engine.enqueuer.schedule(task)

    def read_schedule(self, timestamp: datetime | float | None = None) -> list[Task[Any]]:
        """Take every scheduled task due at ``timestamp`` (default now) off the schedule.

        Items that cannot be decoded are logged and skipped.
        """
        return self._engine.read_schedule(self._engine.timestamp(timestamp))

    def read_periodic(self, timestamp: datetime | float) -> list[Task[Any]]:
        """New tasks for every periodic task whose ``validate_datetime`` accepts ``timestamp``.

        A naive datetime is taken as already in this huey's frame (UTC, or local time
        with ``utc=False``) and passed to ``validate_datetime`` unchanged, as the original
        huey does; epoch seconds and aware datetimes are converted to that frame.
        """
        return self._engine.periodic_tasks(timestamp)

    def ready_to_run(self, task: Task[Any], timestamp: datetime | float | None = None) -> bool:
        """Whether ``task`` is due at ``timestamp`` (default now)."""
        return _core.is_due(task, self._engine.timestamp(timestamp))

    # --- execution -----------------------------------------------------------------

    def execute(
        self,
        task: Task[Any],
        timestamp: datetime | float | None = None,
        *,
        revocations: Sequence[bytes | None] | None = None,
    ) -> object:
        """Run ``task`` now, the way a consumer worker does; return its value.

        A task that is not due yet goes to the schedule; a revoked or expired task is
        dropped (with its signal). Results, retries and pipeline stages are handled.

        Args:
            task: the task to run.
            timestamp: the current time (default: the clock's).
            revocations: the stored revocation flags of the task instance and of its
                task (``r:<id>`` then ``rt:<name>``, ``None`` for no flag) when the
                caller already read them, as :attr:`~huey.protocols.Lease.watched`
                holds them; by default they are read from the storage.

        Raises:
            UnknownTaskError: ``task`` names a task not registered here.
            ValueError: ``revocations`` does not hold exactly two flags.
        """
        return self._engine.execute(task, self._engine.timestamp(timestamp), revocations)

    def build_error_result(self, task: Task[Any], exception: BaseException) -> dict[str, object]:
        """The metadata stored as the result of ``task`` failing with ``exception``.

        Override it in a subclass to store more (or different) fields; a reader gets
        them in :attr:`TaskException.metadata <huey.exceptions.TaskException.metadata>`
        and from :meth:`Result.get_raw_result`. The default has ``error`` (the
        exception's ``repr``; for a sub-task's re-raised ``TaskException``, the
        sub-task's error), ``retries`` (left when it failed), ``traceback`` and
        ``task_id``; a field the override leaves out keeps its default value. If the
        override raises, or returns what the serializer cannot store, the default
        record is stored and the problem logged.
        """
        return default_error_result(task, exception)

    # --- hooks -----------------------------------------------------------------------

    def pre_execute(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator registering ``hook(task)``, run before every task.

        Raising :class:`~huey.CancelExecution` cancels the task; other exceptions are
        logged.
        """
        return self._hook_decorator("pre_execute", name)

    def post_execute(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator registering ``hook(task, value, exc)``, run after every task."""
        return self._hook_decorator("post_execute", name)

    def on_startup(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator registering ``hook()``, run when each consumer worker starts."""
        return self._hook_decorator("startup", name)

    def on_shutdown(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator registering ``hook()``, run when each consumer worker stops."""
        return self._hook_decorator("shutdown", name)

    def _hook_decorator(
        self, kind: Literal["pre_execute", "post_execute", "startup", "shutdown"], name: str | None
    ) -> Callable[[F], F]:
        def register(fn: F) -> F:
            self._engine.events.add_hook(kind, fn, name)
            return fn

        return register

    def unregister_pre_execute(self, name_or_fn: str | Callable[..., object]) -> bool:
        """Remove a pre-execute hook by name or function; whether it was found."""
        return self._engine.events.remove_hook("pre_execute", name_or_fn)

    def unregister_post_execute(self, name_or_fn: str | Callable[..., object]) -> bool:
        """Remove a post-execute hook by name or function; whether it was found."""
        return self._engine.events.remove_hook("post_execute", name_or_fn)

    def unregister_on_startup(self, name_or_fn: str | Callable[..., object]) -> bool:
        """Remove a startup hook by name or function; whether it was found."""
        return self._engine.events.remove_hook("startup", name_or_fn)

    def unregister_on_shutdown(self, name_or_fn: str | Callable[..., object]) -> bool:
        """Remove a shutdown hook by name or function; whether it was found."""
        return self._engine.events.remove_hook("shutdown", name_or_fn)

    def run_startup_hooks(self) -> None:
        """Run the startup hooks (the consumer calls this in each worker)."""
        self._engine.events.run_lifecycle("startup")

    def run_shutdown_hooks(self) -> None:
        """Run the shutdown hooks (the consumer calls this in each worker)."""
        self._engine.events.run_lifecycle("shutdown")

    # --- signals ---------------------------------------------------------------------

    def signal(self, *signals: Signal) -> Callable[[F], F]:
        """Decorator connecting a receiver to ``signals`` (all signals if none given).

        The receiver is called as ``receiver(signal, task, *extra)``; the ``error``
        signal passes the exception as the extra argument.

        Raises:
            ValueError: a name is not a signal.
        """
        events = self._engine.events
        events.check(signals)  # fail at the decorator, not when it is applied

        def connect(fn: F) -> F:
            events.connect(fn, signals)
            return fn

        return connect

    def disconnect_signal(self, receiver: Receiver, *signals: Signal) -> None:
        """Disconnect ``receiver`` from ``signals`` (from all if none given)."""
        self._engine.events.disconnect(receiver, signals)

    # --- revocation --------------------------------------------------------------------

    def revoke_by_id(
        self, task_id: str, revoke_until: datetime | None = None, revoke_once: bool = False
    ) -> None:
        """Revoke one task instance by id (until ``revoke_until``, or for one attempt)."""
        until = None if revoke_until is None else epoch_of(revoke_until, what="revoke_until")
        self._engine.revocations.put(instance_key(task_id), until, revoke_once)

    def revoke(
        self, task: Task[Any], revoke_until: datetime | None = None, revoke_once: bool = False
    ) -> None:
        """Revoke one task instance (prefer :meth:`Result.revoke`)."""
        self.revoke_by_id(task.id, revoke_until, revoke_once)

    def revoke_all(
        self,
        task_class: TaskWrapper[Any, Any, Any],
        revoke_until: datetime | None = None,
        revoke_once: bool = False,
    ) -> None:
        """Revoke every instance of a task (prefer :meth:`TaskWrapper.revoke`)."""
        task_class.revoke(revoke_until, revoke_once)

    def restore_by_id(self, task_id: str) -> bool:
        """Remove a task instance's revocation; whether there was one."""
        return self._engine.revocations.remove(instance_key(task_id))

    def restore(self, task: Task[Any]) -> bool:
        """Remove a task instance's revocation (prefer :meth:`Result.restore`)."""
        return self.restore_by_id(task.id)

    def restore_all(self, task_class: TaskWrapper[Any, Any, Any]) -> bool:
        """Remove a whole task's revocation (prefer :meth:`TaskWrapper.restore`)."""
        return task_class.restore()

    def is_revoked(
        self,
        task: Task[Any] | Result[Any] | TaskWrapper[Any, Any, Any] | str,
        timestamp: datetime | None = None,
        peek: bool = True,
    ) -> bool:
        """Whether a task instance (a task, its result handle or its id) or a whole task
        (its wrapper) is revoked at ``timestamp`` (default now).

        With ``peek=False`` the check counts as a run, as at execution: a revocation for
        one attempt (``revoke_once``) that applies is used up, and a lapsed
        ``revoke_until`` is removed.
        """
        if isinstance(task, TaskWrapper):
            return task.is_revoked(timestamp, peek)
        if isinstance(task, Result):
            task = task.task
        revocations = self._engine.revocations
        keys = (instance_key(task),) if isinstance(task, str) else revocations.keys_of(task)
        return revocations.any_applies(keys, self._engine.timestamp(timestamp), consume=not peek)

    # --- results -----------------------------------------------------------------------

    def result(
        self,
        task_id: str,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> object:
        """Read the result of the task with id ``task_id`` (see :meth:`Result.get`)."""
        handle: Result[object] = Result(self, Task(id=task_id, name=""))
        return handle.get(blocking, timeout, backoff, max_delay, revoke_on_timeout, preserve)

    # --- locks -------------------------------------------------------------------------

    def lock_task(self, lock_name: str, ttl: float | None = None) -> TaskLock:
        """A lock usable as a decorator (under ``@huey.task()``) or a context manager.

        Args:
            lock_name: the lock's name.
            ttl: seconds after which the lock frees itself, so a killed worker cannot
                hold it for ever (needs a storage with expiring keys).
        """
        return TaskLock(self, lock_name, ttl)

    def rate_limit(
        self, name: str, limit: int, per: float | timedelta, retry: bool = True
    ) -> RateLimit:
        """At most ``limit`` runs per ``per`` seconds; a decorator or a context manager.

        Put the decorator below ``@huey.task()``, next to the function. A run over the
        limit raises :class:`~huey.exceptions.RateLimitExceeded`; the consumer emits
        ``SIGNAL_RATE_LIMITED`` and reschedules the task for the start of the next
        window. Counts are shared by every process using the storage.

        Args:
            name: the rate limit's name; rate limits with the same name share the count.
            limit: runs admitted per window.
            per: the window's length in seconds (or a ``timedelta``).
            retry: ``True`` to reschedule a refused task without using up one of its
                retries; ``False`` to treat the refusal as a failure (retried only if
                the task has retries left).

        Raises:
            ConfigurationError: the storage has no atomic counters (``SupportsCounters``).
            TypeError: an argument of the wrong type (``limit`` must be an ``int``).
            ValueError: an empty ``name``, a ``limit`` below 1, a ``per`` that is not
                positive.
        """
        return RateLimit(self, name, limit, per, retry)

    def is_locked(self, lock_name: str) -> bool:
        """Whether the lock ``lock_name`` is held."""
        return self.storage.has_data_for_key(lock_key(self.name, lock_name))

    def flush_locks(self, *names: str) -> set[str]:
        """Release every lock created by this huey, and ``names``; return the names released."""
        storage = self.storage
        candidates = self._engine.registry.lock_names | set(names)
        return {n for n in candidates if storage.pop_data(lock_key(self.name, n)) is not EmptyData}

    def create_consumer(self, **options: Unpack[consumer.ConsumerKwargs]) -> consumer.Consumer:
        """A :class:`~huey.consumer.Consumer` for this huey (call ``run()`` on it).

        Args:
            options: the consumer options (``workers``, ``worker_type``, ...; see
                :class:`~huey.consumer.Consumer`).

        Raises:
            ConfigurationError: an option is invalid.
        """
        from .consumer import Consumer  # deferred: the consumer is a layer below, loaded on use

        return Consumer(self, **options)


def _options(arguments: dict[str, Any], *leave_out: str) -> dict[str, Any]:
    """A decorator method's ``locals()`` as the task's options."""
    return {key: value for key, value in arguments.items() if key not in ("self", *leave_out)}
