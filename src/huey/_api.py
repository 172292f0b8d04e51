"""The :class:`Huey` object: decorators, enqueueing, execution, results (façade + shell).

``Huey`` asks the pure core (``huey._core``) what to do and carries it out against its
storage, serializer and clock. It is generic in its results mode: ``Huey`` (or
``Huey[Literal[True]]``) stores results and task calls return ``Result[R]``;
``Huey(results=False)`` is a ``Huey[Literal[False]]`` whose task calls return ``None``.
"""

from __future__ import annotations

import inspect
import logging
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Generic,
    Literal,
    TypeAlias,
    TypedDict,
    cast,
    overload,
)

from typing_extensions import ParamSpec, TypeVar, Unpack

from . import _core
from ._clock import SystemClock
from ._core import Decision, Drop, Enqueue, Failure, Outcome, Success
from ._decorators import ContextArgDecorator, PeriodicDecorator, TaskDecorator
from ._localtime import datetime_to_epoch, epoch_to_datetime
from ._lock import TaskLock
from ._messages import (
    ErrorInfo,
    Revocation,
    error_from_wire,
    error_to_wire,
    message_from_wire,
    message_to_wire,
    revocation_from_wire,
    revocation_to_wire,
)
from ._result import Result, ResultGroup
from ._task import (
    PeriodicTaskWrapper,
    Pipeline,
    Task,
    TaskOptions,
    TaskSettings,
    TaskWrapper,
)
from ._timeutil import delay_to_seconds
from .constants import EmptyData, EmptyDataType
from .exceptions import (
    CancelExecution,
    ConfigurationError,
    MessageDecodeError,
    RetryTask,
    TaskException,
    TaskLockedException,
    TaskSerializationError,
    TaskTimeout,
    UnknownTaskError,
)
from .protocols import (
    Clock,
    DeadLetter,
    Serializer,
    Storage,
    SupportsCounters,
    SupportsKeyedEnqueue,
    SupportsLeases,
    SupportsResultNotification,
    SupportsScheduleTransfer,
)
from .serializer import Serializer as PickleSerializer
from .signals import (
    ALL_SIGNALS,
    SIGNAL_CANCELED,
    SIGNAL_ENQUEUED,
    SIGNAL_EXECUTING,
    SIGNAL_INTERRUPTED,
    SIGNAL_LOCKED,
    SIGNAL_SCHEDULED,
    SIGNAL_TIMEOUT,
    Signal,
)
from .storage import MemoryStorage, SqliteStorage

if TYPE_CHECKING:
    from . import consumer

__all__ = (
    "Delivery",
    "Huey",
    "HueyOptions",
    "Receiver",
)

logger = logging.getLogger("huey")


@dataclass(slots=True)
class _Settlement:
    """Writes ``Huey._execute`` leaves to its caller, to make together with the ack.

    Attributes:
        results: ``(key, bytes)`` results to store, in the order they were produced.
        discard: keys to remove (the instance revocation flag).
    """

    results: list[tuple[str, bytes]] = field(default_factory=lambda: [])
    discard: list[str] = field(default_factory=lambda: [])


P = ParamSpec("P")
R = TypeVar("R")
U = TypeVar("U")
Rt = TypeVar("Rt")
C = TypeVar("C")
RM = TypeVar("RM", bound=bool, default=Literal[True])
F = TypeVar("F", bound=Callable[..., object])

Delivery: TypeAlias = Literal["at-least-once", "at-most-once"]
"""``at-least-once`` (leased delivery, when the storage supports it) or ``at-most-once``."""

Receiver: TypeAlias = Callable[..., object]
"""A signal receiver, called as ``receiver(signal, task, *extra)``."""

_STORAGE_METHODS = tuple(
    name for name in vars(Storage) if not name.startswith("_") and callable(getattr(Storage, name))
)


class HueyOptions(TypedDict, total=False):
    """Keyword options shared by :class:`Huey` and its convenience subclasses."""

    store_none: bool
    utc: bool
    immediate: bool
    serializer: Serializer | None
    compression: bool
    use_zlib: bool
    immediate_use_memory: bool
    clock: Clock | None
    delivery: Delivery
    lease_timeout: float
    max_deliveries: int


def _check_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative int, got {value!r}")
    return value


def _check_backoff(value: object) -> float:
    if value in (None, 0):
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        raise ValueError(f"retry_backoff must be a number >= 1, got {value!r}")
    return float(value)


def _check_priority(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"priority must be an int, got {value!r}")
    return value


def _check_timeout(value: object) -> float | None:
    if value is None:
        return None
    seconds = delay_to_seconds(value, what="timeout")
    if seconds == 0:
        raise ValueError("timeout must be positive")
    return seconds


def _missing_methods(storage: object) -> list[str]:
    return [name for name in _STORAGE_METHODS if not callable(getattr(storage, name, None))]


class _HueyState:
    """The one constructor body of :class:`Huey` and its subclasses.

    The typed ``__init__`` overloads live on each public class (they decide the results
    mode type parameter); they all delegate here.
    """

    storage_class: ClassVar[Callable[..., Storage]] = SqliteStorage

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
        *,
        storage: Storage | None = None,
        clock: Clock | None = None,
        delivery: Delivery = "at-least-once",
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
        **storage_kwargs: object,
    ) -> None:
        if not name:
            raise ConfigurationError(f"Huey name must be a non-empty string, got {name!r}")
        self.name = name
        self.results = results
        self.store_none = store_none
        self.utc = utc
        self.immediate_use_memory = immediate_use_memory
        self.serializer: Serializer = serializer or PickleSerializer(
            compression=compression, use_zlib=use_zlib
        )
        self.clock: Clock = clock or SystemClock()
        if delivery not in ("at-least-once", "at-most-once"):
            raise ConfigurationError(
                f"delivery must be 'at-least-once' or 'at-most-once', got {delivery!r}"
            )
        self.delivery: Delivery = delivery
        self.lease_timeout: float = delay_to_seconds(lease_timeout, what="lease_timeout")
        if self.lease_timeout <= 0:
            raise ConfigurationError("lease_timeout must be positive")
        self.max_deliveries: int = _check_count(max_deliveries, "max_deliveries")
        if self.max_deliveries < 1:
            raise ConfigurationError("max_deliveries must be at least 1")
        if storage is None:
            storage = self.create_storage(storage_class or type(self).storage_class, storage_kwargs)
        elif storage_kwargs:
            raise ConfigurationError(
                f"storage options {sorted(storage_kwargs)} were given with a ready storage=; "
                "configure the storage object instead"
            )
        self._check_storage(storage)
        self._storage: Storage = storage
        self._immediate_storage: Storage | None = None
        self._immediate = False
        self._registry: dict[str, TaskWrapper[Any, Any, Any]] = {}
        self._pre_execute: dict[str, Callable[[Task[Any]], object]] = {}
        self._post_execute: dict[
            str, Callable[[Task[Any], object, BaseException | None], object]
        ] = {}
        self._startup: dict[str, Callable[[], object]] = {}
        self._shutdown: dict[str, Callable[[], object]] = {}
        self._receivers: dict[Signal, list[Receiver]] = {signal: [] for signal in ALL_SIGNALS}
        self._locks: set[str] = set()
        self.immediate = immediate

    def create_storage(
        self, storage_class: Callable[..., Storage], storage_kwargs: dict[str, object]
    ) -> Storage:
        """Construct the storage as ``storage_class(name, **storage_kwargs)``."""
        return storage_class(self.name, **storage_kwargs)

    @staticmethod
    def _check_storage(storage: object) -> None:
        missing = _missing_methods(storage)
        if missing:
            raise ConfigurationError(
                f"{type(storage).__name__} is not a storage: it lacks {', '.join(missing)} "
                "(see huey.protocols.Storage)"
            )

    @property
    def immediate(self) -> bool:
        """Immediate mode: tasks run synchronously when enqueued.

        Turning it on switches to an in-memory storage unless
        ``immediate_use_memory=False``; turning it off switches back.
        """
        return self._immediate

    @immediate.setter
    def immediate(self, value: bool) -> None:
        self._immediate = bool(value)
        if self._immediate and self.immediate_use_memory and self._immediate_storage is None:
            self._immediate_storage = MemoryStorage(self.name)


class Huey(_HueyState, Generic[RM]):
    """A task queue: register tasks with its decorators, enqueue them, read results.

    Args:
        name: the queue's name (keys and lock names are namespaced by it).
        results: store task return values. With ``False`` task calls return ``None``.
        store_none: also store ``None`` return values.
        utc: evaluate periodic tasks' ``validate_datetime`` in UTC (else local time).
            Naive datetimes passed to huey are always local time, converted to UTC.
        immediate: run tasks synchronously when they are enqueued (for development
            and tests).
        serializer: how messages and results become bytes; default pickle.
        compression: compress with gzip (or zlib, see ``use_zlib``).
        use_zlib: use zlib instead of gzip.
        immediate_use_memory: in immediate mode, use an in-memory storage.
        storage_class: the storage class, constructed as
            ``storage_class(name, **storage_kwargs)``.
        storage: a ready storage object (anything satisfying
            :class:`huey.protocols.Storage`); overrides ``storage_class``.
        clock: the source of time (tests pass a fake clock).
        delivery: ``"at-least-once"`` (the default) leases each message to a worker and
            deletes it only once its outcome is recorded, when the storage supports
            leases (:class:`~huey.protocols.SupportsLeases`); ``"at-most-once"`` pops
            messages destructively like the original huey.
        lease_timeout: seconds a worker holds a message before it may be redelivered
            (workers extend the lease while the task runs).
        max_deliveries: deliveries after which a message goes to the dead-letter area.
        storage_kwargs: passed to ``storage_class``.
    """

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
        *,
        storage: Storage | None = None,
        clock: Clock | None = None,
        delivery: Delivery = "at-least-once",
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
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
        storage: Storage | None = None,
        clock: Clock | None = None,
        delivery: Delivery = "at-least-once",
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
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
        *,
        storage: Storage | None = None,
        clock: Clock | None = None,
        delivery: Delivery = "at-least-once",
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
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
        *,
        storage: Storage | None = None,
        clock: Clock | None = None,
        delivery: Delivery = "at-least-once",
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
        **storage_kwargs: object,
    ) -> None:
        super().__init__(
            name,
            results,
            store_none,
            utc,
            immediate,
            serializer,
            compression,
            use_zlib,
            immediate_use_memory,
            storage_class,
            storage=storage,
            clock=clock,
            delivery=delivery,
            lease_timeout=lease_timeout,
            max_deliveries=max_deliveries,
            **storage_kwargs,
        )

    # --- storage -------------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        """The storage in use (the in-memory one while immediate mode uses memory)."""
        if self._immediate and self._immediate_storage is not None:
            return self._immediate_storage
        return self._storage

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
        return TaskDecorator(self, self._settings_dict(locals()))

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
        settings = self._settings_dict(locals())
        del settings["validate_datetime"]
        return PeriodicDecorator(self, validate_datetime, settings)

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
        settings = self._settings_dict(locals())
        del settings["obj"], settings["as_argument"]
        if as_argument:
            return ContextArgDecorator(self, obj, settings)
        return TaskDecorator(self, settings, obj)

    @staticmethod
    def _settings_dict(arguments: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in arguments.items() if key != "self"}

    def register_task(
        self,
        fn: Callable[..., Any],
        settings: dict[str, Any],
        validate: Callable[[datetime], bool] | None,
    ) -> TaskWrapper[Any, Any, Any]:
        """Register ``fn`` as a task (used by the decorators; prefer :meth:`task`).

        Args:
            fn: the function (a :class:`TaskWrapper` is unwrapped).
            settings: the decorator's keyword arguments.
            validate: for a periodic task, its ``validate_datetime``.
        """
        if isinstance(fn, TaskWrapper):
            fn = fn.func
        if inspect.iscoroutinefunction(fn):
            raise ConfigurationError(
                f"{fn.__qualname__} is an async function; huey runs plain functions "
                "(wrap the coroutine with asyncio.run() in a plain function)"
            )
        name = settings.get("name") or f"{fn.__module__}.{fn.__name__}"
        if name in self._registry:
            raise ValueError(f"a task named {name!r} is already registered")
        if settings.get("context"):
            parameters = inspect.signature(fn).parameters
            accepts_task = "task" in parameters or any(
                p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
            )
            if not accepts_task:
                raise ConfigurationError(
                    f"{name} is registered with context=True, so it must accept a `task` "
                    "keyword argument (e.g. `task: Task[int] | None = None`)"
                )
        if validate is not None:
            # The scheduler calls periodic tasks without arguments: fail now, not at run time.
            required = [
                p.name
                for p in inspect.signature(fn).parameters.values()
                if p.default is inspect.Parameter.empty
                and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
                and not (p.name == "task" and settings.get("context"))
            ]
            if required:
                raise ConfigurationError(
                    f"periodic task {name} is called without arguments, but requires "
                    f"{', '.join(required)}"
                )
        task_settings = TaskSettings(
            name=name,
            retries=_check_count(settings.get("retries", 0), "retries"),
            retry_delay=delay_to_seconds(settings.get("retry_delay", 0), what="retry_delay"),
            retry_backoff=_check_backoff(settings.get("retry_backoff", 1.0)),
            priority=_check_priority(settings.get("priority")),
            expires=settings.get("expires"),
            timeout=_check_timeout(settings.get("timeout")),
            context=bool(settings.get("context")),
            periodic=validate is not None,
        )
        wrapper: TaskWrapper[Any, Any, Any]
        if validate is None:
            wrapper = TaskWrapper(self, fn, task_settings)
        else:
            wrapper = PeriodicTaskWrapper(self, fn, task_settings, validate)
        self._registry[name] = wrapper
        return wrapper

    def _unregister(self, wrapper: TaskWrapper[Any, Any, Any]) -> bool:
        return self._registry.pop(wrapper.name, None) is not None

    # --- building tasks --------------------------------------------------------------

    def _epoch(self, value: datetime, what: str) -> float:
        if not isinstance(value, datetime):  # pyright: ignore[reportUnnecessaryIsInstance]  # checked for untyped callers
            raise TypeError(f"{what} must be a datetime, got {value!r}")
        return datetime_to_epoch(value, what=what)

    def _build_task(
        self,
        wrapper: TaskWrapper[Any, R, Any],
        args: tuple[object, ...],
        kwargs: dict[str, object],
        options: TaskOptions,
    ) -> Task[R]:
        settings = wrapper.settings
        unknown = set(options) - set(TaskOptions.__annotations__)
        if unknown:
            raise TypeError(f"unknown task options: {', '.join(sorted(unknown))}")
        eta: float | None = None
        if "eta" in options and "delay" in options:
            raise ValueError("give eta or delay, not both")
        if "eta" in options:
            if not isinstance(options["eta"], datetime):  # pyright: ignore[reportUnnecessaryIsInstance]  # checked for untyped callers
                raise TypeError(f"eta must be a datetime, got {options['eta']!r}")
            eta = self._epoch(options["eta"], "eta")
        elif "delay" in options:
            delay = delay_to_seconds(options["delay"])
            eta = self.clock.time() + delay if delay else None
        expires_value = options.get("expires", settings.expires)
        expires: float | None = None
        expires_at: float | None = None
        if isinstance(expires_value, datetime):
            expires_at = self._epoch(expires_value, "expires")
        elif expires_value is not None:
            expires = delay_to_seconds(expires_value, what="expires")
        task_id = options.get("id") or str(uuid.uuid4())
        timeout = options.get("timeout", settings.timeout)
        task: Task[R] = Task(
            id=task_id,
            name=settings.name,
            args=args,
            kwargs=kwargs,
            eta=eta,
            retries=_check_count(options.get("retries", settings.retries), "retries"),
            retry_delay=delay_to_seconds(
                options.get("retry_delay", settings.retry_delay), what="retry_delay"
            ),
            retry_backoff=_check_backoff(options.get("retry_backoff", settings.retry_backoff)),
            priority=_check_priority(options.get("priority", settings.priority)),
            expires=expires,
            expires_at=expires_at,
            timeout=_check_timeout(timeout),
        )
        return task

    def _copy_for_reschedule(
        self,
        task: Task[R],
        *,
        eta: datetime | None,
        delay: float | None,
        expires: float | datetime | None,
        priority: int | None,
    ) -> Task[R]:
        new_eta: float | None = None
        if eta is not None and delay is not None:
            raise ValueError("give eta or delay, not both")
        if eta is not None:
            new_eta = self._epoch(eta, "eta")
        elif delay is not None:
            new_eta = self.clock.time() + delay_to_seconds(delay)
        # A relative expiry is re-resolved when the copy is enqueued; an absolute one stays.
        kept_expiry = task.expires_at if task.expires is None else None
        changes: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "eta": new_eta,
            "expires_at": kept_expiry,
        }
        if isinstance(expires, datetime):
            changes.update(expires=None, expires_at=self._epoch(expires, "expires"))
        elif expires is not None:
            changes["expires"] = delay_to_seconds(expires, what="expires")
        if priority is not None:
            changes["priority"] = _check_priority(priority)
        return replace(task, **changes)

    # --- serialization -------------------------------------------------------------

    def serialize_task(self, task: Task[Any]) -> bytes:
        """The bytes stored in the queue for ``task``.

        Raises:
            TaskSerializationError: an argument cannot be serialized.
        """
        try:
            return self.serializer.serialize(message_to_wire(task))
        except Exception as exc:
            raise TaskSerializationError(
                f"cannot serialize the arguments of {task.name}: {exc!r}"
            ) from exc

    def deserialize_task(self, data: bytes) -> Task[Any]:
        """Decode bytes from the queue into a :class:`~huey.api.Task`.

        Raises:
            MessageDecodeError: the bytes are not a valid message.
            UnknownTaskError: the message names a task not registered here.
        """
        task: Task[Any] = message_from_wire(self.serializer.deserialize(data), Task)
        if task.name not in self._registry:
            raise UnknownTaskError(task.name)
        return task

    # --- enqueueing ------------------------------------------------------------------

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
        self, task: Task[Any] | Pipeline[Any, Any]
    ) -> Result[Any] | ResultGroup[Any] | None:
        """Enqueue a task or a pipeline.

        Returns:
            A :class:`~huey.Result` for a task, a :class:`~huey.ResultGroup` for a
            pipeline (one result per stage), ``None`` when results are off.
        """
        head = cast("Task[Any]", task)
        self._enqueue_message(head)
        if not self.results:
            return None
        stages = _core.pipeline_stages(head)
        if len(stages) == 1:
            return Result(self, head)
        return ResultGroup([Result(self, cast("Task[Any]", stage)) for stage in stages])

    def _enqueue_many(self, tasks: list[Task[Any]]) -> ResultGroup[Any] | None:
        for task in tasks:
            self._enqueue_message(task)
        return ResultGroup([Result(self, task) for task in tasks]) if self.results else None

    def _enqueue_message(self, task: Task[Any]) -> None:
        now = self.clock.time()
        task = _core.resolve_expiry(task, now)
        if not _core.is_due(task, now):
            self.add_schedule(task)
            return
        if self._immediate:
            self._emit(SIGNAL_ENQUEUED, task)
            self.execute(task)
            return
        data = self.serialize_task(task)
        storage = self.storage
        if isinstance(storage, SupportsKeyedEnqueue):
            # reserve then hands the revocation flags over with the lease (no extra reads).
            storage.enqueue_keyed(data, task.priority or None, self._revocation_keys(task))
        else:
            storage.enqueue(data, task.priority or None)
        self._emit(SIGNAL_ENQUEUED, task)

    def dequeue(self) -> Task[Any] | None:
        """Take the next task from the queue (``None`` when it is empty).

        Raises:
            MessageDecodeError: the item could not be decoded (it has been taken off the
                queue and is attached as ``exc.data``).
            UnknownTaskError: the item names a task not registered here (attached as
                ``exc.data`` too).
        """
        data = self.storage.dequeue()
        if data is None:
            return None
        try:
            return self.deserialize_task(data)
        except (MessageDecodeError, UnknownTaskError) as exc:
            exc.data = data
            raise

    def add_schedule(self, task: Task[Any]) -> None:
        """Put ``task`` in the schedule, to be enqueued at its ``eta``."""
        eta = task.eta if task.eta is not None else self.clock.time()
        storage = self.storage
        if isinstance(storage, SupportsScheduleTransfer):
            # The priority travels with the item, so the atomic move keeps it.
            storage.add_to_schedule_with_priority(
                self.serialize_task(task), eta, task.priority or 0
            )
        else:
            storage.add_to_schedule(self.serialize_task(task), eta)
        self._emit(SIGNAL_SCHEDULED, task)

    def read_schedule(self, timestamp: datetime | float | None = None) -> list[Task[Any]]:
        """Take every scheduled task due at ``timestamp`` (default now) off the schedule.

        Items that cannot be decoded are logged and skipped.
        """
        now = self._timestamp(timestamp)
        tasks: list[Task[Any]] = []
        for data in self.storage.read_schedule(now):
            try:
                tasks.append(self.deserialize_task(data))
            except (MessageDecodeError, UnknownTaskError):
                logger.exception("undecodable item in the schedule of %s", self.name)
        return tasks

    def read_periodic(self, timestamp: datetime | float) -> list[Task[Any]]:
        """New tasks for every periodic task whose ``validate_datetime`` accepts ``timestamp``.

        A naive datetime is taken as already in this huey's frame (UTC, or local time
        with ``utc=False``) and passed to ``validate_datetime`` unchanged, as the original
        huey does; epoch seconds and aware datetimes are converted to that frame.
        """
        if isinstance(timestamp, datetime) and timestamp.tzinfo is None:
            moment = timestamp
        else:
            moment = epoch_to_datetime(self._timestamp(timestamp), utc=self.utc)
        return [
            wrapper.s()
            for wrapper in self._registry.values()
            if isinstance(wrapper, PeriodicTaskWrapper) and wrapper.validate_datetime(moment)
        ]

    def ready_to_run(self, task: Task[Any], timestamp: datetime | float | None = None) -> bool:
        """Whether ``task`` is due at ``timestamp`` (default now)."""
        return _core.is_due(task, self._timestamp(timestamp))

    def _timestamp(self, timestamp: datetime | float | None) -> float:
        if timestamp is None:
            return self.clock.time()
        if isinstance(timestamp, datetime):
            return self._epoch(timestamp, "timestamp")
        return float(timestamp)

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
        return self._execute(task, timestamp, revocations, None)

    def _execute(
        self,
        task: Task[Any],
        timestamp: datetime | float | None,
        revocations: Sequence[bytes | None] | None,
        settlement: _Settlement | None,
    ) -> object:
        """:meth:`execute`; with ``settlement``, results and flag removals are left in it."""
        if revocations is not None and len(revocations) != 2:
            raise ValueError(
                f"revocations must hold 2 flags (instance, task), got {len(revocations)}"
            )
        now = self._timestamp(timestamp)
        wrapper = self._registry.get(task.name)
        if wrapper is None:
            raise UnknownTaskError(task.name)
        revoked = _core.is_due(task, now) and self._check_and_consume_revocation(
            task, now, revocations
        )
        decision: Decision = _core.decide(task, now, revoked=revoked)
        if isinstance(decision, _core.Defer):
            self.add_schedule(task)
            return None
        if isinstance(decision, Drop):
            self._emit(decision.signal, task)
            return None
        self._emit(SIGNAL_EXECUTING, task)
        try:
            self._run_pre_execute(task)
        except CancelExecution:
            self._emit(SIGNAL_CANCELED, task)
            return None
        outcome = self._call(wrapper, task)
        if not wrapper.settings.periodic:
            if settlement is None:
                self.storage.pop_data(task.revoke_id)
            else:
                settlement.discard.append(task.revoke_id)
        self._apply(
            task,
            _core.settle(
                task,
                outcome,
                self.clock.time(),
                store_results=self.results and not wrapper.settings.periodic,
                store_none=self.store_none,
            ),
            settlement,
        )
        return outcome.value if isinstance(outcome, Success) else None

    def _call(self, wrapper: TaskWrapper[Any, Any, Any], task: Task[Any]) -> Outcome:
        kwargs = dict(task.kwargs)
        if wrapper.settings.context:
            kwargs["task"] = task
        try:
            return Success(wrapper.func(*task.args, **kwargs))
        except TaskLockedException as exc:
            logger.warning("task %s not run: %s", task.id, exc)
            return Failure(exception=exc, signal=SIGNAL_LOCKED)
        except RetryTask as exc:
            eta = None
            try:
                if exc.eta is not None:
                    eta = self._epoch(exc.eta, "RetryTask eta")
                elif exc.delay is not None:
                    eta = self.clock.time() + delay_to_seconds(exc.delay, what="RetryTask delay")
            except (TypeError, ValueError) as bad:
                # A RetryTask with an unusable eta/delay is a bug in the task: report it
                # like any other error instead of letting it escape the worker.
                logger.exception("task %s (%s) raised an invalid RetryTask", task.name, task.id)
                return Failure(exception=bad, traceback=traceback.format_exc())
            return Failure(exception=exc, signal=None, retry=True, retry_eta=eta, store=False)
        except CancelExecution as exc:
            return Failure(exception=exc, signal=SIGNAL_CANCELED, retry=exc.retry, store=False)
        except TaskTimeout as exc:
            return Failure(exception=exc, signal=SIGNAL_TIMEOUT, traceback=traceback.format_exc())
        except KeyboardInterrupt as exc:
            return Failure(exception=exc, signal=SIGNAL_INTERRUPTED, store=False)
        except Exception as exc:
            logger.exception("task %s (%s) failed", task.name, task.id)
            return Failure(exception=exc, traceback=traceback.format_exc())

    def _serialize_result(self, task: Task[Any], value: object) -> bytes:
        try:
            return self.serializer.serialize(value)
        except Exception as exc:
            # The task ran, but its value cannot be stored: store why instead, so the
            # reader gets a TaskException rather than waiting for ever.
            logger.exception("cannot serialize the result of %s (%s)", task.name, task.id)
            error = TaskSerializationError(f"cannot serialize the result of {task.name}: {exc!r}")
            info = ErrorInfo(
                error=repr(error),
                traceback=traceback.format_exc(),
                task_id=task.id,
                retries=task.retries,
            )
            return self.serializer.serialize(error_to_wire(info))

    def _apply(
        self,
        task: Task[Any],
        effects: Iterable[_core.Effect],
        settlement: _Settlement | None = None,
    ) -> None:
        for effect in effects:
            match effect:
                case _core.StoreResult(task_id, value):
                    data = self._serialize_result(task, value)
                    if settlement is None:
                        self._store_result(task_id, data)
                    else:
                        settlement.results.append((task_id, data))
                case _core.StoreError(task_id, info):
                    data = self.serializer.serialize(error_to_wire(info))
                    if settlement is None:
                        self._store_result(task_id, data)
                    else:
                        settlement.results.append((task_id, data))
                case _core.PostExecute(value, exception):
                    self._run_post_execute(task, value, exception)
                case _core.Emit(signal, exception):
                    extra = () if exception is None or signal != "error" else (exception,)
                    self._emit(signal, task, *extra)
                case Enqueue(message):
                    self._enqueue_message(cast("Task[Any]", message))

    # --- hooks -----------------------------------------------------------------------

    def _run_pre_execute(self, task: Task[Any]) -> None:
        for name, hook in list(self._pre_execute.items()):
            try:
                hook(task)
            except CancelExecution:
                logger.info("task %s cancelled by pre-execute hook %s", task.id, name)
                raise
            except Exception:
                logger.exception("pre-execute hook %s failed", name)

    def _run_post_execute(self, task: Task[Any], value: object, exc: BaseException | None) -> None:
        for name, hook in list(self._post_execute.items()):
            try:
                hook(task, value, exc)
            except Exception:
                logger.exception("post-execute hook %s failed", name)

    @staticmethod
    def _hook_name(fn: Callable[..., object], name: str | None) -> str:
        return name or str(getattr(fn, "__name__", repr(fn)))

    def pre_execute(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator registering ``hook(task)``, run before every task.

        Raising :class:`~huey.CancelExecution` cancels the task; other exceptions are
        logged.
        """

        def register(fn: F) -> F:
            self._pre_execute[self._hook_name(fn, name)] = fn
            return fn

        return register

    def post_execute(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator registering ``hook(task, value, exc)``, run after every task."""

        def register(fn: F) -> F:
            self._post_execute[self._hook_name(fn, name)] = fn
            return fn

        return register

    def on_startup(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator registering ``hook()``, run when each consumer worker starts."""

        def register(fn: F) -> F:
            self._startup[self._hook_name(fn, name)] = fn
            return fn

        return register

    def on_shutdown(self, name: str | None = None) -> Callable[[F], F]:
        """Decorator registering ``hook()``, run when each consumer worker stops."""

        def register(fn: F) -> F:
            self._shutdown[self._hook_name(fn, name)] = fn
            return fn

        return register

    @staticmethod
    def _unregister_hook(hooks: dict[str, Any], name_or_fn: str | Callable[..., object]) -> bool:
        if isinstance(name_or_fn, str):
            return hooks.pop(name_or_fn, None) is not None
        for key, fn in list(hooks.items()):
            if fn is name_or_fn:
                del hooks[key]
                return True
        return False

    def unregister_pre_execute(self, name_or_fn: str | Callable[..., object]) -> bool:
        """Remove a pre-execute hook by name or function; whether it was found."""
        return self._unregister_hook(self._pre_execute, name_or_fn)

    def unregister_post_execute(self, name_or_fn: str | Callable[..., object]) -> bool:
        """Remove a post-execute hook by name or function; whether it was found."""
        return self._unregister_hook(self._post_execute, name_or_fn)

    def unregister_on_startup(self, name_or_fn: str | Callable[..., object]) -> bool:
        """Remove a startup hook by name or function; whether it was found."""
        return self._unregister_hook(self._startup, name_or_fn)

    def unregister_on_shutdown(self, name_or_fn: str | Callable[..., object]) -> bool:
        """Remove a shutdown hook by name or function; whether it was found."""
        return self._unregister_hook(self._shutdown, name_or_fn)

    def run_startup_hooks(self) -> None:
        """Run the startup hooks (the consumer calls this in each worker)."""
        for name, hook in list(self._startup.items()):
            try:
                hook()
            except Exception:
                logger.exception("startup hook %s failed", name)

    def run_shutdown_hooks(self) -> None:
        """Run the shutdown hooks (the consumer calls this in each worker)."""
        for name, hook in list(self._shutdown.items()):
            try:
                hook()
            except Exception:
                logger.exception("shutdown hook %s failed", name)

    # --- signals ---------------------------------------------------------------------

    def signal(self, *signals: Signal) -> Callable[[F], F]:
        """Decorator connecting a receiver to ``signals`` (all signals if none given).

        The receiver is called as ``receiver(signal, task, *extra)``; the ``error``
        signal passes the exception as the extra argument.
        """
        chosen = signals or ALL_SIGNALS
        unknown = [signal for signal in chosen if signal not in self._receivers]
        if unknown:
            raise ValueError(f"unknown signals: {unknown}")

        def connect(fn: F) -> F:
            for signal in chosen:
                if fn not in self._receivers[signal]:
                    self._receivers[signal].append(fn)
            return fn

        return connect

    def disconnect_signal(self, receiver: Receiver, *signals: Signal) -> None:
        """Disconnect ``receiver`` from ``signals`` (from all if none given)."""
        for signal in signals or ALL_SIGNALS:
            if receiver in self._receivers[signal]:
                self._receivers[signal].remove(receiver)

    def _emit(self, signal: Signal, task: Task[Any], *extra: object) -> None:
        for receiver in list(self._receivers[signal]):
            try:
                receiver(signal, task, *extra)
            except Exception:
                logger.exception("receiver of signal %s failed", signal)

    # --- revocation --------------------------------------------------------------------

    def _put_revocation(self, key: str, revoke_until: datetime | None, revoke_once: bool) -> None:
        until = None if revoke_until is None else self._epoch(revoke_until, "revoke_until")
        record = Revocation(until=until, once=revoke_once)
        self.storage.put_data(key, self.serializer.serialize(revocation_to_wire(record)))

    @staticmethod
    def _revocation_keys(task: Task[Any]) -> tuple[str, str]:
        return (task.revoke_id, f"rt:{task.name}")

    def _read_revocation(self, key: str) -> Revocation | None:
        return self._decode_revocation(key, self.storage.peek_data(key))

    def _decode_revocation(self, key: str, raw: bytes | EmptyDataType | None) -> Revocation | None:
        if raw is None or raw is EmptyData:
            return None
        try:
            return revocation_from_wire(self.serializer.deserialize(raw))
        except MessageDecodeError:
            logger.warning("unreadable revocation flag %s counts as revoked", key)
            return Revocation()

    def _revocation_state(self, key: str, now: float) -> tuple[bool, bool]:
        return _core.revocation_applies(self._read_revocation(key), now)

    def _check_and_consume_revocation(
        self, task: Task[Any], now: float, known: Sequence[bytes | None] | None = None
    ) -> bool:
        revoked = False
        for index, key in enumerate(self._revocation_keys(task)):
            if known is None:
                record = self._read_revocation(key)
            else:
                record = self._decode_revocation(key, known[index])
            applies, consume = _core.revocation_applies(record, now)
            if consume:
                self.storage.pop_data(key)
            revoked = revoked or applies
        return revoked

    def revoke_by_id(
        self, task_id: str, revoke_until: datetime | None = None, revoke_once: bool = False
    ) -> None:
        """Revoke one task instance by id (until ``revoke_until``, or for one attempt)."""
        self._put_revocation(f"r:{task_id}", revoke_until, revoke_once)

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
        self._put_revocation(f"rt:{task_class.name}", revoke_until, revoke_once)

    def restore_by_id(self, task_id: str) -> bool:
        """Remove a task instance's revocation; whether there was one."""
        return self.storage.pop_data(f"r:{task_id}") is not EmptyData

    def restore(self, task: Task[Any]) -> bool:
        """Remove a task instance's revocation (prefer :meth:`Result.restore`)."""
        return self.restore_by_id(task.id)

    def restore_all(self, task_class: TaskWrapper[Any, Any, Any]) -> bool:
        """Remove a whole task's revocation (prefer :meth:`TaskWrapper.restore`)."""
        return self.storage.pop_data(f"rt:{task_class.name}") is not EmptyData

    def is_revoked(
        self,
        task: Task[Any] | TaskWrapper[Any, Any, Any] | str,
        timestamp: datetime | None = None,
    ) -> bool:
        """Whether a task instance (or a task id, or a whole task) is revoked."""
        now = self._timestamp(timestamp)
        if isinstance(task, TaskWrapper):
            return self._revocation_state(f"rt:{task.name}", now)[0]
        if isinstance(task, str):
            return self._revocation_state(f"r:{task}", now)[0]
        return (
            self._revocation_state(task.revoke_id, now)[0]
            or self._revocation_state(f"rt:{task.name}", now)[0]
        )

    def _is_name_revoked(self, name: str, timestamp: datetime | None) -> bool:
        return self._revocation_state(f"rt:{name}", self._timestamp(timestamp))[0]

    # --- results -----------------------------------------------------------------------

    def _read_result(
        self,
        task_id: str,
        *,
        blocking: bool,
        timeout: float | None,
        backoff: float,
        max_delay: float,
        preserve: bool,
    ) -> object:
        """The stored (still serialized-then-decoded) result, or ``EmptyData``."""
        read = self.storage.peek_data if preserve else self.storage.pop_data
        raw = read(task_id)
        if raw is EmptyData and blocking:
            deadline = None if timeout is None else self.clock.monotonic() + timeout
            delay = 0.05
            while raw is EmptyData:
                wait = max_delay
                if deadline is not None:
                    remaining = deadline - self.clock.monotonic()
                    if remaining <= 0:
                        break
                    delay = min(delay, remaining)
                    wait = min(wait, remaining)
                storage = self.storage
                if isinstance(storage, SupportsResultNotification) and storage.notify_result:
                    # Woken as soon as the result is stored; re-check at least every
                    # max_delay (several readers of one key: only one is woken).
                    storage.wait_result(task_id, wait)
                else:
                    self.clock.sleep(delay)
                delay = min(delay * backoff, max_delay)
                raw = read(task_id)
        if raw is EmptyData:
            return EmptyData
        return self.serializer.deserialize(raw)

    @staticmethod
    def _unpack_result(value: object) -> object:
        error = error_from_wire(value)
        if error is not None:
            raise TaskException(error.as_metadata())
        return value

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

    def is_locked(self, lock_name: str) -> bool:
        """Whether the lock ``lock_name`` is held."""
        return self.storage.has_data_for_key(f"{self.name}.lock.{lock_name}")

    def flush_locks(self, *names: str) -> set[str]:
        """Release every lock known to this huey, and ``names``; return those released."""
        keys = self._locks | {f"{self.name}.lock.{name}" for name in names}
        return {key for key in keys if self.storage.pop_data(key) is not EmptyData}

    # --- key/value API -----------------------------------------------------------------

    def put(self, key: str, value: object) -> None:
        """Store ``value`` under ``key`` in the result store."""
        self.storage.put_data(key, self.serializer.serialize(value))

    def put_result(self, key: str, value: object) -> None:
        """Store a task result under ``key``."""
        self._store_result(key, self.serializer.serialize(value))

    def _store_result(self, key: str, data: bytes) -> None:
        # Storages that keep results apart (expiry, waking readers) get put_result.
        storage = self.storage
        if isinstance(storage, SupportsResultNotification):
            storage.put_result(key, data)
        else:
            storage.put_data(key, data)

    def put_if_empty(self, key: str, value: object) -> bool:
        """Store ``value`` only if ``key`` holds nothing; whether it was stored."""
        return self.storage.put_if_empty(key, self.serializer.serialize(value))

    def get_raw(self, key: str, peek: bool = False) -> bytes | EmptyDataType:
        """The stored bytes under ``key`` (destructive unless ``peek``), or ``EmptyData``."""
        return self.storage.peek_data(key) if peek else self.storage.pop_data(key)

    def get(self, key: str, peek: bool = False) -> object:
        """The value under ``key``, or ``None``; the read removes it unless ``peek``."""
        raw = self.get_raw(key, peek)
        return None if raw is EmptyData else self.serializer.deserialize(raw)

    def delete(self, key: str) -> bool:
        """Remove ``key``; whether it held a value."""
        return self.storage.pop_data(key) is not EmptyData

    # --- introspection -----------------------------------------------------------------

    def _decode_all(self, items: Iterable[bytes]) -> list[Task[Any]]:
        tasks: list[Task[Any]] = []
        for data in items:
            try:
                tasks.append(message_from_wire(self.serializer.deserialize(data), Task))
            except MessageDecodeError:
                logger.warning("skipping an undecodable item")
        return tasks

    def pending(self, limit: int | None = None) -> list[Task[Any]]:
        """Tasks waiting in the queue, in the order they will run."""
        return self._decode_all(self.storage.enqueued_items(limit))

    def pending_count(self) -> int:
        """How many tasks wait in the queue."""
        return self.storage.queue_size()

    def scheduled(self, limit: int | None = None) -> list[Task[Any]]:
        """Tasks waiting in the schedule, earliest first."""
        return self._decode_all(self.storage.scheduled_items(limit))

    def scheduled_count(self) -> int:
        """How many tasks wait in the schedule."""
        return self.storage.schedule_size()

    def all_results(self) -> dict[str, bytes]:
        """Every key of the result store with its raw bytes."""
        return dict(self.storage.result_items())

    def result_count(self) -> int:
        """How many keys the result store holds (results, revocations, locks...)."""
        return self.storage.result_store_size()

    def __len__(self) -> int:
        return self.pending_count()

    def __bool__(self) -> bool:
        return True

    def _leasing_storage(self, what: str) -> SupportsLeases:
        storage = self.storage
        if not isinstance(storage, SupportsLeases):
            raise ConfigurationError(
                f"{what} needs a storage with leased delivery (SupportsLeases); "
                f"{type(storage).__name__} lacks it"
            )
        return storage

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """Messages moved to the dead-letter area, oldest first.

        A message lands there when it cannot be decoded, names an unknown task, or was
        delivered more than ``max_deliveries`` times without being acknowledged.

        Args:
            limit: return at most this many.

        Raises:
            ConfigurationError: the storage has no leases (no dead-letter area).
        """
        return list(self._leasing_storage("dead_letters()").dead_letters(limit))

    def requeue_dead_letter(self, letter_id: str) -> bool:
        """Put a dead letter back in the queue with a fresh delivery count.

        Args:
            letter_id: the :attr:`~huey.protocols.DeadLetter.id`.

        Returns:
            Whether the dead letter existed.

        Raises:
            ConfigurationError: the storage has no leases (no dead-letter area).
        """
        return self._leasing_storage("requeue_dead_letter()").requeue_dead_letter(letter_id)

    def purge_dead_letters(self) -> int:
        """Delete every dead letter; return how many there were.

        Raises:
            ConfigurationError: the storage has no leases (no dead-letter area).
        """
        return self._leasing_storage("purge_dead_letters()").purge_dead_letters()

    def create_consumer(self, **options: Unpack[consumer.ConsumerKwargs]) -> consumer.Consumer:
        """A :class:`~huey.consumer.Consumer` for this huey (call ``run()`` on it).

        Args:
            options: the consumer options (``workers``, ``worker_type``, ...; see
                :class:`~huey.consumer.Consumer`).

        Raises:
            ConfigurationError: an option is invalid.
        """
        from .consumer import Consumer

        return Consumer(self, **options)

    def flush(self) -> None:
        """Empty the queue, the schedule, the result store and the counters."""
        storage = self.storage
        storage.flush_queue()
        storage.flush_schedule()
        storage.flush_results()
        if isinstance(storage, SupportsCounters):
            storage.flush_counters()
