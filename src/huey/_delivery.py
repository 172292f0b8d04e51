"""The leased task flow: how a worker takes one message, runs it and settles it (shell).

With ``Huey(delivery="at-least-once")`` (the default) and a storage offering
:class:`~huey.protocols.SupportsLeases`, a message is *reserved*, never popped:

1. ``reserve`` leases the next message for ``huey.lease_timeout`` seconds;
2. a message that cannot be decoded, or names a task this huey does not know, is moved
   to the dead-letter area with the reason (it is never dropped);
3. the engine's runner runs the task and records its result, its retry or its next
   pipeline stage in the storage, and returns the outcome; a :class:`LeaseKeeper` (one
   thread per worker) extends the lease meanwhile if the task runs for long;
4. only then is the message acknowledged with the lease's token. If another worker got
   the message in between (the lease expired), the storage refuses the stale token and
   the refusal is logged;
5. a task interrupted by a shutdown (``KeyboardInterrupt``; the runner returns a
   ``Failure`` with the ``interrupted`` signal) is released back to the queue at once
   instead of waiting for its lease to expire.

On a storage with :class:`~huey.protocols.SupportsKeyedEnqueue` and
:class:`~huey.protocols.SupportsSettle` (Redis), a task costs two round trips: the
reservation also returns the task's revocation flags (huey names them when it enqueues),
and one atomic *settle* stores the result, removes the instance revocation flag and
acknowledges, or, with a stale token, does none of it. The result then becomes readable
when the message is acknowledged, after the post-execute hooks and signals ran. With
:class:`SupportsSettleAndReserve` as well (``RedisStorage``), the consumer's workers
pass ``reserve_next=True``: the settle also leases the next message, so a busy worker
makes one round trip per task. With :class:`SupportsSettleInFlight` too, a worker
splits the flow (:func:`run_leased`, then :func:`settle_ran`) and, after a short task,
sends the settle without waiting (:func:`send_settle`) and reads its reply
(:func:`finish_settle`) after running the message it already holds; its
:class:`LeaseKeeper` hands a message so leased ahead back to the queue when the task
before it runs past :data:`HAND_BACK_AFTER`.

A worker that dies mid-task simply never acknowledges: once the lease expires,
:func:`requeue_expired` (the consumer calls it periodically) returns the message to the
queue, or moves it to the dead letters after ``huey.max_deliveries`` deliveries.

Otherwise (``delivery="at-most-once"``, or a storage with only the base protocol) the
original huey's flow applies: the message is popped, then run. A popped message that
cannot be decoded is kept in the key/value store under ``huey.undecodable.<uuid>`` and
an error is logged, so it does not vanish silently.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeAlias, runtime_checkable

from . import _core
from ._core import Failure
from ._engine import Engine, HasEngine, ResultSink, RunOutcome, Settlement, WriteThrough
from ._task import Task
from .exceptions import MessageDecodeError, UnknownTaskError
from .protocols import Clock, Lease, SupportsLeases, SupportsSettle
from .signals import SIGNAL_DEAD_LETTER, SIGNAL_INTERRUPTED

__all__ = (
    "DeliveryStatus",
    "DeliveryReport",
    "Received",
    "LeaseHeartbeat",
    "LeaseKeeper",
    "HAND_BACK_AFTER",
    "SupportsSettleAndReserve",
    "SupportsSettleInFlight",
    "SettleInFlight",
    "Ran",
    "PendingSettle",
    "run_leased",
    "settle_ran",
    "send_settle",
    "send_reserve",
    "finish_settle",
    "release_lease",
    "UNDECODABLE_PREFIX",
    "uses_leases",
    "receive",
    "run_received",
    "release",
    "process_next",
    "requeue_expired",
)

logger = logging.getLogger("huey.delivery")

UNDECODABLE_PREFIX = "huey.undecodable."
"""Key prefix under which at-most-once mode keeps messages it popped but cannot decode."""

DeliveryStatus: TypeAlias = Literal[
    "empty",
    "completed",
    "dead-lettered",
    "quarantined",
    "released",
    "interrupted",
    "stale",
    "failed",
]
"""What happened to one message:

* ``empty``: there was no message;
* ``completed``: the task ran (or was deferred, revoked, expired) and the message was
  settled (acknowledged, or popped in at-most-once mode);
* ``dead-lettered``: the message went to the dead-letter area (see ``reason``);
* ``quarantined``: at-most-once mode popped an undecodable message and kept it in the
  key/value store (see ``key``);
* ``released``: the task was interrupted and its message returned to the queue;
* ``interrupted``: the task was interrupted in at-most-once mode (the message is gone,
  as in the original huey);
* ``stale``: the task ran but its lease had been handed to another worker, so the
  acknowledgement was refused;
* ``failed``: recording the outcome failed; the lease was left to expire so the message
  is delivered again.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryReport:
    """The report of one pass of the task flow.

    Attributes:
        status: what happened (see :data:`DeliveryStatus`).
        task: the decoded task, when there was one.
        lease: the lease, in at-least-once mode.
        reason: why a message was dead-lettered or quarantined.
        key: where a quarantined message was stored.
        outcome: what the run came to, when the task was run.
        next_lease: the next message, leased in the same round trip as this one's
            settle (``run_received(..., reserve_next=True)``); pass it to
            :func:`receive`, or :func:`release_lease` it.
    """

    status: DeliveryStatus
    task: Task[Any] | None = None
    lease: Lease | None = None
    reason: str = ""
    key: str | None = None
    outcome: RunOutcome | None = None
    next_lease: Lease | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """A decoded message a worker holds and has not run yet.

    Attributes:
        task: the task.
        lease: the lease to acknowledge, or ``None`` in at-most-once mode.
    """

    task: Task[Any]
    lease: Lease | None


@runtime_checkable
class SupportsSettleAndReserve(Protocol):
    """A storage that settles one lease and reserves the next message in one round trip.

    :class:`~huey.storage.RedisStorage` has it; a worker then makes one round trip per
    task (see ``run_received(..., reserve_next=True)``).
    """

    def settle_and_reserve(
        self,
        token: str,
        result: tuple[str, bytes] | None,
        discard: Sequence[str],
        now: float,
        lease_seconds: float,
        /,
    ) -> tuple[bool, Lease | None]:
        """``settle(token, result, discard)``, then ``reserve(now, lease_seconds)``
        without blocking: whether the token was current, and the next lease."""
        ...


class SettleInFlight(Protocol):
    """A settle-and-reserve sent without waiting for its reply (see
    :class:`SupportsSettleInFlight`)."""

    @property
    def next_token(self) -> str:
        """The token the next message is leased under, if the reply brings one."""
        ...

    def finish(self) -> tuple[bool, Lease | None]:
        """Read the reply: whether the settled token was current, and the next lease."""
        ...


@runtime_checkable
class SupportsSettleInFlight(Protocol):
    """A storage that sends a settle-and-reserve and lets the worker read the reply later.

    :class:`~huey.storage.RedisStorage` has it: a busy worker runs its next task while
    the settle of the previous one travels (see :func:`send_settle`).
    """

    @property
    def sends_settles_ahead(self) -> bool:
        """Whether :meth:`send_settle_and_reserve` returns before the reply (else workers
        settle the waiting way)."""
        ...

    def send_settle_and_reserve(
        self,
        token: str,
        result: tuple[str, bytes] | None,
        discard: Sequence[str],
        now: float,
        lease_seconds: float,
        /,
    ) -> SettleInFlight:
        """Send :meth:`SupportsSettleAndReserve.settle_and_reserve`; read its reply later
        with :meth:`SettleInFlight.finish`, on the same thread."""
        ...

    def send_reserve(self, now: float, lease_seconds: float, /) -> SettleInFlight:
        """Send a reservation that does not block, likewise (``finish`` says ``True``)."""
        ...


@dataclass(frozen=True, slots=True)
class _Capabilities:
    """What the storage in use can do, decided once per storage (not once per task).

    ``isinstance`` against a runtime-checkable ``Protocol`` inspects every member of the
    protocol (microseconds each); the hot path asks a plain attribute instead.
    """

    storage: object
    delivery: str
    leases: SupportsLeases | None
    settler: SupportsSettle | None
    fused: SupportsSettleAndReserve | None
    in_flight: SupportsSettleInFlight | None


_capabilities: weakref.WeakKeyDictionary[Engine, _Capabilities] = weakref.WeakKeyDictionary()


def _capabilities_of(engine: Engine) -> _Capabilities:
    """The capabilities of ``engine``'s current storage (re-decided when it changes)."""
    caps = _capabilities.get(engine)
    storage = engine.ports.storage
    if caps is None or caps.storage is not storage or caps.delivery != engine.settings.delivery:
        leases = engine.leasing_storage()
        settler = storage if leases is not None and isinstance(storage, SupportsSettle) else None
        fused = (
            storage
            if settler is not None and isinstance(storage, SupportsSettleAndReserve)
            else None
        )
        in_flight = (
            storage
            if fused is not None
            and isinstance(storage, SupportsSettleInFlight)
            and storage.sends_settles_ahead
            else None
        )
        caps = _Capabilities(storage, engine.settings.delivery, leases, settler, fused, in_flight)
        _capabilities[engine] = caps
    return caps


def uses_leases(app: HasEngine) -> bool:
    """Whether ``app`` delivers at-least-once (leases) rather than at-most-once."""
    return _capabilities_of(app.engine).leases is not None


def _dead_letter(
    engine: Engine, storage: SupportsLeases, lease: Lease, reason: str, task: Task[Any] | None
) -> DeliveryReport:
    name = engine.settings.name
    if storage.dead_letter(lease.token, reason, engine.ports.clock.time()):
        logger.error("message moved to the dead letters of %s: %s", name, reason)
        if task is not None:
            engine.events.emit(SIGNAL_DEAD_LETTER, task)
        return DeliveryReport(status="dead-lettered", task=task, lease=lease, reason=reason)
    logger.warning(
        "could not dead-letter a message of %s (%s): its lease was handed to another "
        "worker meanwhile",
        name,
        reason,
    )
    return DeliveryReport(status="stale", task=task, lease=lease, reason=reason)


def _decode(engine: Engine, data: bytes) -> Task[Any] | str:
    """The task, or the reason it cannot be run here."""
    try:
        return engine.decode_task(data)
    except UnknownTaskError as exc:
        return f"unknown task {exc.name!r}: {exc}"
    except MessageDecodeError as exc:
        return f"undecodable message ({len(data)} bytes): {exc}"


def receive(app: HasEngine, *, lease: Lease | None = None) -> Received | DeliveryReport:
    """Take the next message: reserve it (at-least-once) or pop it (at-most-once).

    Args:
        app: the application.
        lease: a lease already taken (a report's ``next_lease``): decode it instead of
            reserving.

    Returns:
        A :class:`Received` to pass to :func:`run_received`, or a :class:`DeliveryReport`
        when there is nothing to run (empty queue, dead-lettered or quarantined
        message).
    """
    engine = app.engine
    storage = _capabilities_of(engine).leases
    if storage is None:
        data = engine.ports.storage.dequeue()
        if data is None:
            return DeliveryReport(status="empty")
        decoded = _decode(engine, data)
        if isinstance(decoded, str):
            key = f"{UNDECODABLE_PREFIX}{uuid.uuid4().hex}"
            engine.ports.storage.put_data(key, data)
            logger.error(
                "popped a message of %s that cannot be run (%s); kept it under key %r",
                engine.settings.name,
                decoded,
                key,
            )
            return DeliveryReport(status="quarantined", reason=decoded, key=key)
        return Received(task=decoded, lease=None)
    settings = engine.settings
    if lease is None:
        lease = storage.reserve(engine.ports.clock.time(), settings.lease_timeout)
    if lease is None:
        return DeliveryReport(status="empty")
    decoded = _decode(engine, lease.data)
    if isinstance(decoded, str):
        return _dead_letter(engine, storage, lease, decoded, None)
    if not _core.delivery_allowed(lease.deliveries, settings.max_deliveries):
        reason = _core.too_many_deliveries_reason(lease.deliveries, settings.max_deliveries)
        return _dead_letter(engine, storage, lease, reason, decoded)
    return Received(task=decoded, lease=lease)


def _was_interrupted(outcome: RunOutcome) -> bool:
    return isinstance(outcome, Failure) and outcome.signal == SIGNAL_INTERRUPTED


@dataclass(frozen=True, slots=True, kw_only=True)
class Ran:
    """A leased task that ran and whose outcome is not settled yet (see :func:`run_leased`).

    Attributes:
        task: the task.
        lease: its lease.
        outcome: what the run came to.
        sink: the writes waiting for the settle.
    """

    task: Task[Any]
    lease: Lease
    outcome: RunOutcome
    sink: ResultSink


def run_received(
    app: HasEngine,
    received: Received,
    *,
    heartbeat_interval: float | None = None,
    keeper: LeaseKeeper | None = None,
    reserve_next: bool = False,
) -> DeliveryReport:
    """Run a received task, then settle its message.

    Args:
        app: the application the message came from.
        received: what :func:`receive` returned.
        heartbeat_interval: extend the lease every this many seconds while the task
            runs, from a thread of its own (``None``: no such thread).
        keeper: a long-lived :class:`LeaseKeeper` that extends the lease while the task
            runs (what the consumer's workers use: no thread per task).
        reserve_next: on a storage with :class:`SupportsSettleAndReserve`, lease the
            next message in the settle's round trip (the report's ``next_lease``).

    Returns:
        The :class:`DeliveryReport` report.

    Raises:
        BaseException: a ``KeyboardInterrupt`` or ``SystemExit`` raised outside the
            task function propagates after the message was released.
    """
    ran = run_leased(app, received, heartbeat_interval=heartbeat_interval, keeper=keeper)
    if isinstance(ran, DeliveryReport):
        return ran
    return settle_ran(app, ran, reserve_next=reserve_next)


def run_leased(
    app: HasEngine,
    received: Received,
    *,
    heartbeat_interval: float | None = None,
    keeper: LeaseKeeper | None = None,
) -> Ran | DeliveryReport:
    """Run a received task; what is left to settle, or the report when nothing is.

    The first half of :func:`run_received` (same arguments): a task received in
    at-most-once mode, one whose outcome could not be recorded, and one interrupted
    (released at once) get their report here; a leased task that ran comes back as
    :class:`Ran`, for :func:`settle_ran` or :func:`send_settle`.
    """
    engine = app.engine
    task, lease = received.task, received.lease
    caps = _capabilities_of(engine)
    storage = caps.leases
    if lease is None or storage is None:
        write_through = WriteThrough(engine.ports)
        try:
            outcome = engine.runner.run(task, engine.ports.clock.time(), None, write_through)
        except Exception:
            logger.exception(
                "recording the outcome of %s (%s) failed; in at-most-once mode its message is gone",
                task.name,
                task.id,
            )
            return DeliveryReport(status="failed", task=task)
        status: DeliveryStatus = "interrupted" if _was_interrupted(outcome) else "completed"
        return DeliveryReport(status=status, task=task, outcome=outcome)
    heartbeat = None
    if heartbeat_interval is not None:
        heartbeat = LeaseHeartbeat(
            storage,
            lease.token,
            engine.settings.lease_timeout,
            engine.ports.clock,
            heartbeat_interval,
        ).start()
    if keeper is not None:
        keeper.hold(lease.token)
    # With a settling storage the writes wait for the one atomic settle at the end.
    sink: ResultSink = Settlement() if caps.settler is not None else WriteThrough(engine.ports)
    # Flags read by reserve are only trusted in the shape huey asked for at enqueue.
    known = lease.watched if lease.watched is not None and len(lease.watched) == 2 else None
    try:
        outcome = engine.runner.run(task, engine.ports.clock.time(), known, sink)
    except Exception:
        logger.exception(
            "recording the outcome of %s (%s) failed; its message will be delivered "
            "again when the lease expires",
            task.name,
            task.id,
        )
        return DeliveryReport(status="failed", task=task, lease=lease)
    except BaseException:
        _release_quietly(storage, received)
        raise
    finally:
        if heartbeat is not None:
            heartbeat.stop()
        if keeper is not None:
            keeper.drop(lease.token)
    if _was_interrupted(outcome):
        if isinstance(sink, Settlement):
            sink.write_to(WriteThrough(engine.ports))
        storage.release(lease.token)
        logger.info(
            "task %s (%s) interrupted; its message is back in the queue", task.name, task.id
        )
        return DeliveryReport(status="released", task=task, lease=lease, outcome=outcome)
    return Ran(task=task, lease=lease, outcome=outcome, sink=sink)


def settle_ran(app: HasEngine, ran: Ran, *, reserve_next: bool = False) -> DeliveryReport:
    """Settle a task that ran (the second half of :func:`run_received`).

    Args:
        app: the application the message came from.
        ran: what :func:`run_leased` returned.
        reserve_next: see :func:`run_received`.
    """
    engine = app.engine
    caps = _capabilities_of(engine)
    storage = caps.leases
    assert storage is not None  # a Ran comes from a leasing storage
    sink, lease = ran.sink, ran.lease
    next_lease: Lease | None = None
    if reserve_next and caps.fused is not None and isinstance(sink, Settlement):
        first = _store_all_but_first(engine, sink)
        settled, next_lease = caps.fused.settle_and_reserve(
            lease.token,
            first,
            sink.discarded,
            engine.ports.clock.time(),
            engine.settings.lease_timeout,
        )
    else:
        settled = _settle(engine, storage, caps.settler, lease, sink)
    return _settled_report(ran, settled, next_lease)


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingSettle:
    """A settle (or a reservation) sent by :func:`send_settle` (:func:`send_reserve`)
    and not read yet.

    Attributes:
        ran: the task being settled and its outcome; ``None`` for a reservation alone.
        flight: the storage's handle on the call.
    """

    ran: Ran | None
    flight: SettleInFlight

    @property
    def next_token(self) -> str:
        """The token of the next message, if the call leases one."""
        return self.flight.next_token


def send_settle(app: HasEngine, ran: Ran) -> PendingSettle | None:
    """Send the settle of ``ran`` with a reservation of the next message, not waiting.

    ``None`` when the storage cannot (no :class:`SupportsSettleInFlight`): settle with
    :func:`settle_ran` instead. Otherwise pass the result to :func:`finish_settle` on
    this thread, after running the next task; the storage carries out the settle as soon
    as it gets it.
    """
    engine = app.engine
    caps = _capabilities_of(engine)
    sink = ran.sink
    if caps.in_flight is None or not isinstance(sink, Settlement):
        return None
    first = _store_all_but_first(engine, sink)
    flight = caps.in_flight.send_settle_and_reserve(
        ran.lease.token,
        first,
        sink.discarded,
        engine.ports.clock.time(),
        engine.settings.lease_timeout,
    )
    return PendingSettle(ran=ran, flight=flight)


def send_reserve(app: HasEngine) -> PendingSettle | None:
    """Send a reservation of the next message, not waiting; ``None`` when the storage
    cannot. Read it with :func:`finish_settle` (on this thread)."""
    engine = app.engine
    caps = _capabilities_of(engine)
    if caps.in_flight is None:
        return None
    flight = caps.in_flight.send_reserve(engine.ports.clock.time(), engine.settings.lease_timeout)
    return PendingSettle(ran=None, flight=flight)


def finish_settle(pending: PendingSettle) -> Lease | None:
    """Read the reply of :func:`send_settle` or :func:`send_reserve`: the next lease.

    A refused acknowledgement (the settled task's lease had expired and gone to another
    worker) is logged as a warning.

    Raises:
        StorageError: the storage failed.
    """
    settled, next_lease = pending.flight.finish()
    if pending.ran is not None and not settled:
        # Its finish line was logged when it was sent, without this news.
        task = pending.ran.task
        logger.warning(
            "the acknowledgement of task %s (%s), sent after it finished, was refused: its "
            "lease had expired and the message was handed to another worker (the task "
            "may run again)",
            task.name,
            task.id,
        )
    return next_lease


def _store_all_but_first(engine: Engine, sink: Settlement) -> tuple[str, bytes] | None:
    """Store every result but the first now; the first goes with the settle.

    A failed pipeline leaves one error per remaining stage.
    """
    if len(sink.results) > 1:
        write_through = WriteThrough(engine.ports)
        for key, data in sink.results[1:]:
            write_through.store_result(key, data)
    return sink.results[0] if sink.results else None


def _settled_report(ran: Ran, settled: bool, next_lease: Lease | None) -> DeliveryReport:
    task = ran.task
    if not settled:
        logger.warning(
            "task %s (%s) finished after its lease expired and the message was handed to "
            "another worker; this acknowledgement was refused (the task may run again)",
            task.name,
            task.id,
        )
    return DeliveryReport(
        status="completed" if settled else "stale",
        task=task,
        lease=ran.lease,
        outcome=ran.outcome,
        next_lease=next_lease,
    )


def _settle(
    engine: Engine,
    storage: SupportsLeases,
    settler: SupportsSettle | None,
    lease: Lease,
    sink: ResultSink,
) -> bool:
    """Record what is left of the outcome and acknowledge; whether the token was current."""
    if settler is None or not isinstance(sink, Settlement):
        return storage.ack(lease.token)
    return settler.settle(lease.token, _store_all_but_first(engine, sink), sink.discarded)


def _release_quietly(storage: SupportsLeases, received: Received) -> bool:
    if received.lease is None:
        return False
    try:
        return storage.release(received.lease.token)
    except Exception:
        # Keep the interruption visible; the lease will expire instead.
        logger.exception(
            "releasing the message of %s (%s) failed", received.task.name, received.task.id
        )
        return False


def release(app: HasEngine, received: Received) -> bool:
    """Give a received task's message back to the queue; whether it was returned.

    For a task cut short outside the runner (an immediate shutdown). Never raises: a
    message that cannot be released comes back when its lease expires.
    """
    storage = _capabilities_of(app.engine).leases
    return storage is not None and _release_quietly(storage, received)


def release_lease(app: HasEngine, lease: Lease) -> bool:
    """Give back a lease not run (an unused ``next_lease``); whether it was returned.

    Never raises: a lease that cannot be released comes back when it expires.
    """
    storage = _capabilities_of(app.engine).leases
    if storage is None:
        return False
    try:
        return storage.release(lease.token)
    except Exception:
        logger.exception("releasing lease %s failed; it comes back when it expires", lease.token)
        return False


def process_next(app: HasEngine, *, heartbeat_interval: float | None = None) -> DeliveryReport:
    """Take the next message of ``app`` and run it: :func:`receive` + :func:`run_received`.

    Args:
        app: the application to work for.
        heartbeat_interval: see :func:`run_received`.

    Returns:
        The :class:`DeliveryReport` report (``status == "empty"`` when the queue is empty).
    """
    received = receive(app)
    if isinstance(received, DeliveryReport):
        return received
    return run_received(app, received, heartbeat_interval=heartbeat_interval)


def requeue_expired(app: HasEngine, now: float | None = None) -> int:
    """Return the expired leases of ``app``'s queue (or dead-letter them); how many moved.

    A no-op returning 0 in at-most-once mode. The consumer calls it periodically.

    Args:
        app: the application.
        now: the current time (UTC epoch seconds); default: the application's clock.
    """
    engine = app.engine
    storage = _capabilities_of(engine).leases
    if storage is None:
        return 0
    settings = engine.settings
    moved = storage.requeue_expired(
        engine.ports.clock.time() if now is None else now, settings.max_deliveries
    )
    if moved:
        logger.warning(
            "%d expired lease(s) of %s moved back to the queue or, having reached "
            "max_deliveries=%d, to the dead letters",
            moved,
            settings.name,
            settings.max_deliveries,
        )
    return moved


def _heartbeat_interval(lease_seconds: float, interval: float | None) -> float:
    """Seconds between lease extensions: ``interval``, default a third of the lease."""
    chosen = lease_seconds / 3 if interval is None else interval
    if not chosen > 0:
        raise ValueError(f"heartbeat interval must be positive, got {interval!r}")
    return chosen


class LeaseHeartbeat:
    """Extends a lease periodically from a background thread while its task runs.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. The thread stops by
    itself when the storage refuses an extension (the lease was lost).

    Args:
        storage: the storage holding the lease.
        token: the lease's token.
        lease_seconds: each extension pushes the deadline to ``now + lease_seconds``.
        clock: gives ``now`` (UTC epoch seconds).
        interval: real seconds between extensions; default a third of
            ``lease_seconds``.

    Raises:
        ValueError: ``interval`` is not positive.
    """

    def __init__(
        self,
        storage: SupportsLeases,
        token: str,
        lease_seconds: float,
        clock: Clock,
        interval: float | None = None,
    ) -> None:
        self.interval: float = _heartbeat_interval(lease_seconds, interval)
        self.storage = storage
        self.token = token
        self.lease_seconds = lease_seconds
        self.clock = clock
        self.lost = False
        self.beats = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> bool:
        """Extend the lease once; ``False`` (and :attr:`lost` set) if it was lost."""
        if self.storage.extend_lease(self.token, self.clock.time(), self.lease_seconds):
            self.beats += 1
            return True
        if not self.lost:
            logger.warning("lease %s was lost: another worker may run its task", self.token)
        self.lost = True
        return False

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self.beat():
                    return
            except Exception:
                # A transient storage error: the next beat may succeed before expiry.
                logger.exception("extending lease %s failed", self.token)

    def start(self) -> Self:
        """Start the background thread; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"huey-heartbeat-{self.token[:8]}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


HAND_BACK_AFTER = 0.1
"""Seconds a message leased ahead (see :meth:`LeaseKeeper.hold_ahead`) may wait behind
the running task before it goes back to the queue for another worker."""


class LeaseKeeper:
    """One long-lived thread that extends every lease a worker holds for long.

    A worker gives :meth:`hold` the lease of the task it starts, and :meth:`drop` once
    the task is settled: two dictionary operations, no thread per task. Every
    ``interval`` seconds the thread extends the leases held for at least ``interval``
    seconds, so a task shorter than that costs no extension at all. The thread starts
    with the first :meth:`hold` (after a fork, in the process that runs the tasks) and
    is a daemon: :meth:`stop` ends it early.

    It also watches the message a worker leased ahead while a task runs
    (:meth:`hold_ahead`): if that task runs for more than ``hand_back_after`` seconds,
    the message goes back to the queue (released, its delivery uncounted) for another
    worker to take, instead of waiting for the task to end.

    Args:
        storage: the storage holding the leases.
        lease_seconds: each extension pushes the deadline to ``now + lease_seconds``.
        clock: gives ``now`` (UTC epoch seconds).
        interval: real seconds between rounds; default a third of ``lease_seconds``.
        hand_back_after: see above (default :data:`HAND_BACK_AFTER`).

    Raises:
        ValueError: ``interval`` or ``hand_back_after`` is not positive.
    """

    def __init__(
        self,
        storage: SupportsLeases,
        lease_seconds: float,
        clock: Clock,
        interval: float | None = None,
        hand_back_after: float = HAND_BACK_AFTER,
    ) -> None:
        if not hand_back_after > 0:
            raise ValueError(f"hand_back_after must be positive, got {hand_back_after!r}")
        self.interval: float = _heartbeat_interval(lease_seconds, interval)
        self.hand_back_after: float = hand_back_after
        self.storage: SupportsLeases = storage
        self.lease_seconds: float = lease_seconds
        self.clock: Clock = clock
        self.beats: int = 0
        self.lost: set[str] = set()
        self._held: dict[str, float] = {}  # token -> when it was taken (monotonic)
        # The lease taken ahead and since when it waits; the last one handed back.
        self._ahead: tuple[str, float] | None = None
        self._handed_back: str | None = None
        self._ahead_lock = threading.Lock()
        # Whether the thread wakes every half hand_back_after (else: every interval).
        self._watching = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def hold(self, token: str) -> None:
        """Keep the lease ``token`` alive until :meth:`drop`."""
        self._held[token] = time.monotonic()
        if self._thread is None:
            self._start()

    def drop(self, token: str) -> None:
        """Stop extending the lease ``token``."""
        self._held.pop(token, None)

    def held(self) -> list[str]:
        """The tokens being kept alive."""
        return list(self._held)

    def hold_ahead(self, token: str) -> None:
        """Watch the lease ``token``, taken ahead of the task starting now, until
        :meth:`claim_ahead`; hand it back if it waits longer than ``hand_back_after``.

        One attribute write per task: the thread is woken only when it was not
        watching already.
        """
        self._ahead = (token, time.monotonic())
        if self._thread is None:
            self._start()
        elif not self._watching:
            self._wake.set()

    def claim_ahead(self, token: str) -> bool:
        """Stop watching the lease ``token``; ``False`` if it was handed back meanwhile."""
        with self._ahead_lock:
            ahead = self._ahead
            if ahead is not None and ahead[0] == token:
                self._ahead = None
                return True
            handed_back, self._handed_back = self._handed_back, None
            return handed_back != token

    def hand_back(self, now: float | None = None) -> bool:
        """Release the lease taken ahead if it has waited too long; whether it was.

        Once the storage has answered, the lease counts as handed back either way
        (:meth:`claim_ahead` then says ``False``).

        Args:
            now: the monotonic time to measure the wait against (default: now).
        """
        moment = time.monotonic() if now is None else now
        with self._ahead_lock:  # claim_ahead waits for the release's answer
            ahead = self._ahead
            if ahead is None or moment - ahead[1] < self.hand_back_after:
                return False
            try:
                released = self.storage.release(ahead[0])
            except Exception:
                # Still watched: the next round tries again.
                logger.exception("handing back lease %s failed", ahead[0])
                return False
            # Handed back even when the storage says there was nothing to release: a
            # release re-sent after a lost reply says so too, and the worker then
            # releases whatever it finds under the token instead of running it.
            self._ahead = None
            self._handed_back = ahead[0]
            if released:
                logger.debug("handed back a message leased ahead: the task before it runs long")
            return released

    def beat(self, now: float | None = None) -> int:
        """Extend every lease held for at least ``interval`` seconds; how many were extended.

        Args:
            now: the monotonic time to measure holding times against (default: now).
        """
        moment = time.monotonic() if now is None else now
        extended = 0
        for token, since in list(self._held.items()):
            if moment - since < self.interval or token not in self._held:
                continue
            try:
                kept = self.storage.extend_lease(token, self.clock.time(), self.lease_seconds)
            except Exception:
                # A transient storage error: the next round may succeed before expiry.
                logger.exception("extending lease %s failed", token)
                continue
            if kept:
                extended += 1
                self.beats += 1
            else:
                logger.warning("lease %s was lost: another worker may run its task", token)
                self.lost.add(token)
                self._held.pop(token, None)
        return extended

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="huey-lease-keeper", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        next_beat = time.monotonic() + self.interval
        while not self._stop.is_set():
            # Published before reading _ahead: hold_ahead, which writes _ahead first and
            # reads this after, wakes a thread that is about to sleep long.
            self._watching = False
            if self._ahead is not None:
                self._watching = True
            wait = next_beat - time.monotonic()
            if self._watching:
                wait = min(wait, self.hand_back_after / 2)
            self._wake.wait(max(wait, 0.0))
            self._wake.clear()
            if self._stop.is_set():
                return
            now = time.monotonic()
            if now >= next_beat:
                self.beat(now)
                next_beat = now + self.interval
            if self._ahead is not None:
                self.hand_back(now)

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
