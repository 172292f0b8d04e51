"""The ports of huey: structural protocols that backends implement without subclassing.

A storage is any object with the methods of :class:`Storage`; huey never asks for a
base class. Features beyond the original huey's storage API are separate *capability*
protocols (:class:`SupportsLeases`, :class:`SupportsCounters`, ...). huey checks for them
at run time and, when a feature needs one the storage lacks, raises
:class:`~huey.exceptions.ConfigurationError` naming it.

Conventions that keep mypy and pyright in agreement:

* every argument huey passes positionally is positional-only (``/``), so implementations
  may name their parameters freely;
* times are UTC epoch seconds (``float``), never naive datetimes, and time-dependent
  storage operations receive ``now`` from the caller instead of reading a clock.

.. versionadded:: 3.6
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from .constants import EmptyDataType

__all__ = (
    "Storage",
    "SupportsCounters",
    "SupportsExpiringKeys",
    "SupportsCompareAndDelete",
    "SupportsPeekMany",
    "SupportsDeleteData",
    "SupportsFlushAll",
    "SupportsSemaphores",
    "SupportsLeases",
    "SupportsDeadLetterDeletion",
    "SupportsLeaseCounts",
    "SupportsBlockingDequeue",
    "SupportsClose",
    "SupportsConnectionCheck",
    "SupportsDurabilityReport",
    "SupportsResultNotification",
    "SupportsScheduleTransfer",
    "SupportsKeyedEnqueue",
    "SupportsSettle",
    "Lease",
    "DeadLetter",
    "LeaseCounts",
    "Serializer",
    "SerializerPurpose",
    "BindableSerializer",
    "Consumer",
    "Clock",
)


@runtime_checkable
class Storage(Protocol):
    """**Protocol:** the storage API every backend provides (the original ``BaseStorage``).

    Queue items, schedule items and values are opaque ``bytes`` produced by huey's
    serializer. Keys of the key/value (result) store are ``str``.
    """

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        """Append ``data`` to the queue; higher ``priority`` is dequeued first."""
        ...

    def dequeue(self) -> bytes | None:
        """Remove and return the next item (highest priority, then FIFO), or ``None``."""
        ...

    def queue_size(self) -> int:
        """Number of items waiting in the queue."""
        ...

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items in the queue, in dequeue order, at most ``limit`` of them."""
        ...

    def flush_queue(self) -> None:
        """Remove every item from the queue."""
        ...

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        """Store ``data`` to become due at ``timestamp`` (UTC epoch seconds)."""
        ...

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        """Atomically remove and return every item due at or before ``timestamp``."""
        ...

    def schedule_size(self) -> int:
        """Number of items in the schedule."""
        ...

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items in the schedule, earliest first, at most ``limit`` of them."""
        ...

    def flush_schedule(self) -> None:
        """Remove every item from the schedule."""
        ...

    def put_data(self, key: str, value: bytes, /) -> None:
        """Store ``value`` under ``key``, replacing any previous value."""
        ...

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """Return the value under ``key``, or ``EmptyData``."""
        ...

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """Remove and return the value under ``key``, or ``EmptyData``."""
        ...

    def put_if_empty(self, key: str, value: bytes, /) -> bool:
        """Store ``value`` only if ``key`` holds nothing; return whether it was stored."""
        ...

    def has_data_for_key(self, key: str, /) -> bool:
        """Whether ``key`` holds a value."""
        ...

    def result_store_size(self) -> int:
        """Number of keys in the key/value store."""
        ...

    def result_items(self) -> Mapping[str, bytes]:
        """Every key and value of the key/value store."""
        ...

    def flush_results(self) -> None:
        """Remove every key of the key/value store."""
        ...


@runtime_checkable
class SupportsCounters(Protocol):
    """**Protocol:** atomic integer counters, kept apart from the key/value store."""

    def incr(self, key: str, amount: int = 1, /) -> int:
        """Add ``amount`` to the counter ``key`` (created at 0) and return the new value."""
        ...

    def delete_counter(self, key: str, /) -> None:
        """Remove the counter ``key``."""
        ...

    def flush_counters(self) -> None:
        """Remove every counter."""
        ...


@runtime_checkable
class SupportsExpiringKeys(Protocol):
    """**Protocol:** ``put_if_empty`` with a time-to-live, used by lock TTLs."""

    def put_if_empty_ttl(self, key: str, value: bytes, ttl: float, /) -> bool:
        """Like ``put_if_empty``, and the key disappears after ``ttl`` seconds."""
        ...


@runtime_checkable
class SupportsCompareAndDelete(Protocol):
    """**Protocol:** delete a key only while it still holds a given value, atomically.

    ``huey.lock_task`` stores a fresh owner token as the lock's value and releases the
    lock with ``delete_if_equal``: a holder whose lock expired (its ``ttl`` passed) and
    was taken by another worker cannot release the new holder's lock. Without this
    capability huey compares and deletes in two steps, which leaves a short race.

    .. versionadded:: 3.6
    """

    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        """Delete ``key`` if it holds exactly ``value``, in one atomic step.

        An expired key holds nothing, so it is never "equal".

        Returns:
            Whether the key was deleted.
        """
        ...


@runtime_checkable
class SupportsPeekMany(Protocol):
    """**Protocol:** read several keys of the key/value store in one step (huey 3.4+).

    .. versionadded:: 3.6
    """

    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        """The values under ``keys``, in order (``EmptyData`` for an empty key).

        The values are read together (one transaction, one lock or one round trip), so
        they are a consistent snapshot; nothing is removed.
        """
        ...


@runtime_checkable
class SupportsDeleteData(Protocol):
    """**Protocol:** remove a key without reading its value (huey 3.x ``delete_data``).

    Unlike ``pop_data``, which some storages answer without removing (the expiring
    Redis storages keep a task result until it expires), ``delete_data`` always removes
    the key.

    .. versionadded:: 3.6
    """

    def delete_data(self, key: str, /) -> bool:
        """Remove ``key``; whether it held a value."""
        ...


@runtime_checkable
class SupportsFlushAll(Protocol):
    """**Protocol:** empty the whole storage at once (huey 3.x ``flush_all``).

    .. versionadded:: 3.6
    """

    def flush_all(self) -> None:
        """Remove everything of this queue.

        That is the queue (leased items too), the schedule, the key/value store, the
        counters and, where the storage has them, dead letters and semaphores.
        """
        ...


@runtime_checkable
class SupportsSemaphores(Protocol):
    """**Protocol:** named counting semaphores whose holders expire.

    Used by :class:`huey.contrib.helpers.RedisSemaphore`. A semaphore lets at most
    ``limit`` holders in at once; a holder that neither renews nor releases its slot
    within ``timeout`` seconds (a killed worker) loses it, so the slot frees itself.
    Expiry uses the storage's own clock (the server's, for Redis), so every client
    agrees on it. Acquiring also drops expired holders.

    .. versionadded:: 3.6
    """

    def semaphore_acquire(self, name: str, holder: str, limit: int, timeout: float, /) -> bool:
        """Take a slot of semaphore ``name`` for ``holder``, atomically.

        Args:
            name: the semaphore.
            holder: identifies this holder (unique, for example a random token).
            limit: how many holders the semaphore admits.
            timeout: seconds after which the slot frees itself unless renewed.

        Returns:
            Whether ``holder`` holds a slot now (``True`` again for a current holder,
            whose timeout restarts); ``False`` when all ``limit`` slots are held.
        """
        ...

    def semaphore_renew(self, name: str, holder: str, timeout: float, /) -> bool:
        """Restart ``holder``'s timeout; ``False`` if it holds no slot (any more)."""
        ...

    def semaphore_release(self, name: str, holder: str, /) -> bool:
        """Free ``holder``'s slot; whether it held one."""
        ...

    def semaphore_holders(self, name: str, /) -> Sequence[str]:
        """The current holders of semaphore ``name`` (expired ones left out)."""
        ...

    def semaphore_clear(self, name: str, /) -> int:
        """Free every slot of semaphore ``name``; return how many were held."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Lease:
    """A queue item reserved by one worker until ``deadline``.

    Attributes:
        token: proves ownership; acknowledging with an older token is refused.
        data: the item's bytes.
        deliveries: how many times the item has been handed out, this time included.
        deadline: UTC epoch seconds after which the item may be handed to someone else.
        watched: for an item queued with
            :meth:`SupportsKeyedEnqueue.enqueue_keyed`, the values of its keys in the
            key/value store (``None`` for an empty key), read atomically with the
            reservation; ``None`` when the item was queued without keys (the caller
            then reads what it needs itself).
    """

    token: str
    data: bytes
    deliveries: int
    deadline: float
    watched: tuple[bytes | None, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """An item moved out of the queue because it could not be processed.

    Attributes:
        id: identifies the dead letter for ``requeue_dead_letter``.
        data: the item's bytes, exactly as they were queued.
        reason: why it was moved (undecodable, unknown task, too many deliveries...).
        deliveries: how many times it had been delivered.
        timestamp: when it was moved (UTC epoch seconds).
    """

    id: str
    data: bytes
    reason: str
    deliveries: int
    timestamp: float


@runtime_checkable
class SupportsLeases(Protocol):
    """**Protocol:** leased (at-least-once) delivery with a dead-letter area.

    ``reserve`` hands out an item without removing it: it stays owned by the lease
    until ``ack`` (done), ``release`` (give it back now) or ``dead_letter``. A lease
    whose deadline passes is returned to the queue by ``requeue_expired``, unless the
    item's delivery count has reached ``max_deliveries``: then it is dead-lettered, so
    an item is handed out at most ``max_deliveries`` times.
    """

    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        """Lease the next item (same order as ``dequeue``) until ``now + lease_seconds``."""
        ...

    def extend_lease(self, token: str, now: float, lease_seconds: float, /) -> bool:
        """Push the lease's deadline to ``now + lease_seconds``; ``False`` if stale."""
        ...

    def ack(self, token: str, /) -> bool:
        """Delete the leased item; ``False`` (and nothing deleted) if the token is stale."""
        ...

    def release(self, token: str, /) -> bool:
        """Return the leased item to the queue at once; ``False`` if the token is stale."""
        ...

    def dead_letter(self, token: str, reason: str, now: float, /) -> bool:
        """Move the leased item to the dead-letter area; ``False`` if the token is stale."""
        ...

    def requeue_expired(self, now: float, max_deliveries: int, /) -> int:
        """Return the leases expired at ``now`` to the queue; return how many moved.

        An item whose lease expires after its ``max_deliveries``-th delivery goes to the
        dead letters instead (a released delivery does not count).
        """
        ...

    def dead_letters(self, limit: int | None = None, /) -> Sequence[DeadLetter]:
        """The dead letters, oldest first, at most ``limit`` of them."""
        ...

    def requeue_dead_letter(self, letter_id: str, /) -> bool:
        """Put a dead letter back in the queue with a fresh delivery count."""
        ...

    def purge_dead_letters(self) -> int:
        """Delete every dead letter; return how many there were."""
        ...


@runtime_checkable
class SupportsDeadLetterDeletion(Protocol):
    """**Protocol:** delete one dead letter, by id.

    An addition to :class:`SupportsLeases`, whose ``purge_dead_letters`` deletes them
    all: ``huey purge ID...`` and :meth:`huey.Huey.delete_dead_letter` need it. A
    leasing storage without it still works; deleting a single dead letter then raises
    :class:`~huey.exceptions.ConfigurationError` naming this capability.

    .. versionadded:: 3.6
    """

    def delete_dead_letter(self, letter_id: str, /) -> bool:
        """Delete the dead letter ``letter_id``, atomically.

        Args:
            letter_id: a :attr:`DeadLetter.id`; an id the storage could never have made
                is simply unknown (``False``), never an error.

        Returns:
            Whether the dead letter existed; of several concurrent calls (and
            ``requeue_dead_letter`` calls) for one letter, exactly one gets ``True``.
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaseCounts:
    """How many queue items are leased, at a given time.

    Attributes:
        in_flight: leases whose deadline has not passed: a worker holds the item.
        expired: leases whose deadline has passed, which ``requeue_expired`` at the
            same time would return to the queue (or dead-letter): their workers died
            or hung.
    """

    in_flight: int
    expired: int


@runtime_checkable
class SupportsLeaseCounts(Protocol):
    """**Protocol:** count the leased items, in flight and expired, in one read.

    An addition to :class:`SupportsLeases`, used by ``huey info`` and the Prometheus
    gauges; without it they report the leases as unknown.

    .. versionadded:: 3.6
    """

    def lease_counts(self, now: float, /) -> LeaseCounts:
        """Count the leases as at ``now`` (UTC epoch seconds).

        A lease whose deadline is before ``now`` is expired (as for
        ``requeue_expired(now, ...)``); the others are in flight. Both numbers come
        from one consistent read.
        """
        ...


@runtime_checkable
class SupportsBlockingDequeue(Protocol):
    """**Protocol:** a storage whose ``dequeue`` blocks for a while when the queue is empty.

    The consumer does not poll such storages with back-off.
    """

    blocking: bool


@runtime_checkable
class SupportsConnectionCheck(Protocol):
    """**Protocol:** a storage behind a server, which the consumer checks at startup.

    ``huey_consumer`` calls ``check_connection`` before starting workers and exits with
    status 2 and a one-line message when it raises, instead of starting workers that
    could only log connection errors.
    """

    def check_connection(self) -> None:
        """Reach the server once.

        Raises:
            StorageError: the server cannot be reached or refuses the credentials.
        """
        ...


@runtime_checkable
class SupportsDurabilityReport(Protocol):
    """**Protocol:** a storage that can tell whether its server keeps data across restarts."""

    def persistence_warning(self) -> str | None:
        """A warning for the consumer to log at startup, or ``None`` when data is kept."""
        ...


@runtime_checkable
class SupportsClose(Protocol):
    """**Protocol:** a storage holding connections or files that should be released."""

    def close(self) -> None:
        """Release connections and files; the storage may reopen them on next use."""
        ...


@runtime_checkable
class SupportsResultNotification(Protocol):
    """**Protocol:** task results stored apart from other values, and waited for.

    huey stores task results with ``put_result`` instead of ``put_data`` when the storage
    has it (a storage may give results a time-to-live, or wake their readers). When
    ``notify_result`` is true, a blocking ``Result.get`` waits in ``wait_result`` instead
    of sleeping between polls.
    """

    notify_result: bool

    def put_result(self, key: str, value: bytes, /) -> None:
        """Store the task result ``value`` under ``key`` and wake its readers."""
        ...

    def wait_result(self, key: str, timeout: float, /) -> bool:
        """Wait up to ``timeout`` seconds for a result under ``key``; whether woken."""
        ...


@runtime_checkable
class SupportsScheduleTransfer(Protocol):
    """**Protocol:** move due scheduled items to the queue in one atomic step.

    Without it the consumer's scheduler takes due items off the schedule
    (``read_schedule``) and enqueues them one by one, so a crash in between loses them.
    With it every due item is either still in the schedule or in the queue, never in
    neither and never in both. Every storage shipped with huey that keeps a schedule
    implements it (all but ``BlackHoleStorage``).
    """

    def add_to_schedule_with_priority(
        self, data: bytes, timestamp: float, priority: int, /
    ) -> None:
        """Store ``data`` to become due at ``timestamp`` and to be queued with ``priority``.

        Args:
            data: the item.
            timestamp: UTC epoch seconds at which it becomes due.
            priority: the queue priority it gets when :meth:`move_due` moves it.

        Raises:
            ValueError: ``priority`` is not an int the storage can keep.
            ConfigurationError: a non-zero ``priority`` on a storage without priorities.
        """
        ...

    def move_due(
        self, timestamp: float, priority_of: Callable[[bytes], int | None], /
    ) -> Sequence[bytes]:
        """Atomically move every item due at ``timestamp`` from the schedule to the queue.

        Items added with :meth:`add_to_schedule_with_priority` keep the priority stored
        with them; ``priority_of`` is only the fallback for items added with plain
        ``add_to_schedule`` (for example by an older huey).

        Args:
            timestamp: UTC epoch seconds; items scheduled at or before it are due.
            priority_of: gives the queue priority of an item scheduled without one (huey
                decodes the message); it may be called inside the storage's transaction,
                so it must not touch the storage.

        Returns:
            The moved items, earliest first.
        """
        ...


@runtime_checkable
class SupportsKeyedEnqueue(Protocol):
    """**Protocol:** queue items that name keys for ``reserve`` to read with the lease.

    Together with :class:`SupportsLeases`, this saves the round trips of reading those
    keys after reserving: huey names each task's revocation flags (``r:<id>``,
    ``rt:<name>``), so a worker learns whether the task is revoked from ``reserve``.
    """

    def enqueue_keyed(self, data: bytes, priority: int | None, keys: Sequence[str], /) -> None:
        """Like ``enqueue``, and ``reserve`` returns the values of ``keys`` in the lease.

        Args:
            data: the item.
            priority: as for ``enqueue``.
            keys: keys of the key/value store; :attr:`Lease.watched` holds their values,
                in this order, for every lease of this item.
        """
        ...


@runtime_checkable
class SupportsSettle(Protocol):
    """**Protocol:** finish a leased item in one atomic step (one round trip on a server).

    huey settles a task with it: the task's result is stored, its one-shot keys (the
    instance revocation flag) removed and its message acknowledged together, or, when
    the lease is stale, nothing happens at all.
    """

    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        """Store ``result``, delete ``discard`` and acknowledge the lease, atomically.

        Args:
            token: the lease's token.
            result: ``(key, value)`` to store as ``put_result`` would (``put_data`` on a
                storage without it), or ``None``.
            discard: keys of the key/value store to remove, as ``pop_data`` would.

        Returns:
            Whether the token was current; with a stale token nothing is stored,
            removed or acknowledged.
        """
        ...


class Serializer(Protocol):
    """**Protocol:** turns task messages and results into bytes and back."""

    def serialize(self, data: object, /) -> bytes:
        """Encode ``data``."""
        ...

    def deserialize(self, data: bytes, /) -> object:
        """Decode bytes produced by ``serialize``."""
        ...


SerializerPurpose: TypeAlias = Literal["message", "value"]
"""What a serializer is bound to carry: queue and schedule items (``"message"``), or
everything else huey stores (``"value"``: results, errors, revocation flags, ``put``)."""


@runtime_checkable
class BindableSerializer(Serializer, Protocol):
    """**Protocol:** a :class:`Serializer` whose bytes depend on where they are stored.

    When a :class:`huey.Huey` is constructed with such a serializer it calls
    :meth:`bind` twice, for its queue's messages and for its values, and uses the two
    results instead. :class:`~huey.serializer.SignedSerializer` binds the queue name and
    the purpose into its signatures, so signed bytes cannot be moved to another queue,
    or from the result store into the queue.
    """

    def bind(self, queue: str, purpose: SerializerPurpose, /) -> Serializer:
        """A serializer for ``purpose`` data of the queue named ``queue``."""
        ...


class Consumer(Protocol):
    """**Protocol:** something that runs the tasks of a :class:`huey.Huey`."""

    def run(self) -> None:
        """Start, then block until stopped."""
        ...

    def start(self) -> None:
        """Start workers and the scheduler without blocking."""
        ...

    def stop(self, graceful: bool = False) -> None:
        """Stop; with ``graceful`` wait for running tasks to finish."""
        ...


class Clock(Protocol):
    """**Protocol:** the source of time for the I/O shell (tests inject a fake one)."""

    def time(self) -> float:
        """Wall-clock time, UTC epoch seconds."""
        ...

    def monotonic(self) -> float:
        """A monotonic clock for measuring intervals."""
        ...

    def sleep(self, seconds: float, /) -> None:
        """Wait ``seconds`` (a fake clock advances itself instead)."""
        ...
