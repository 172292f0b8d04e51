"""Signal names emitted by huey while tasks move through their life.

Connect a receiver with :meth:`huey.Huey.signal`; it is called as
``receiver(signal, task, *extra)`` in the process and thread that emitted the signal.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

__all__ = (
    "SIGNAL_CANCELED",
    "SIGNAL_COMPLETE",
    "SIGNAL_ERROR",
    "SIGNAL_EXECUTING",
    "SIGNAL_EXPIRED",
    "SIGNAL_LOCKED",
    "SIGNAL_RETRYING",
    "SIGNAL_REVOKED",
    "SIGNAL_SCHEDULED",
    "SIGNAL_INTERRUPTED",
    "SIGNAL_ENQUEUED",
    "SIGNAL_TIMEOUT",
    "SIGNAL_RATE_LIMITED",
    "SIGNAL_DEAD_LETTER",
    "Signal",
    "ALL_SIGNALS",
)

SIGNAL_CANCELED: Final = "canceled"
SIGNAL_COMPLETE: Final = "complete"
SIGNAL_ERROR: Final = "error"
SIGNAL_EXECUTING: Final = "executing"
SIGNAL_EXPIRED: Final = "expired"
SIGNAL_LOCKED: Final = "locked"
SIGNAL_RETRYING: Final = "retrying"
SIGNAL_REVOKED: Final = "revoked"
SIGNAL_SCHEDULED: Final = "scheduled"
SIGNAL_INTERRUPTED: Final = "interrupted"
SIGNAL_ENQUEUED: Final = "enqueued"
SIGNAL_TIMEOUT: Final = "timeout"
SIGNAL_RATE_LIMITED: Final = "rate-limited"
SIGNAL_DEAD_LETTER: Final = "dead-letter"
"""Not in the original huey: a worker dead-lettered a task's message (delivered
``max_deliveries`` times already)."""

Signal: TypeAlias = Literal[
    "canceled",
    "complete",
    "error",
    "executing",
    "expired",
    "locked",
    "retrying",
    "revoked",
    "scheduled",
    "interrupted",
    "enqueued",
    "timeout",
    "rate-limited",
    "dead-letter",
]

ALL_SIGNALS: Final[tuple[Signal, ...]] = (
    SIGNAL_CANCELED,
    SIGNAL_COMPLETE,
    SIGNAL_ERROR,
    SIGNAL_EXECUTING,
    SIGNAL_EXPIRED,
    SIGNAL_LOCKED,
    SIGNAL_RETRYING,
    SIGNAL_REVOKED,
    SIGNAL_SCHEDULED,
    SIGNAL_INTERRUPTED,
    SIGNAL_ENQUEUED,
    SIGNAL_TIMEOUT,
    SIGNAL_RATE_LIMITED,
    SIGNAL_DEAD_LETTER,
)
