"""Public helpers of the original huey's ``huey.utils`` that fit this huey.

:class:`Error` and :data:`SKIPPED` are what a chord's callback receives in place of the
result of a member that failed or did not run.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias

from typing_extensions import override

__all__ = ("SKIPPED", "Error", "Skipped", "SkippedType")


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
