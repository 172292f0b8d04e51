"""Options: the application's (:class:`HueyOptions`, :class:`Settings`), a task's, a storage's.

Every check here runs where the value enters huey (the ``Huey`` constructor, a
decorator, ``with_options``), so a bad value fails at the call that gave it, with a
message naming the option.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, TypeAlias, TypedDict

from .._clock import SystemClock
from .._timeutil import delay_to_seconds
from ..exceptions import ConfigurationError
from ..protocols import Clock, Serializer, Storage
from ..serializer import Serializer as PickleSerializer

__all__ = (
    "Delivery",
    "HUEY_OPTION_NAMES",
    "HasStorageDefaults",
    "HueyOptions",
    "Settings",
    "check_storage",
    "check_storage_options",
    "clock_from",
    "make_storage",
    "serializer_from",
    "settings_from",
    "check_backoff",
    "check_count",
    "check_priority",
    "check_timeout",
    "option_names",
)

Delivery: TypeAlias = Literal["at-least-once", "at-most-once"]
"""``at-least-once`` (leased delivery, when the storage supports it) or ``at-most-once``."""


class HueyOptions(TypedDict, total=False):
    """Keyword options shared by :class:`~huey.Huey` and its convenience subclasses.

    Attributes:
        store_none: also store ``None`` return values (default ``False``).
        utc: periodic tasks see UTC datetimes (default ``True``; else local time).
        immediate: run tasks synchronously when they are enqueued (default ``False``).
        serializer: how messages and results become bytes (default pickle).
        compression: compress with gzip (default ``False``).
        use_zlib: use zlib instead of gzip (default ``False``).
        immediate_use_memory: immediate mode uses an in-memory storage (default
            ``True``).
        clock: the source of time (tests pass a fake clock).
        delivery: ``"at-least-once"`` (default) or ``"at-most-once"``.
        lease_timeout: seconds a worker holds a message before it may be redelivered
            (default 30).
        max_deliveries: deliveries after which a message is dead-lettered (default 5).
        max_message_size: largest serialized task in bytes, checked at enqueue (default
            ``None``: no limit of huey's own; storages may have theirs).
        store_intermediate_errors: store the error of a failed attempt that will be
            retried (default ``True``, as the original huey); ``False`` stores only the
            final error.
    """

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
    max_message_size: int | None
    store_intermediate_errors: bool


def option_names(options: type) -> frozenset[str]:
    """The keys of an options ``TypedDict`` class (for the run-time check of keywords)."""
    keys: frozenset[str] = frozenset(getattr(options, "__required_keys__", ()))
    return keys | frozenset(getattr(options, "__optional_keys__", ()))


HUEY_OPTION_NAMES = option_names(HueyOptions)
"""The names of :class:`HueyOptions`."""

_STORAGE_METHODS = tuple(
    name for name in vars(Storage) if not name.startswith("_") and callable(getattr(Storage, name))
)


class HasStorageDefaults(Protocol):
    """A ``Huey`` class: the storage it builds by default, and that storage's options."""

    storage_class: ClassVar[Callable[..., Storage]]
    storage_options: ClassVar[frozenset[str] | None]


def make_storage(
    owner: type[HasStorageDefaults],
    name: str,
    storage: Storage | None,
    storage_class: Callable[..., Storage] | None,
    storage_kwargs: Mapping[str, object],
    clock: Clock | None = None,
) -> Storage:
    """The storage a ``Huey`` class is constructed with, checked.

    Args:
        owner: the ``Huey`` class (for its default storage and messages).
        name: the queue's name.
        storage: a ready storage, if one was given.
        storage_class: the storage class, if one was given (its own signature then
            says which keywords it accepts).
        storage_kwargs: keywords for the storage class.
        clock: the application's clock, given to a storage class that takes ``clock``.

    Raises:
        TypeError: an unknown keyword (the message lists the valid options).
        ConfigurationError: keywords with a ready storage, or a storage lacking methods.
    """
    if storage is not None:
        if storage_kwargs:
            raise ConfigurationError(
                f"storage options {sorted(storage_kwargs)} were given with a ready storage=; "
                "configure the storage object instead"
            )
        return check_storage(storage)
    accepted: frozenset[str] | None = None
    if storage_class is None:
        storage_class, accepted = owner.storage_class, owner.storage_options
    check_storage_options(owner.__name__, storage_class, accepted, storage_kwargs)
    kwargs = dict(storage_kwargs)
    if clock is not None and "clock" not in kwargs and _takes_clock(storage_class):
        # A storage that keeps time itself (MemoryStorage's key expiry) follows the
        # application's clock, so a fake clock in tests moves its TTLs too.
        kwargs["clock"] = clock
    return check_storage(storage_class(name, **kwargs))


def _takes_clock(storage_class: Callable[..., Storage]) -> bool:
    try:
        return "clock" in inspect.signature(storage_class).parameters
    except (TypeError, ValueError):  # not introspectable: pass nothing it may not take
        return False


def check_storage_options(
    owner: str,
    storage_class: Callable[..., Storage],
    accepted: frozenset[str] | None,
    storage_kwargs: Mapping[str, object],
) -> None:
    """Refuse keywords that ``storage_class(name, **storage_kwargs)`` would not take.

    Args:
        owner: the class being constructed, for messages.
        storage_class: the storage class.
        accepted: the keywords the caller may pass (``None``: read them from
            ``storage_class``'s signature; a storage taking ``**kwargs`` accepts any).
        storage_kwargs: the keywords.

    Raises:
        TypeError: an unknown keyword; the message lists the valid options.
    """
    if accepted is None:
        accepted = _keyword_parameters(storage_class)
    if accepted is not None:
        unknown = sorted(set(storage_kwargs) - accepted)
        if unknown:
            valid = sorted(HUEY_OPTION_NAMES | accepted | {"results"})
            raise TypeError(
                f"{owner}() got unexpected keyword argument(s) "
                f"{', '.join(map(repr, unknown))}; valid options: {', '.join(valid)}"
            )


def check_storage(storage: Storage) -> Storage:
    """``storage``, if it has every method of :class:`~huey.protocols.Storage`.

    Raises:
        ConfigurationError: it lacks some (they are named).
    """
    missing = [name for name in _STORAGE_METHODS if not callable(getattr(storage, name, None))]
    if missing:
        raise ConfigurationError(
            f"{type(storage).__name__} is not a storage: it lacks {', '.join(missing)} "
            "(see huey.protocols.Storage)"
        )
    return storage


def _keyword_parameters(storage_class: Callable[..., Storage]) -> frozenset[str] | None:
    """The keyword options ``storage_class`` takes (``None``: it takes any keyword)."""
    try:
        parameters = list(inspect.signature(storage_class).parameters.values())
    except (TypeError, ValueError):  # a builtin or C callable: let it decide
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(
        p.name
        for p in parameters[1:]  # the first one is the queue's name
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )


def settings_from(name: str, results: bool, options: Mapping[str, Any]) -> Settings:
    """The :class:`Settings` from a ``Huey`` constructor's arguments."""
    return Settings(
        name=name,
        results=results,
        store_none=options.get("store_none", False),
        utc=options.get("utc", True),
        delivery=options.get("delivery", "at-least-once"),
        lease_timeout=options.get("lease_timeout", 30.0),
        max_deliveries=options.get("max_deliveries", 5),
        max_message_size=options.get("max_message_size"),
        store_intermediate_errors=options.get("store_intermediate_errors", True),
    )


def serializer_from(options: Mapping[str, Any]) -> Serializer:
    """The ``serializer`` option, or pickle with the ``compression`` options."""
    serializer: Serializer | None = options.get("serializer")
    return serializer or PickleSerializer(
        compression=options.get("compression", False), use_zlib=options.get("use_zlib", False)
    )


def clock_from(options: Mapping[str, Any]) -> Clock:
    """The ``clock`` option, or the system clock."""
    clock: Clock | None = options.get("clock")
    return clock or SystemClock()


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The application-wide options of one :class:`~huey.Huey`, validated.

    Attributes:
        name: the queue's name (keys and lock names are namespaced by it).
        results: whether task return values are stored.
        store_none: whether ``None`` return values are stored too.
        utc: whether periodic tasks see UTC (else local) datetimes.
        delivery: the delivery mode asked for.
        lease_timeout: seconds a worker holds a leased message.
        max_deliveries: deliveries after which a message is dead-lettered.
        max_message_size: largest serialized task in bytes (``None``: no limit).
        store_intermediate_errors: whether the error of an attempt that will be retried
            is stored (else only the final error is).
    """

    name: str
    results: bool = True
    store_none: bool = False
    utc: bool = True
    delivery: Delivery = "at-least-once"
    lease_timeout: float = 30.0
    max_deliveries: int = 5
    max_message_size: int | None = None
    store_intermediate_errors: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigurationError(f"Huey name must be a non-empty string, got {self.name!r}")
        if self.delivery not in ("at-least-once", "at-most-once"):
            raise ConfigurationError(
                f"delivery must be 'at-least-once' or 'at-most-once', got {self.delivery!r}"
            )
        lease = delay_to_seconds(self.lease_timeout, what="lease_timeout")
        if lease <= 0:
            raise ConfigurationError("lease_timeout must be positive")
        object.__setattr__(self, "lease_timeout", lease)
        if check_count(self.max_deliveries, "max_deliveries") < 1:
            raise ConfigurationError("max_deliveries must be at least 1")
        if self.max_message_size is not None and (
            check_count(self.max_message_size, "max_message_size") < 1
        ):
            raise ConfigurationError("max_message_size must be a positive number of bytes")
        _check_flag(self.store_intermediate_errors, "store_intermediate_errors")


def _check_flag(value: object, what: str) -> None:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{what} must be True or False, got {value!r:.80}")


def check_count(value: object, what: str) -> int:
    """``value`` if it is a non-negative ``int`` (not a ``bool``).

    Raises:
        ValueError: it is not.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{what} must be a non-negative int, got {value!r}")
    return value


def check_backoff(value: object) -> float:
    """A retry back-off factor (``None`` and ``0`` mean 1: no back-off).

    Raises:
        ValueError: not a number >= 1.
    """
    if value in (None, 0):
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        raise ValueError(f"retry_backoff must be a number >= 1, got {value!r}")
    return float(value)


def check_priority(value: object) -> int:
    """A task priority (``None`` means 0).

    Raises:
        ValueError: not an ``int``.
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"priority must be an int, got {value!r}")
    return value


def check_timeout(value: object) -> float | None:
    """A task timeout in seconds (``None``: no timeout).

    ``0`` (or ``timedelta(0)``) also means no timeout, as in the original huey: a
    per-call ``timeout=0`` lifts the task's default timeout.

    Raises:
        ValueError: negative, or not finite.
        TypeError: not a number of seconds.
    """
    if value is None:
        return None
    seconds = delay_to_seconds(value, what="timeout")
    return seconds or None
