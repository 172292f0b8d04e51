"""Tasks, results, errors and revocation flags to bytes and back, through the serializer.

A serializer that can be bound (:class:`~huey.protocols.BindableSerializer`, such as
:class:`~huey.serializer.SignedSerializer`) is bound twice to the queue's name: once for
queue and schedule items, once for every other stored value, so bytes of one kind are
refused as the other.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from typing import Any

from .._limits import bounded_repr
from .._messages import (
    ErrorInfo,
    Message,
    Revocation,
    error_to_wire,
    message_from_wire,
    message_to_wire,
    revocation_from_wire,
    revocation_to_wire,
)
from .._task import Task
from ..constants import EmptyData, EmptyDataType
from ..exceptions import (
    MessageDecodeError,
    MessageLimitExceeded,
    MessageTooLarge,
    TaskSerializationError,
)
from ..protocols import BindableSerializer, Serializer, SerializerPurpose

__all__ = ("Codec",)

logger = logging.getLogger("huey")


class Codec:
    """Encodes what huey stores; decodes what it reads back.

    Args:
        serializer: the application's serializer.
        max_message_size: the largest task message in bytes (``None``: no limit),
            checked when a task is enqueued and again before one is decoded.
        queue: the queue's name, bound into a bindable serializer.
    """

    __slots__ = ("max_message_size", "messages", "serializer", "values")

    def __init__(
        self, serializer: Serializer, max_message_size: int | None = None, queue: str = ""
    ) -> None:
        self.serializer: Serializer = serializer
        self.max_message_size: int | None = max_message_size
        self.messages: Serializer = _bind(serializer, queue, "message")
        self.values: Serializer = _bind(serializer, queue, "value")

    def encode(self, value: object) -> bytes:
        """Any value (``Huey.put``, periodic slot markers)."""
        return self.values.serialize(value)

    def decode(self, data: bytes) -> object:
        """Bytes written by :meth:`encode`."""
        return self.values.deserialize(data)

    def encode_task(self, task: Task[Any]) -> bytes:
        """The bytes stored in the queue for ``task``.

        Raises:
            TaskSerializationError: an argument cannot be serialized (a ``TypeError``;
                the message names the argument and the task).
            MessageTooLarge: the message is over ``max_message_size``.
        """
        try:
            data = self.messages.serialize(message_to_wire(task))
        except Exception as exc:
            raise TaskSerializationError(f"cannot serialize {self._culprit(task)}: {exc}") from exc
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
            MessageLimitExceeded: the bytes are over ``max_message_size``.
            MessageDecodeError: the bytes are not a valid message.
        """
        limit = self.max_message_size
        if limit is not None and len(data) > limit:
            raise MessageLimitExceeded(
                f"message of {len(data)} bytes is over max_message_size={limit}",
                option="max_message_size",
                limit=limit,
            )
        task: Task[Any] = message_from_wire(self.messages.deserialize(data), Task)
        return task

    def _culprit(self, task: Task[Any]) -> str:
        """Which argument of which stage the serializer refuses (on the error path only)."""
        for stage in _stages(task):
            arguments = [
                *((f"positional argument {i}", arg) for i, arg in enumerate(stage.args)),
                *((f"keyword argument {key!r}", arg) for key, arg in stage.kwargs.items()),
            ]
            for which, value in arguments:
                try:
                    self.serializer.serialize(value)
                except Exception:
                    return f"{which} ({bounded_repr(value)}) of task {stage.name}"
        return f"the arguments of task {task.name}"

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
            return self.values.serialize(value)
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
        return self.values.serialize(error_to_wire(info))

    def encode_revocation(self, revocation: Revocation) -> bytes:
        """The stored form of a revocation flag."""
        return self.values.serialize(revocation_to_wire(revocation))

    def decode_revocation(self, key: str, raw: bytes | EmptyDataType | None) -> Revocation | None:
        """The flag stored under ``key`` (``None``: no flag).

        An unreadable flag counts as a revocation without limits: running a task its
        owner tried to stop is worse than holding it back.
        """
        if raw is None or raw is EmptyData:
            return None
        try:
            return revocation_from_wire(self.values.deserialize(raw))
        except MessageDecodeError:
            logger.warning("unreadable revocation flag %s counts as revoked", key)
            return Revocation()


def _bind(serializer: Serializer, queue: str, purpose: SerializerPurpose) -> Serializer:
    if isinstance(serializer, BindableSerializer):
        return serializer.bind(queue, purpose)
    return serializer


def _stages(message: Message) -> list[Message]:
    """``message`` and every message it carries: later stages, handlers, chord callbacks."""
    stages: list[Message] = []
    pending = [message]
    while pending:
        stage = pending.pop()
        stages.append(stage)
        pending += [m for m in (stage.on_complete, stage.on_error) if m is not None]
        if stage.chord is not None:
            pending.append(stage.chord.callback)
    return stages
