"""Run-time checks of storage arguments shared by the SQL and file storages.

They take ``object``: storages are called by untyped code too.
"""

from __future__ import annotations

from typing import Final, cast

__all__ = ("INT64_MAX", "INT64_MIN", "check_limit", "check_priority", "row_id")

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def check_priority(priority: object) -> int:
    """``priority`` as an int (``None`` counts as 0).

    Raises:
        ValueError: not an int, or outside 64 bits.
    """
    value = priority or 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"priority must be an int, got {priority!r}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"priority must fit in 64 bits, got {priority!r}")
    return value


def check_limit(limit: object) -> int | None:
    """An optional listing limit.

    Raises:
        ValueError: neither ``None`` nor a non-negative int.
    """
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
    return limit


def row_id(letter_id: object) -> int | None:
    """The integer row id a SQL storage made ``letter_id`` from, or ``None`` if it made
    no such id (not an integer, or beyond 64 bits: the database would refuse it)."""
    try:
        value = int(cast("str", letter_id))
    except (TypeError, ValueError):
        return None
    return value if INT64_MIN <= value <= INT64_MAX else None
