"""Task results: where a run writes them (a sink), and how a handle reads them back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from .._messages import error_from_wire
from ..constants import EmptyData, EmptyDataType
from ..exceptions import TaskException
from ..protocols import SupportsResultNotification
from ._codec import Codec
from ._ports import Ports

__all__ = ("ResultSink", "Results", "Settlement", "SupportsWaitThenRead", "WriteThrough")


@runtime_checkable
class SupportsWaitThenRead(Protocol):
    """A storage that waits for a result's notification and reads it in one round trip
    (:class:`~huey.storage.RedisStorage` with ``notify_result``)."""

    def wait_then_read(self, key: str, timeout: float, preserve: bool, /) -> bytes | EmptyDataType:
        """``wait_result(key, timeout)``, then ``peek_data(key)`` if ``preserve`` else
        ``pop_data(key)``."""
        ...

    def read_or_wait(self, key: str, timeout: float, preserve: bool, /) -> bytes | EmptyDataType:
        """The value under ``key`` if it is stored (read as :meth:`wait_then_read` reads),
        else :meth:`wait_then_read`."""
        ...


class ResultSink(Protocol):
    """Where a run's writes go: straight to the storage, or collected for one settle."""

    def store_result(self, key: str, data: bytes, /) -> None:
        """Record a result (or error) ``data`` under ``key``."""
        ...

    def discard(self, key: str, /) -> None:
        """Remove ``key`` (the instance revocation flag of a task that ran)."""
        ...


class WriteThrough:
    """A sink writing each result to the storage in use as it comes."""

    __slots__ = ("ports",)

    def __init__(self, ports: Ports) -> None:
        self.ports = ports

    def store_result(self, key: str, data: bytes, /) -> None:
        """Write ``data`` under ``key`` (results kept apart where the storage can)."""
        storage = self.ports.storage
        # Storages that keep results apart (expiry, waking readers) get put_result.
        if isinstance(storage, SupportsResultNotification):
            storage.put_result(key, data)
        else:
            storage.put_data(key, data)

    def discard(self, key: str, /) -> None:
        """Remove ``key`` now."""
        self.ports.storage.pop_data(key)


@dataclass(slots=True)
class Settlement:
    """A sink collecting a run's writes, to record them atomically with the ack.

    Attributes:
        results: ``(key, bytes)`` results to store, in the order they were produced.
        discarded: keys to remove (the instance revocation flag).
    """

    results: list[tuple[str, bytes]] = field(default_factory=lambda: [])
    discarded: list[str] = field(default_factory=lambda: [])

    def store_result(self, key: str, data: bytes, /) -> None:
        """Keep ``data`` for the settle."""
        self.results.append((key, data))

    def discard(self, key: str, /) -> None:
        """Keep ``key`` for the settle."""
        self.discarded.append(key)

    def write_to(self, sink: ResultSink) -> None:
        """Replay the collected writes into ``sink`` (when no settle will happen)."""
        for key, data in self.results:
            sink.store_result(key, data)
        for key in self.discarded:
            sink.discard(key)


@dataclass(frozen=True, slots=True)
class _Waiting:
    """What a storage offers a waiting reader (see :meth:`Results._waiting`).

    Attributes:
        storage: the storage decided on.
        notifying: it, if it can wake readers (:class:`SupportsResultNotification`).
        reads_with_wait: it, if it also reads with the wait (:class:`SupportsWaitThenRead`).
    """

    storage: object
    notifying: SupportsResultNotification | None
    reads_with_wait: SupportsWaitThenRead | None


class Results:
    """Reads results from the storage in use.

    Args:
        ports: the storage in use and the clock used to wait.
        codec: decodes the stored values.
    """

    __slots__ = ("_decided", "codec", "ports")

    def __init__(self, ports: Ports, codec: Codec) -> None:
        self.ports: Ports = ports
        self.codec: Codec = codec
        self._decided: _Waiting | None = None

    def _waiting(self) -> _Waiting:
        """How the storage in use lets a reader wait, decided once per storage: a check
        against a run-time protocol costs microseconds, on the path of every ``get()``."""
        storage = self.ports.storage
        decided = self._decided
        if decided is None or decided.storage is not storage:
            notifying = storage if isinstance(storage, SupportsResultNotification) else None
            reads = (
                storage
                if notifying is not None and isinstance(storage, SupportsWaitThenRead)
                else None
            )
            decided = self._decided = _Waiting(storage, notifying, reads)
        return decided

    def read(
        self,
        task_id: str,
        *,
        blocking: bool,
        timeout: float | None,
        backoff: float,
        max_delay: float,
        preserve: bool,
    ) -> object:
        """The stored value of ``task_id`` (decoded, not unpacked), or ``EmptyData``.

        A blocking read waits past the error of an attempt that will be retried (see
        :meth:`is_pending`): the retry's outcome replaces it. When the wait times out the
        last value seen is returned, which may be such an error, or ``EmptyData``.

        Args:
            task_id: the task's id.
            blocking: wait until a final value is stored.
            timeout: with ``blocking``, give up after this many seconds.
            backoff: factor by which the polling interval grows.
            max_delay: longest polling interval.
            preserve: leave the value stored (reads are destructive otherwise).
        """
        clock = self.ports.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        waiting = self._waiting()
        notifying, reads = waiting.notifying, waiting.reads_with_wait
        if (
            blocking
            and (timeout is None or timeout > 0)
            and reads is not None
            and notifying is not None
            and notifying.notify_result
        ):
            # The task has most often not finished yet: the first read and the wait go
            # to the storage together.
            first_wait = max_delay if timeout is None else min(max_delay, timeout)
            raw = reads.read_or_wait(task_id, first_wait, preserve)
            value = EmptyData if raw is EmptyData else self.codec.decode(raw)
        else:
            value = self._read(task_id, preserve)
        if not blocking or not self.is_pending(value):
            return value
        delay = 0.05
        while True:
            wait = max_delay
            if deadline is not None:
                remaining = deadline - clock.monotonic()
                if remaining <= 0:
                    return value
                delay = min(delay, remaining)
                wait = min(wait, remaining)
            if notifying is not None and notifying.notify_result:
                # Woken as soon as the result is stored; re-check at least every
                # max_delay (several readers of one key: only one is woken).
                if reads is not None:
                    raw = reads.wait_then_read(task_id, wait, preserve)
                    latest = EmptyData if raw is EmptyData else self.codec.decode(raw)
                else:
                    notifying.wait_result(task_id, wait)
                    latest = self._read(task_id, preserve)
            else:
                clock.sleep(delay)
                latest = self._read(task_id, preserve)
            delay = min(delay * backoff, max_delay)
            if latest is not EmptyData:
                value = latest
                if not self.is_pending(value):
                    return value

    def _read(self, task_id: str, preserve: bool) -> object:
        storage = self.ports.storage
        raw = storage.peek_data(task_id) if preserve else storage.pop_data(task_id)
        return EmptyData if raw is EmptyData else self.codec.decode(raw)

    @staticmethod
    def is_pending(value: object) -> bool:
        """Whether ``value`` is no final outcome: nothing yet, or a retried attempt's error."""
        if value is EmptyData:
            return True
        error = error_from_wire(value)
        return error is not None and not error.final

    @staticmethod
    def unpack(value: object) -> object:
        """A stored value as the task's return value.

        Raises:
            TaskException: the value is a stored error.
        """
        error = error_from_wire(value)
        if error is not None:
            raise TaskException(error.as_metadata())
        return value
