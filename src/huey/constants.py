"""Constants shared by huey's modules."""

from __future__ import annotations

import enum
from typing import Final, Literal, TypeAlias

from typing_extensions import override

__all__ = (
    "EmptyData",
    "EmptyDataType",
    "WORKER_THREAD",
    "WORKER_PROCESS",
    "WORKER_GREENLET",
    "WORKER_TYPES",
    "WorkerType",
)


class EmptyDataType(enum.Enum):
    """Type of :data:`EmptyData`, the "no value stored" sentinel returned by storages.

    A one-member enum, so that ``if value is EmptyData`` narrows the type in checkers.
    """

    EmptyData = 0

    @override
    def __repr__(self) -> str:
        return "EmptyData"


EmptyData: Final = EmptyDataType.EmptyData
"""Returned by storage reads (``peek_data``, ``pop_data``) when the key holds nothing."""

WORKER_THREAD: Final = "thread"
WORKER_GREENLET: Final = "greenlet"
WORKER_PROCESS: Final = "process"
WORKER_TYPES: Final = (WORKER_THREAD, WORKER_GREENLET, WORKER_PROCESS)

WorkerType: TypeAlias = Literal["thread", "greenlet", "process"]
