"""Validation of delays and conversion of times to UTC epoch seconds (pure).

Every time inside huey is a ``float`` of UTC epoch seconds: unambiguous across hosts
and time zones. This module converts what users pass (seconds, ``timedelta``, aware
``datetime``) and rejects what cannot be a delay. Naive datetimes depend on the host's
local zone and are converted by the I/O shell (see ``huey._localtime``).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

__all__ = ("MAX_DELAY_SECONDS", "aware_to_epoch", "delay_to_seconds")

# About 100 years: anything larger is a bug in the caller, not a schedule.
MAX_DELAY_SECONDS = 100 * 366 * 86400.0


def delay_to_seconds(value: object, *, what: str = "delay") -> float:
    """Validate a delay given as seconds or a ``timedelta`` and return it in seconds.

    Args:
        value: the delay.
        what: the parameter's name, used in error messages.

    Raises:
        TypeError: ``value`` is not a number or a ``timedelta`` (``bool`` is refused).
        ValueError: ``value`` is negative, NaN, infinite or absurdly large.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number of seconds or a timedelta, got {value!r}")
    else:
        seconds = float(value)
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"{what} must be a finite number of seconds, got {value!r}")
    if seconds < 0:
        raise ValueError(f"{what} must not be negative, got {value!r}")
    if seconds > MAX_DELAY_SECONDS:
        raise ValueError(f"{what} of {seconds:.0f} seconds is more than 100 years")
    return seconds


def aware_to_epoch(value: datetime) -> float:
    """UTC epoch seconds of an aware ``datetime``.

    Raises:
        ValueError: ``value`` is naive.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {value!r}")
    return value.timestamp()
