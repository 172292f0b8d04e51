"""What reading one stored value may cost: the default limits and a bounded ``repr``.

Every limit here is checked before the step it protects (inflating compressed bytes,
recursing into nested values, formatting a value for a log line), so a hostile or
broken message is refused cheaply instead of exhausting memory or the stack.
"""

from __future__ import annotations

import reprlib
from typing import Final

__all__ = (
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "DEFAULT_MAX_DEPTH",
    "bounded_repr",
    "check_limit",
)

DEFAULT_MAX_DECOMPRESSED_SIZE: Final = 64 * 1024 * 1024
"""Bytes a compressed value may inflate to (64 MiB): far above a sane task message,
far below what a "zip bomb" of a few MB would allocate."""

DEFAULT_MAX_DEPTH: Final = 200
"""Nesting depth of decoded containers. Each pipeline stage nests its message one level
deeper, so this leaves room for long pipelines while keeping recursive code (``repr``,
encoders) far from Python's recursion limit of 1000."""

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 80
_REPR.maxother = 80
_REPR.maxlong = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8
_REPR.maxfrozenset = _REPR.maxdeque = _REPR.maxarray = 8


def bounded_repr(value: object) -> str:
    """``repr(value)`` cut to a few levels, items and characters, for log lines.

    Task arguments may be huge or deeply nested; a plain ``repr`` of them could fill
    the log or raise ``RecursionError`` in the worker loop.
    """
    try:
        return _REPR.repr(value)
    except Exception as exc:  # a user __repr__ may raise; a log line must not
        return f"<{type(value).__name__} object, repr failed: {type(exc).__name__}>"


def check_limit(value: object, what: str) -> int | None:
    """``value`` if it is ``None`` (no limit) or a positive ``int``.

    Raises:
        ValueError: anything else; the message names ``what``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int or None, got {value!r:.80}")
    return value
