"""Conversion of user-supplied datetimes, which may be naive local times (I/O shell).

Reading the host's time zone is environment-dependent, so it lives here rather than in
the pure core.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ._timeutil import aware_to_epoch

__all__ = ("datetime_to_epoch", "epoch_of", "epoch_to_datetime")


def epoch_of(value: object, *, what: str) -> float:
    """:func:`datetime_to_epoch` of a value that must be a datetime (untyped callers).

    Raises:
        TypeError: ``value`` is not a datetime.
        ValueError: see :func:`datetime_to_epoch`.
    """
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {value!r}")
    return datetime_to_epoch(value, what=what)


def datetime_to_epoch(value: datetime, *, what: str = "eta") -> float:
    """UTC epoch seconds of ``value``; a naive ``value`` is the host's local time.

    Raises:
        ValueError: a naive local time that does not exist (skipped by a DST change) or
            that happens twice (repeated by a DST change): pass an aware datetime instead.
    """
    if value.tzinfo is not None and value.utcoffset() is not None:
        return aware_to_epoch(value)
    first = value.replace(fold=0).timestamp()
    second = value.replace(fold=1).timestamp()
    if first != second:
        raise ValueError(
            f"{what} {value.isoformat()} is ambiguous or does not exist in the local time "
            "zone (a daylight-saving change); pass an aware datetime"
        )
    return first


def epoch_to_datetime(timestamp: float, *, utc: bool) -> datetime:
    """Naive datetime for ``timestamp``: UTC when ``utc`` is true, else local time.

    Naive values keep the original huey's convention for ``validate_datetime`` functions
    and ``Task.eta``-style display.
    """
    if utc:
        return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)
    return datetime.fromtimestamp(timestamp)
