"""Where the engine's I/O goes: the storage in use, the serializer and the clock."""

from __future__ import annotations

from ..protocols import Clock, Serializer, Storage

__all__ = ("Ports",)


class Ports:
    """The adapters the engine's components share.

    One object, held by every component, so that switching immediate mode (which
    swaps in an in-memory storage) reaches all of them at once.

    Attributes:
        storage: the storage in use now.
        serializer: turns messages and values into bytes.
        clock: the source of time.
        immediate: tasks run synchronously when enqueued.
    """

    __slots__ = ("clock", "immediate", "serializer", "storage")

    def __init__(self, storage: Storage, serializer: Serializer, clock: Clock) -> None:
        self.storage: Storage = storage
        self.serializer: Serializer = serializer
        self.clock: Clock = clock
        self.immediate: bool = False
