"""Public helpers of the original huey's ``huey.utils`` that fit this huey.

:class:`Error` and :data:`SKIPPED` are what a chord's callback receives in place of the
result of a member that failed or did not run.

The helpers keep the original's names and arguments: :func:`load_class` imports an
object by its dotted path; :func:`utcnow`, :func:`is_naive`, :func:`normalize_time` and
:func:`normalize_expire_time` handle times; :func:`encode` and :func:`noop_context` are
small conveniences. One difference runs through the time helpers: they return *aware*
datetimes, where the original returned naive ones. This huey reads a naive datetime as
the host's local time, so a naive UTC value (what the original's ``utcnow()`` returned)
passed back as an ``eta`` would be off by the UTC offset without a word; an aware one
means the same instant everywhere, and comparing it with a naive one raises
``TypeError`` instead of being silently wrong.

Left out, on purpose:

* ``make_naive``, ``aware_to_utc`` and ``local_to_utc``: they turn datetimes into naive
  ones, which is what the note above asks you not to pass to huey; use
  ``dt.astimezone(UTC)`` (aware) instead.
* ``ChordConfig``: the original's chord bookkeeping inside its pickled messages; this
  huey's messages have their own format.
* ``FileLock``: the original ``FileHuey``'s own lock, not a general tool; ``FileHuey``
  here locks by itself.
* ``time_clock``, ``reraise_as``, ``decode``, ``to_timestamp`` and the ``UTC`` class:
  huey 2.x names that 3.x no longer has (use ``time.monotonic``, ``raise ... from``,
  ``bytes.decode``, ``datetime.timestamp`` and ``datetime.UTC``).
"""

from __future__ import annotations

import contextlib
import enum
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, TypeAlias, overload

from typing_extensions import override

from ._localtime import datetime_to_epoch
from ._timeutil import delay_to_seconds

__all__ = (
    "SKIPPED",
    "Error",
    "Skipped",
    "SkippedType",
    "encode",
    "is_naive",
    "load_class",
    "noop_context",
    "normalize_expire_time",
    "normalize_time",
    "utcnow",
)


@dataclass(frozen=True, slots=True)
class Error:
    """A failed task's error, as a chord's callback receives it (a result, not raised).

    Attributes:
        metadata: the original huey's error mapping: ``error`` (the exception's
            ``repr``), ``traceback``, ``task_id`` and ``retries``.
    """

    metadata: Mapping[str, object] = field(default_factory=lambda: {})

    @property
    def error(self) -> str:
        """The exception's ``repr``."""
        return str(self.metadata.get("error", ""))

    @override
    def __str__(self) -> str:
        return self.error


class Skipped(enum.Enum):
    """Type of :data:`SKIPPED` (a one-member enum, so ``is SKIPPED`` narrows)."""

    SKIPPED = "skipped"

    @override
    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED: Final = Skipped.SKIPPED
"""What a chord's callback receives for a member that was revoked, expired or cancelled."""

SkippedType: TypeAlias = Literal[Skipped.SKIPPED]
"""The type of :data:`SKIPPED`, for annotations (``list[int | Error | SkippedType]``)."""


def load_class(path: str) -> object:
    """Import the object named by ``path``, ``"package.module.name"``.

    ``"package.module:name"`` works too, as in ``huey_consumer``'s import path.

    Example::

        huey = load_class("myapp.tasks.huey")

    Raises:
        ValueError: ``path`` names no module (no ``.`` or ``:``), or an empty part.
        ImportError: the module cannot be imported (``ModuleNotFoundError`` if it does not
            exist).
        AttributeError: the module has no such name.
    """
    if ":" in path:
        module_name, _, name = path.partition(":")
    else:
        module_name, _, name = path.rpartition(".")
    if not module_name or not name:
        raise ValueError(
            f"load_class() needs 'module.name' (e.g. 'myapp.tasks.huey'), got {path!r}"
        )
    module = importlib.import_module(module_name)
    try:
        return getattr(module, name)
    except AttributeError:
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}") from None


def utcnow() -> datetime:
    """The current time as an *aware* UTC datetime (the original returned a naive one)."""
    return datetime.now(UTC)


def is_naive(dt: datetime) -> bool:
    """Whether ``dt`` has no time zone (this huey reads such a datetime as local time)."""
    return dt.utcoffset() is None


def normalize_time(
    eta: datetime | None = None, delay: float | timedelta | None = None, utc: bool = True
) -> datetime:
    """The aware datetime of an ``eta`` or of ``delay`` seconds from now.

    Exactly one of ``eta`` and ``delay`` is given. A naive ``eta`` is the host's local
    time, as everywhere in huey.

    Example::

        normalize_time(delay=60)                      # a minute from now, in UTC
        normalize_time(eta=datetime(2030, 1, 1, 9))   # 09:00 local time, in UTC

    Args:
        eta: a point in time.
        delay: seconds (or a ``timedelta``) from now; not negative.
        utc: return the time in UTC (default); ``False``: in the host's local zone.
            Either way the datetime is aware and names the same instant.

    Raises:
        ValueError: both or neither of ``eta`` and ``delay``; a negative or non-finite
            ``delay``; a naive ``eta`` that a daylight-saving change makes ambiguous or
            skips.
        TypeError: ``eta`` is not a datetime, or ``delay`` not a number or ``timedelta``.
    """
    if (eta is None) == (delay is None):
        raise ValueError("normalize_time() takes an eta (datetime) or a delay (seconds), not both")
    if eta is not None:
        if not isinstance(eta, datetime):  # pyright: ignore[reportUnnecessaryIsInstance]  # untyped callers
            raise TypeError(f"eta must be a datetime, got {eta!r}")
        moment = datetime.fromtimestamp(datetime_to_epoch(eta), UTC)
    else:
        moment = datetime.now(UTC) + timedelta(seconds=delay_to_seconds(delay))
    return moment if utc else moment.astimezone()


def normalize_expire_time(expires: datetime | float | timedelta, utc: bool = True) -> datetime:
    """The aware datetime at which something given ``expires`` expires.

    A datetime is a point in time (:func:`normalize_time`'s ``eta``); a number or a
    ``timedelta`` is a delay from now.

    Raises:
        ValueError, TypeError: as :func:`normalize_time`.
    """
    if isinstance(expires, datetime):
        return normalize_time(eta=expires, utc=utc)
    return normalize_time(delay=expires, utc=utc)


@overload
def encode(s: None) -> None: ...
@overload
def encode(s: str | bytes | int | float) -> bytes: ...
def encode(s: str | bytes | int | float | None) -> bytes | None:
    """``s`` as UTF-8 bytes: bytes as they are, other values by their ``str()``; ``None`` stays."""
    if s is None or isinstance(s, bytes):
        return s
    return str(s).encode("utf-8")


def noop_context() -> contextlib.nullcontext[None]:
    """A context manager that does nothing (``contextlib.nullcontext()``)."""
    return contextlib.nullcontext()
