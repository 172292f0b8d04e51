"""Tasks, results, errors and revocation flags to bytes and back, through the serializer."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from typing import Any

from .._messages import (
    ErrorInfo,
    Revocation,
    error_to_wire,
    message_from_wire,
    message_to_wire,
    revocation_from_wire,
    revocation_to_wire,
)
from .._task import Task
from ..constants import EmptyData, EmptyDataType
from ..exceptions import MessageDecodeError, MessageTooLarge, TaskSerializationError
from ..protocols import Serializer

__all__ = ("Codec",)

logger = logging.getLogger("huey")


class Codec:
    """Encodes what huey stores; decodes what it reads back.

    Args:
        serializer: the application's serializer.
        max_message_size: the largest task message in bytes (``None``: no limit).
    """

    __slots__ = ("max_message_size", "serializer")

    def __init__(self, serializer: Serializer, max_message_size: int | None = None) -> None:
        self.serializer: Serializer = serializer
        self.max_message_size: int | None = max_message_size

    def encode(self, value: object) -> bytes:
        """Any value (``Huey.put``, periodic slot markers)."""
        return self.serializer.serialize(value)

    def decode(self, data: bytes) -> object:
        """Bytes written by :meth:`encode`."""
        return self.serializer.deserialize(data)

    def encode_task(self, task: Task[Any]) -> bytes:
        """The bytes stored in the queue for ``task``.

        Raises:
            TaskSerializationError: an argument cannot be serialized.
            MessageTooLarge: the message is over ``max_message_size``.
        """
        try:
            data = self.serializer.serialize(message_to_wire(task))
        except Exception as exc:
            raise TaskSerializationError(
                f"cannot serialize the arguments of {task.name}: {exc!r}"
            ) from exc
        limit = self.max_message_size
        if limit is not None and len(data) > limit:
            raise MessageTooLarge(
                f"task {task.name} is {len(data)} bytes serialized, over max_message_size="
                f"{limit}; pass large data by reference (a path, a key, a row id) instead",
                size=len(data),
                limit=limit,
            )
        return data

    def decode_task(self, data: bytes) -> Task[Any]:
        """The task in ``data``, whether or not its name is registered.

        Raises:
            MessageDecodeError: the bytes are not a valid message.
        """
        task: Task[Any] = message_from_wire(self.serializer.deserialize(data), Task)
        return task

    def decode_tasks(self, items: Iterable[bytes]) -> list[Task[Any]]:
        """Decode every item that can be decoded, logging the others (introspection)."""
        tasks: list[Task[Any]] = []
        for data in items:
            try:
                tasks.append(self.decode_task(data))
            except MessageDecodeError:
                logger.warning("skipping an undecodable item")
        return tasks

    def encode_result(self, task: Task[Any], value: object) -> bytes:
        """The stored form of what ``task`` returned.

        A value the serializer refuses becomes a stored error instead: the task ran, and
        its reader should get a :class:`~huey.exceptions.TaskException` rather than wait
        for ever.
        """
        try:
            return self.serializer.serialize(value)
        except Exception as exc:
            logger.exception("cannot serialize the result of %s (%s)", task.name, task.id)
            error = TaskSerializationError(f"cannot serialize the result of {task.name}: {exc!r}")
            info = ErrorInfo(
                error=repr(error),
                traceback=traceback.format_exc(),
                task_id=task.id,
                retries=task.retries,
            )
            return self.encode_error(info)

    def encode_error(self, info: ErrorInfo) -> bytes:
        """The stored form of a task's error."""
        return self.serializer.serialize(error_to_wire(info))

    def encode_revocation(self, revocation: Revocation) -> bytes:
        """The stored form of a revocation flag."""
        return self.serializer.serialize(revocation_to_wire(revocation))

    def decode_revocation(self, key: str, raw: bytes | EmptyDataType | None) -> Revocation | None:
        """The flag stored under ``key`` (``None``: no flag).

        An unreadable flag counts as a revocation without limits: running a task its
        owner tried to stop is worse than holding it back.
        """
        if raw is None or raw is EmptyData:
            return None
        try:
            return revocation_from_wire(self.serializer.deserialize(raw))
        except MessageDecodeError:
            logger.warning("unreadable revocation flag %s counts as revoked", key)
            return Revocation()
