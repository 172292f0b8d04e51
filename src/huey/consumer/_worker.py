"""The bodies that run inside workers: the task worker and the scheduler.

Both are loops over one iteration method, run until the shared stop flag is raised.
Storage failures never kill them: the first failure of an outage is logged with its
cause, the following ones quietly, and the loop backs off until the storage answers
again (then it logs the recovery).

Each task a worker takes gets two lines on the ``huey.consumer.tasks`` logger: one when
the worker starts on it and one when it is done, with the time it took and what came of
it (see :func:`describe_outcome`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol, runtime_checkable

from .. import _core
from .._core import Defer, Drop, Failure, Success
from .._delivery import (
    DeliveryReport,
    LeaseKeeper,
    PendingSettle,
    Ran,
    Received,
    finish_settle,
    receive,
    release,
    release_lease,
    requeue_expired,
    run_leased,
    send_reserve,
    send_settle,
    settle_ran,
)
from .._engine import Engine, HasEngine
from .._limits import bounded_repr
from .._task import Task
from ..protocols import (
    Lease,
    SupportsBlockingDequeue,
    SupportsExpiringKeys,
    SupportsScheduleTransfer,
)
from ..signals import (
    SIGNAL_CANCELED,
    SIGNAL_ENQUEUED,
    SIGNAL_ERROR,
    SIGNAL_INTERRUPTED,
    SIGNAL_LOCKED,
    SIGNAL_RETRYING,
    SIGNAL_TIMEOUT,
    Signal,
)
from ._environment import Environment, PipeFlag
from ._isolation import IsolationGate
from ._options import ConsumerOptions

__all__ = ("Scheduler", "ScheduleWaiting", "Worker", "OutageLog", "describe_outcome")

logger = logging.getLogger("huey.consumer")
task_logger = logging.getLogger("huey.consumer.tasks")
"""One line when a worker starts a task, one when it is done (INFO)."""

# How a failure is named in the finish line, by the signal the runner gave it.
_FAILURE_WORDS: dict[Signal | None, str] = {
    SIGNAL_ERROR: "failed",
    SIGNAL_TIMEOUT: "timed out",
    SIGNAL_LOCKED: "locked",
    SIGNAL_CANCELED: "cancelled",
    None: "retrying as the task asked",  # RetryTask: always retried
}


_STOP_CHECK_INTERVAL = 0.01
"""Seconds between two looks of a busy worker at the consumer's stop flag."""

_OVERLAP_BELOW = 0.01
"""A task that ran for less than this many seconds has its settle sent without waiting
(where the storage can): the next task runs while it travels. After longer tasks the
round trip is too small a share to be worth a message leased ahead."""

_WAIT_SLICE = 0.5
"""Longest wait of the scheduler for the schedule, between two looks at the stop flag."""

_PRECISE_WAIT = 0.15
"""The scheduler sleeps (rather than waits on the storage) for the last this many seconds
before an item is due: a storage's blocking read may return up to 100 ms after its
timeout (Redis checks them on its timer, ten times a second by default), a sleep does
not."""


@runtime_checkable
class ScheduleWaiting(Protocol):
    """A storage that says when its next scheduled item is due and lets the scheduler
    wait for an addition (:class:`~huey.storage.RedisStorage`, woken by the addition;
    :class:`~huey.storage.SqliteStorage`, which looks again every 50 ms)."""

    def next_due(self) -> float | None:
        """When the earliest scheduled item is due (UTC epoch seconds); ``None``: empty."""
        ...

    def wait_schedule(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for an addition to the schedule; whether one came."""
        ...


def _utc_text(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def _will_retry(task: Task[Any], failure: Failure, now: float) -> bool:
    # Ask the core's own settle() rather than restating its retry rule here; it is pure
    # and cheap (no I/O), and only consulted for failures.
    effects = _core.settle(task, failure, now, store_results=False, store_none=False)
    return any(
        isinstance(effect, _core.Emit) and effect.signal == SIGNAL_RETRYING for effect in effects
    )


def describe_outcome(task: Task[Any], report: DeliveryReport, now: float) -> str:
    """What came of one delivery of ``task``, as the end of its finish line.

    Args:
        task: the task that was delivered.
        report: what :func:`huey._delivery.run_received` returned.
        now: the current time (UTC epoch seconds), to tell whether a failure retries.

    Returns:
        ``succeeded``; ``failed: <exception repr>`` (``failed, retrying: ...`` when a
        retry follows; ``timed out``, ``locked`` or ``cancelled`` for those failures;
        ``retrying as the task asked`` for ``RetryTask``); ``revoked, not run``;
        ``expired, not run``; ``cancelled by a pre-execute hook, not run``; ``not due,
        scheduled for <UTC time>``; ``interrupted, ...``; ``not recorded, ...``; with
        ``; lease lost, ...`` appended when the acknowledgement was refused.
    """
    outcome = report.outcome
    if outcome is None:
        # run_received logged why (with the traceback) before returning this report.
        text = "not recorded, storing its outcome failed (see the error above)"
    elif isinstance(outcome, Success):
        text = "succeeded"
    elif isinstance(outcome, Drop):
        if outcome.signal == SIGNAL_CANCELED:
            text = "cancelled by a pre-execute hook, not run"
        else:
            text = f"{outcome.signal}, not run"
    elif isinstance(outcome, Defer):
        text = f"not due, scheduled for {_utc_text(outcome.eta)}"
    elif outcome.signal == SIGNAL_INTERRUPTED:
        text = (
            "interrupted, its message is back in the queue"
            if report.status == "released"
            else "interrupted, its message is lost (at-most-once delivery)"
        )
    else:
        text = _FAILURE_WORDS.get(outcome.signal, str(outcome.signal))
        if outcome.signal is not None and _will_retry(task, outcome, now):
            text += ", retrying"
        if outcome.exception is not None:
            # Bounded: an exception may carry a huge message (a task's arguments, a
            # response body); the traceback logged with the failure has it all.
            text += f": {bounded_repr(outcome.exception)}"
    if report.status == "stale":
        text += "; lease lost, the acknowledgement was refused (it may run again)"
    return text


class OutageLog:
    """Logs a storage outage once when it starts and once when it ends.

    Args:
        who: names the loop in the messages.
        initial_delay: first back-off pause in seconds.
        max_delay: longest back-off pause.
    """

    def __init__(self, who: str, initial_delay: float, max_delay: float) -> None:
        self.who = who
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.failures: int = 0
        self.delay: float = initial_delay
        self.started: float = 0.0

    def failed(self, exc: BaseException) -> float:
        """Record a failure; return how long to back off before trying again."""
        if self.failures == 0:
            self.started = time.monotonic()
            self.delay = self.initial_delay
            logger.error(
                "%s: storage failed (%s: %s); retrying with back-off up to %gs, "
                "further failures are logged at debug level until it recovers",
                self.who,
                type(exc).__name__,
                exc,
                self.max_delay,
            )
        else:
            logger.debug("%s: storage still failing: %r", self.who, exc)
            self.delay = min(self.delay * 2, self.max_delay)
        self.failures += 1
        return self.delay

    def succeeded(self) -> None:
        """Record a success; log the recovery if an outage was going on."""
        if self.failures:
            logger.warning(
                "%s: storage is back after %d failed attempts (%.1fs)",
                self.who,
                self.failures,
                time.monotonic() - self.started,
            )
            self.failures = 0


class Worker:
    """Takes tasks off the queue and runs them until the stop flag is raised.

    Args:
        huey: the application (anything with an engine).
        options: consumer options (polling delays, ``max_tasks``).
        environment: where the worker runs (bounds task run time).
        stop: the consumer's stop flag.
        name: for log messages.
    """

    def __init__(
        self,
        huey: HasEngine,
        options: ConsumerOptions,
        environment: Environment,
        stop: PipeFlag,
        name: str,
    ) -> None:
        self.huey = huey
        self.engine: Engine = huey.engine
        self.options = options
        self.environment = environment
        self.stop_flag = stop
        self.name = name
        self.delay: float = options.initial_delay
        self.tasks_run: int = 0
        self.in_flight: Received | None = None
        self.stop_requested: bool = False
        self.recycled: bool = False
        self.outage: OutageLog = OutageLog(name, options.initial_delay, options.max_delay)
        self.isolation: IsolationGate = IsolationGate.for_engine(self.engine, options.worker_type)
        storage = self.engine.ports.storage
        leases = self.engine.leasing_storage()
        # One thread per worker extends the leases of tasks that run for long (a third of
        # the lease and more), three times per lease period; none is started per task.
        self.keeper: LeaseKeeper | None = (
            None
            if leases is None
            else LeaseKeeper(leases, self.engine.settings.lease_timeout, self.engine.ports.clock)
        )
        self._next_stop_check = 0.0
        # The next message, leased by the previous task's settle (one round trip a task).
        self.next_lease: Lease | None = None
        # The settle of the last task run, sent and not read yet: its reply (with the
        # message after next_lease, if any) is read after the next task ran.
        self.pending: PendingSettle | None = None
        # Whether the last settle was sent ahead (the queue is busy with short tasks).
        self.overlapping: bool = False
        self.blocking: bool = isinstance(storage, SupportsBlockingDequeue) and bool(
            storage.blocking
        )

    def request_stop(self) -> None:
        """Stop after the current task (called from a process worker's signal handler)."""
        self.stop_requested = True

    def run(self) -> None:
        """The worker body: startup hooks, the loop, shutdown hooks."""
        self.environment.prepare_worker(self.request_stop)
        self.engine.events.run_lifecycle("startup")
        try:
            while not self.stop_requested and not self._stop_flag_raised():
                if not self.loop():
                    break
        except KeyboardInterrupt:
            logger.debug("%s: interrupted", self.name)
        finally:
            self._give_back_ahead()
            if self.keeper is not None:
                self.keeper.stop()
            self.engine.events.run_lifecycle("shutdown")
            self.engine.runner.close_loop()  # the event loop of its async tasks, if any

    def _give_back_ahead(self) -> None:
        """Give back what this worker leased ahead: the message in hand and the one the
        call in flight may bring (its reply is read first)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            try:
                lease = self._finish(pending)
            except Exception:
                logger.exception("%s: reading the last settle's reply failed", self.name)
                lease = None
            self.isolation.drop_carried()
            if lease is not None:
                release_lease(self.huey, lease)
        if self.next_lease is not None:
            lease, self.next_lease = self.next_lease, None
            self.isolation.drop_carried()
            release_lease(self.huey, lease)

    def _send_ahead(self, pending: PendingSettle | None) -> None:
        """Keep ``pending`` (sent, not read) as the call in flight; it holds a slot of the
        isolation gate, as a message in hand does, and the keeper watches its lease."""
        self.pending = pending
        if pending is not None:
            self.isolation.carry()
            if self.keeper is not None:
                self.keeper.hold_ahead(pending.next_token)

    def _finish(self, pending: PendingSettle) -> Lease | None:
        """Read the reply of a call sent ahead; the message it leased, if still ours.

        Raises:
            StorageError: the storage failed, and the worker is stopping.
        """
        lease = self._read_reply(pending)
        self.outage.succeeded()
        if self.keeper is not None and not self.keeper.claim_ahead(pending.next_token):
            if lease is not None:
                # Handed back while the task before it ran; a call sent again after a
                # lost reply may have leased one more under the same token.
                release_lease(self.huey, lease)
            return None
        return lease

    def _read_reply(self, pending: PendingSettle) -> Lease | None:
        """:func:`finish_settle`, sent again after a storage failure until it answers.

        A call sent ahead is never abandoned: its task's finish line is logged already.
        Its tokens make a repeat report what the first run did; the worker's outage
        back-off paces the repeats. When the worker stops meanwhile, the unknown outcome
        is logged and the failure raised.
        """
        while True:
            try:
                return finish_settle(pending)
            except Exception as exc:
                if self.stop_requested or self.stop_flag.is_set():
                    if pending.ran is not None:
                        task = pending.ran.task
                        logger.error(
                            "%s: the acknowledgement of task %s (%s), sent after it "
                            "finished, is unknown: the storage failed while the worker "
                            "stops; its message is delivered again after its lease "
                            "expires unless it was settled",
                            self.name,
                            task.name,
                            task.id,
                        )
                    raise
                self.stop_flag.wait(self.outage.failed(exc))

    def _release_suspect(self, received: Received) -> bool:
        """Give back a suspect, and whatever is leased ahead: it is to run alone."""
        self._give_back_ahead()
        return release(self.huey, received)

    def _stop_flag_raised(self) -> bool:
        """Whether the consumer's stop flag is up, asked at most every 10 ms.

        Asking polls a pipe (a system call that gives up the GIL, which the other
        workers then wait to get back); between tasks a worker asks at most this often.
        """
        now = time.monotonic()
        if now < self._next_stop_check:
            return False
        self._next_stop_check = now + _STOP_CHECK_INTERVAL
        return self.stop_flag.is_set()

    def loop(self) -> bool:
        """One iteration; ``False`` when the worker should end (recycling)."""
        try:
            delivered = self.take_next()
        except Exception as exc:
            self.stop_flag.wait(self.outage.failed(exc))
            return True
        self.outage.succeeded()
        if delivered:
            self.delay = self.options.initial_delay
            self.tasks_run += 1
            if self.options.max_tasks is not None and self.tasks_run >= self.options.max_tasks:
                logger.info("%s: ran %d tasks, recycling", self.name, self.tasks_run)
                self.recycled = True
                return False
        elif not self.blocking:
            self.stop_flag.wait(self.delay)
            self.delay = min(self.delay * self.options.backoff, self.options.max_delay)
        return True

    def take_next(self) -> bool:
        """Take the next message and run it; ``False`` when the queue was empty.

        Messages that cannot be run (undecodable, unknown task, too many deliveries) are
        dead-lettered (or quarantined) and logged by the delivery flow; they count as
        taken. A message redelivered after its lease expired runs alone in this
        process (see :mod:`huey.consumer._isolation`).

        Raises:
            StorageError: the storage failed.
        """
        return self.isolation.take(
            self._receive,
            self._release_suspect,
            self._execute,
            self.name,
            # Its slot was taken when the message in hand (else the call in flight) was.
            carried=self.next_lease is not None or self.pending is not None,
        )

    def _receive(self) -> Received | DeliveryReport:
        """The message leased ahead by the previous settle (in hand, else brought by the
        call in flight), else the next one reserved."""
        lease, self.next_lease = self.next_lease, None
        if lease is None and self.pending is not None:
            # This take holds the call's slot now.
            pending, self.pending = self.pending, None
            lease = self._finish(pending)
            if lease is None and self.isolation.isolating:
                return DeliveryReport(status="empty")  # the gate is closed: reserve nothing
            busy = lease is not None and self.overlapping and lease.deliveries <= 1
            if busy and self._wants_more():
                # Short tasks, and more queued: lease the one after this while it runs.
                self._send_ahead(send_reserve(self.huey))
        return receive(self.huey, lease=lease)

    def _execute(self, received: Received) -> None:
        task = received.task
        clock = self.engine.ports.clock
        task_logger.info("executing %s (%s)", task.name, task.id)
        self.in_flight = received
        # The logged duration comes from the application's clock (a fake one in tests);
        # the overrun check below uses the real monotonic clock, as the deadline does.
        started = time.monotonic()
        clock_started = clock.monotonic()
        try:
            with self.environment.timeout(task.timeout):
                ran = run_leased(self.huey, received, keeper=self.keeper)
                if isinstance(ran, Ran):
                    report = self._settle(ran, time.monotonic() - started)
                else:
                    report = ran
        except BaseException as exc:
            # The storage failed while settling, or the worker is being torn down: the
            # loop (or the consumer) reports the cause; close the task's pair of lines.
            task_logger.info(
                "finished %s (%s) in %.3fs: not settled, %s",
                task.name,
                task.id,
                clock.monotonic() - clock_started,
                bounded_repr(exc),
            )
            raise
        finally:
            self.in_flight = None
        self._log_finish(task, report, clock.monotonic() - clock_started)
        if task.timeout is None:
            return
        elapsed = time.monotonic() - started
        overran = elapsed > task.timeout
        # An async task is cut short by its event loop, on thread workers too.
        cut_short = isinstance(report.outcome, Failure) and report.outcome.signal == SIGNAL_TIMEOUT
        if overran and not cut_short and not self.environment.enforces_timeouts:
            # Process and greenlet workers cut the task short; threads cannot.
            logger.warning(
                "%s: task %s (%s) ran %.2fs, past its timeout of %gs; thread workers "
                "cannot interrupt tasks: call huey.consumer.check_timeout() in long tasks "
                "or use -k process / -k greenlet",
                self.name,
                task.name,
                task.id,
                elapsed,
                task.timeout,
            )

    def _settle(self, ran: Ran, seconds: float) -> DeliveryReport:
        """Settle a task that ran ``seconds``, leasing the next message where wanted.

        After a short task the settle is sent without waiting (``send_settle``): its
        reply is read after the next task ran, and the report returned here is the
        run's (a refused acknowledgement is logged when the reply is read). The reply
        of the call sent before, read now, gives the message to run next.
        """
        wants_more = self._wants_more()
        pending = None
        if seconds < _OVERLAP_BELOW and wants_more:
            pending = send_settle(self.huey, ran)
        self.overlapping = pending is not None
        previous, self.pending = self.pending, None
        if previous is not None:
            try:
                ahead = self._finish(previous)
            except Exception:
                # Only while the worker stops (a failure is otherwise sent again), with
                # the unknown outcome logged. This task's own settle, if sent, is read
                # when the worker ends.
                if pending is None:
                    self.isolation.drop_carried()
                    raise
                ahead = None
            if ahead is None:
                self.isolation.drop_carried()
            else:
                self.next_lease = ahead  # keeps the call's slot
        if pending is not None:
            self._send_ahead(pending)
            return DeliveryReport(
                status="completed", task=ran.task, lease=ran.lease, outcome=ran.outcome
            )
        report = settle_ran(self.huey, ran, reserve_next=self.next_lease is None and wants_more)
        if report.next_lease is not None:
            self.isolation.carry()
            self.next_lease = report.next_lease
        return report

    def _wants_more(self) -> bool:
        """Whether to lease the next message with this task's settle."""
        last = self.options.max_tasks is not None and self.tasks_run + 1 >= self.options.max_tasks
        # While a suspect waits to run alone, lease nothing ahead: it would be one
        # more message to finish before the suspect's turn.
        return not (
            last or self.stop_requested or self.isolation.isolating or self._stop_flag_raised()
        )

    def _log_finish(self, task: Task[Any], report: DeliveryReport, seconds: float) -> None:
        outcome = report.outcome
        # Nothing else reports a task cut short by its timeout: make it a warning.
        timed_out = isinstance(outcome, Failure) and outcome.signal == SIGNAL_TIMEOUT
        level = logging.WARNING if timed_out else logging.INFO
        if not task_logger.isEnabledFor(level):
            return  # skip describing the outcome when the line is not wanted
        text = describe_outcome(task, report, self.engine.ports.clock.time())
        task_logger.log(level, "finished %s (%s) in %.3fs: %s", task.name, task.id, seconds, text)


class Scheduler:
    """Moves due scheduled tasks to the queue and enqueues periodic tasks.

    Periodic tasks are checked once per wall-clock minute, aligned to the minute
    (:func:`huey._core.minutes_to_check`), and each run is claimed with a per-slot
    marker in storage so several consumers enqueue it once.

    Args:
        huey: the application (anything with an engine).
        options: consumer options (``scheduler_interval``, ``periodic``).
        stop: the consumer's stop flag.
    """

    def __init__(self, huey: HasEngine, options: ConsumerOptions, stop: PipeFlag) -> None:
        self.huey = huey
        self.engine: Engine = huey.engine
        self.options = options
        self.stop_flag = stop
        self.last_minute: float | None = None
        self.outage: OutageLog = OutageLog("scheduler", options.initial_delay, options.max_delay)
        self.stop_requested: bool = False
        storage = self.engine.ports.storage
        self.waiting: ScheduleWaiting | None = (
            storage
            if isinstance(storage, ScheduleWaiting)
            and isinstance(storage, SupportsScheduleTransfer)
            else None
        )

    def request_stop(self) -> None:
        """Stop after the current iteration."""
        self.stop_requested = True

    def run_in(self, environment: Environment) -> None:
        """The scheduler body, for ``environment.start``."""
        environment.prepare_worker(self.request_stop)
        try:
            self.run()
        except KeyboardInterrupt:
            logger.debug("scheduler: interrupted")

    def run(self) -> None:
        """Iterate every ``scheduler_interval`` seconds until stopped."""
        interval = float(self.options.scheduler_interval)
        next_run = time.monotonic()
        while not self.stop_requested and not self.stop_flag.is_set():
            self.loop()
            next_run += interval
            now = time.monotonic()
            if next_run < now:
                # Late (a slow storage, a stall): skip the missed beats, keep the rhythm.
                next_run = now + interval - (now - next_run) % interval
            if self.waiting is None:
                self.stop_flag.wait(next_run - now)
            else:
                self.wait_for_due(next_run)

    def wait_for_due(self, until: float) -> None:
        """Until monotonic time ``until``, move each scheduled task to the queue when due.

        On a storage that tells when its next item is due and wakes a waiter when one is
        added (:class:`ScheduleWaiting`, Redis), a task runs within milliseconds of its
        time instead of at the next beat of ``scheduler_interval``.
        """
        assert self.waiting is not None
        clock = self.engine.ports.clock
        while not self.stop_requested and not self.stop_flag.is_set():
            remaining = until - time.monotonic()
            if remaining <= 0:
                return
            try:
                due = self.waiting.next_due()
                wait = remaining if due is None else min(remaining, due - clock.time())
                if 0 < wait <= _PRECISE_WAIT:
                    # Almost due: a blocking read of the storage may time out late.
                    self.stop_flag.wait(wait)
                elif wait > 0 and self.waiting.wait_schedule(min(wait, _WAIT_SLICE)):
                    continue  # something was scheduled: look at the earliest again
                if due is not None and due <= clock.time() and not self.move_due(clock.time()):
                    self.stop_flag.wait(min(remaining, _WAIT_SLICE))  # nothing moved: no spin
            except Exception as exc:
                self.stop_flag.wait(min(remaining, self.outage.failed(exc)))
                continue
            self.outage.succeeded()

    def loop(self, now: float | None = None) -> None:
        """One iteration at wall-clock ``now`` (default: the huey's clock)."""
        now = self.engine.ports.clock.time() if now is None else now
        try:
            self.requeue_expired(now)
            self.move_due(now)
            if self.options.periodic:
                self.enqueue_periodic(now)
        except Exception as exc:
            self.outage.failed(exc)
            return
        self.outage.succeeded()

    def requeue_expired(self, now: float) -> int:
        """Give back the messages of workers that died holding a lease."""
        return requeue_expired(self.huey, now)

    def move_due(self, now: float) -> int:
        """Move the scheduled tasks due at ``now`` to the queue; return how many.

        Storages with :class:`~huey.protocols.SupportsScheduleTransfer` (every built-in
        one but the black hole) move them in one atomic step, each with the priority
        stored beside it; the message's own priority is only read for items scheduled
        without one. Otherwise they are taken off the schedule, then enqueued; if
        enqueueing fails the rest goes back to the schedule (only a crash of this very
        process between the two steps can lose them).
        """
        engine = self.engine
        storage = engine.ports.storage
        if isinstance(storage, SupportsScheduleTransfer):
            moved = storage.move_due(now, self._priority_of)
            for data in moved:
                try:
                    task = engine.decode_task(data)
                except Exception:  # the worker dead-letters it; nothing to announce
                    continue
                engine.events.emit(SIGNAL_ENQUEUED, task)
            count = len(moved)
        else:
            tasks = engine.read_schedule(now)
            for index, task in enumerate(tasks):
                try:
                    engine.enqueuer.enqueue(task)
                except Exception:
                    for rest in tasks[index:]:
                        engine.enqueuer.schedule(rest)
                    raise
            count = len(tasks)
        if count:
            logger.debug("moved %d due task(s) to the queue", count)
        return count

    def _priority_of(self, data: bytes) -> int | None:
        try:
            return self.engine.decode_task(data).priority
        except Exception:
            return None

    def enqueue_periodic(self, now: float) -> int:
        """Check the periodic tasks for every minute not yet checked; return how many ran."""
        minutes = _core.minutes_to_check(self.last_minute, now)
        skipped = _core.skipped_minutes(self.last_minute, minutes)
        if skipped:
            logger.warning(
                "periodic tasks: skipped %d minute(s) after a stall or a clock jump "
                "(at most %d missed minutes are caught up)",
                skipped,
                _core.MAX_CATCH_UP_MINUTES,
            )
        count = 0
        for minute in minutes:
            count += self.enqueue_periodic_minute(minute)
            self.last_minute = minute
        return count

    def enqueue_periodic_minute(self, minute: float) -> int:
        """Enqueue the periodic tasks due at ``minute`` that no other consumer claimed."""
        try:
            due = self.engine.periodic_tasks(minute)
        except Exception:
            logger.exception("a periodic task's validate_datetime failed")
            return 0
        count = 0
        for task in due:
            if self.claim(task, minute):
                try:
                    self.engine.enqueuer.enqueue(task)
                except Exception:
                    # Un-claim, so the retry of this minute enqueues it.
                    self.engine.ports.storage.pop_data(
                        _core.periodic_slot_key(self.engine.settings.name, task.name, minute)
                    )
                    raise
                count += 1
                logger.info("enqueued periodic task %s for %s", task.name, _minute_text(minute))
        return count

    def claim(self, task: Task[Any], minute: float) -> bool:
        """Take the slot of ``task`` at ``minute``; ``False`` if another consumer has it."""
        storage = self.engine.ports.storage
        name = self.engine.settings.name
        key = _core.periodic_slot_key(name, task.name, minute)
        value = self.engine.codec.encode(minute)
        if isinstance(storage, SupportsExpiringKeys):
            return storage.put_if_empty_ttl(key, value, _core.PERIODIC_MARKER_TTL)
        # No expiring keys: drop the marker of the run that left the look-back window.
        storage.pop_data(
            _core.periodic_slot_key(name, task.name, minute - _core.PERIODIC_MARKER_TTL)
        )
        return storage.put_if_empty(key, value)


def _minute_text(minute: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(minute))
