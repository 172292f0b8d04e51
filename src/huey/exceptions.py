"""Exceptions raised by huey.

Errors derive from :class:`HueyException`. Two exceptions are control-flow signals
that task code raises on purpose, not errors: :class:`CancelExecution` and
:class:`RetryTask`. Both keep the original huey's names and constructor signatures.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from typing_extensions import override

__all__ = (
    "HueyException",
    "ConfigurationError",
    "TaskLockedException",
    "ResultTimeout",
    "TaskTimeout",
    "RateLimitExceeded",
    "StorageError",
    "StorageBusy",
    "StorageFull",
    "StorageCorrupt",
    "StorageAccessError",
    "MessageTooLarge",
    "MessageDecodeError",
    "SignatureError",
    "MessageLimitExceeded",
    "UnknownTaskError",
    "TaskSerializationError",
    "CancelExecution",
    "RetryTask",
    "TaskException",
    "SerializedError",
)


class HueyException(Exception):
    """Root of huey's errors."""


class ConfigurationError(HueyException):
    """A configuration problem: a bad option, or a storage lacking a needed capability."""


class TaskLockedException(HueyException):
    """A task lock (see :meth:`huey.Huey.lock_task`) could not be acquired."""


class ResultTimeout(HueyException):
    """A blocking result read timed out before the result was available."""


class TaskTimeout(HueyException):
    """A task ran longer than its ``timeout``."""


class RateLimitExceeded(HueyException):
    """A rate limit (see :meth:`huey.Huey.rate_limit`) refused a call.

    Raised when entering the rate limit; the consumer emits ``SIGNAL_RATE_LIMITED``
    and, with ``retry=True``, reschedules the task for ``delay`` seconds later without
    using up one of its retries. Picklable, with its attributes.

    Args:
        key: the rate limit's name.
        delay: seconds until the next window starts, when calls are admitted again.
        retry: whether a task refused by it is rescheduled without using a retry.
    """

    def __init__(self, key: str, delay: float, retry: bool = True) -> None:
        # All three in ``args``, so that pickling rebuilds the exception.
        super().__init__(key, delay, retry)
        self.key = key
        self.delay = delay
        self.retry = retry

    @override
    def __str__(self) -> str:
        wait = round(self.delay, 3)
        return f"rate limit {self.key!r} exceeded: calls are admitted again in {wait:g}s"


class StorageError(HueyException):
    """A storage backend failed (locked database, disk full, server unreachable...).

    Attributes:
        storage: a human-readable name of the storage (a file name, a URL without password).
    """

    def __init__(self, message: str, *, storage: str = "") -> None:
        super().__init__(message)
        self.storage = storage


class StorageBusy(StorageError):
    """The storage stayed locked by another connection for longer than its timeout."""


class StorageFull(StorageError):
    """The disk, the quota or the database's size limit is exhausted; nothing was written."""


class StorageCorrupt(StorageError):
    """The storage's file is not a database of the expected kind, or is damaged."""


class StorageAccessError(StorageError):
    """The storage's file or directory cannot be opened or written.

    Causes: permissions, a read-only file or file system, a path component that is not
    a directory.
    """


class MessageTooLarge(StorageError):
    """A message or value is larger than allowed: by ``Huey(max_message_size=...)``, or
    by the storage itself (a server's limit on one value). Nothing was stored.

    Attributes:
        size: the size in bytes, when known.
        limit: the limit in bytes, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        size: int | None = None,
        limit: int | None = None,
        storage: str = "",
    ) -> None:
        super().__init__(message, storage=storage)
        self.size = size
        self.limit = limit


class MessageDecodeError(HueyException):
    """Bytes read from the queue could not be decoded into a task message.

    Attributes:
        data: the bytes, when :meth:`huey.Huey.dequeue` took them off the queue (so
            the caller can keep them), else ``None``.
    """

    data: bytes | None = None


class SignatureError(MessageDecodeError):
    """Signed bytes failed verification, so nothing in them was decompressed or decoded.

    The bytes were altered, signed with a key this serializer does not hold (or under
    an unknown key id), signed for another queue or for another kind of value (a
    result moved into the queue), or were never signed.
    """


class MessageLimitExceeded(MessageDecodeError):
    """Reading the bytes would cost more than a configured limit allows; they were refused
    before the costly step (inflating, recursing).

    Attributes:
        option: the name of the limit (``max_message_size``, ``max_decompressed_size``,
            ``max_depth``).
        limit: its value.
    """

    def __init__(self, message: str, *, option: str, limit: int) -> None:
        super().__init__(message)
        self.option = option
        self.limit = limit


class UnknownTaskError(HueyException):
    """A message names a task that is not registered with this :class:`huey.Huey`.

    Attributes:
        name: the unknown task name.
        data: the message's bytes, when :meth:`huey.Huey.dequeue` took them off the
            queue (so the caller can keep them), else ``None``.
    """

    data: bytes | None = None

    def __init__(self, name: str) -> None:
        super().__init__(
            f"task {name!r} is not registered: import the module that defines it "
            "in the consumer, or check the task's name"
        )
        self.name = name


class TaskSerializationError(HueyException, TypeError):
    """A task's arguments could not be serialized at enqueue time.

    Also a :class:`TypeError`: the call was given a value of a type the serializer
    cannot carry. The message names the argument (its position or keyword) and the task.
    """


class CancelExecution(Exception):
    """Raise from a pre-execute hook (or a task) to cancel the task.

    Args:
        msg: optional explanation.
        retry: ``True`` to retry the task, ``False`` not to, ``None`` to retry only
            when the task has retries left.
    """

    def __init__(self, msg: str | None = None, retry: bool | None = None) -> None:
        super().__init__(*(() if msg is None else (msg,)))
        self.retry = retry


class RetryTask(Exception):
    """Raise from a task to retry it, whether or not it was configured with retries.

    Args:
        msg: optional explanation.
        eta: when to run the retry (a naive datetime is local time).
        delay: seconds to wait before the retry.
    """

    def __init__(
        self, msg: str | None = None, eta: datetime | None = None, delay: float | None = None
    ) -> None:
        super().__init__(*(() if msg is None else (msg,)))
        self.eta = eta
        self.delay = delay


class TaskException(Exception):
    """Raised when reading the result of a task that failed.

    Attributes:
        metadata: ``error`` (the ``repr`` of the exception), ``traceback``, ``task_id``
            and ``retries``.
    """

    def __init__(self, metadata: Mapping[str, object]) -> None:
        super().__init__(metadata.get("error", ""))
        self.metadata: dict[str, object] = dict(metadata)

    @override
    def __str__(self) -> str:
        return str(self.metadata.get("error", ""))


class SerializedError(TaskException):
    """An exception as a serializer that rebuilds no classes carries it: as text.

    :class:`~huey.serializer.JSONSerializer` writes an exception (what an ``.error()``
    handler receives) as its type's name, message and ``repr``, and reads it back as
    this, never as the class named by the stored bytes. ``str()`` gives the message,
    as the original exception's would.

    Attributes:
        metadata: ``error`` (the original's ``repr``), ``type`` (its qualified class
            name) and ``message`` (its ``str``).
    """

    @property
    def type_name(self) -> str:
        """The original exception's qualified class name, e.g. ``builtins.KeyError``."""
        return str(self.metadata.get("type", ""))

    @override
    def __str__(self) -> str:
        return str(self.metadata.get("message", ""))
