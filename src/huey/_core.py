"""The pure core: what to do with a task message, given the time.

Rule 1: this module imports only the standard library, ``typing_extensions`` and the
other pure modules (``_messages``, ``_crontab``, ``_timeutil``, ``exceptions``,
``signals``). A test enforces it.

Rule 2: no clock reads, no I/O, no threads. Time is the ``now`` argument (UTC epoch
seconds). Functions return values that *describe* what the I/O shell must do; the shell
(``huey._api``, the consumer) carries them out in the order given.

Theory of operation. A worker holding a message asks :func:`decide` whether to run it
(or defer it to the schedule, drop it as revoked, drop it as expired). It runs the task
and turns what happened into an :data:`Outcome`, then asks :func:`settle` for the
effects: store the result or the error, run post-execute hooks, emit signals, enqueue
the next pipeline stage, the error handler or the retry, and report a chord member's
outcome to its chord. A message it does not run gets its effects from :func:`dropped`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, TypeAlias, TypeVar

from ._messages import ChordRef, ErrorInfo, Message, Revocation
from .exceptions import TaskException
from .signals import (
    SIGNAL_CANCELED,
    SIGNAL_COMPLETE,
    SIGNAL_ERROR,
    SIGNAL_INTERRUPTED,
    SIGNAL_RETRYING,
    SIGNAL_TIMEOUT,
    Signal,
)

__all__ = (
    "Run",
    "Defer",
    "Drop",
    "Decision",
    "Success",
    "Failure",
    "Outcome",
    "StoreResult",
    "StoreError",
    "PostExecute",
    "Emit",
    "Enqueue",
    "MemberOutcome",
    "ReportToChord",
    "Effect",
    "is_due",
    "resolve_expiry",
    "revocation_applies",
    "decide",
    "settle",
    "error_text",
    "dropped",
    "extend_arguments",
    "append_stage",
    "pipeline_stages",
    "chord_of",
    "attach_chord",
    "CHORD_DONE_TTL",
    "retry_message",
    "delivery_allowed",
    "too_many_deliveries_reason",
    "MAX_CATCH_UP_MINUTES",
    "PERIODIC_MARKER_TTL",
    "minute_start",
    "minutes_to_check",
    "skipped_minutes",
    "periodic_slot_key",
)

M = TypeVar("M", bound=Message)

# --- decisions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """Run the task now."""


_RUN: Final = Run()
"""The one :class:`Run` decision (it holds nothing; one instance serves every call)."""


@dataclass(frozen=True, slots=True)
class Defer:
    """Not due yet: put the message in the schedule for ``eta``."""

    eta: float


@dataclass(frozen=True, slots=True)
class Drop:
    """Do not run the task; emit ``signal``.

    :func:`decide` drops with ``revoked`` or ``expired``; the shell reports a task that a
    pre-execute hook cancelled as a drop with ``canceled``.
    """

    signal: Signal


Decision: TypeAlias = Run | Defer | Drop


def is_due(message: Message, now: float) -> bool:
    """Whether ``message`` may run at ``now``."""
    return message.eta is None or message.eta <= now


def resolve_expiry(message: M, now: float) -> M:
    """Fix a relative ``expires`` to an absolute time when the message is enqueued.

    Relative expiry counts from when the task becomes due (its ``eta``, or ``now``).
    """
    if message.expires is None:
        return message
    start = now if message.eta is None else max(now, message.eta)
    return replace(message, expires_at=start + message.expires)


def revocation_applies(revocation: Revocation | None, now: float) -> tuple[bool, bool]:
    """Whether a revocation flag revokes a run at ``now``.

    Returns:
        ``(revoked, consume)``: ``consume`` tells the shell to delete the flag when the
        task is actually dropped or run (a ``once`` flag that was used, or an ``until``
        flag that has lapsed).
    """
    if revocation is None:
        return False, False
    if revocation.until is not None and revocation.until <= now:
        return False, True
    return True, revocation.once


def decide(message: Message, now: float, *, revoked: bool) -> Decision:
    """Decide what to do with a message a worker holds at ``now``.

    Args:
        message: the message.
        now: current time.
        revoked: whether a revocation flag applies (see :func:`revocation_applies`).
    """
    if not is_due(message, now):
        assert message.eta is not None
        return Defer(message.eta)
    if revoked:
        return Drop("revoked")
    if message.expires_at is not None and message.expires_at < now:
        return Drop("expired")
    return _RUN


# --- outcomes --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Success:
    """The task returned ``value``."""

    value: object


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """The task did not complete.

    Attributes:
        exception: what was raised (``None`` for a cancellation from a hook).
        traceback: the formatted traceback, stored with the error.
        signal: the signal naming the kind of failure (``error``, ``locked``,
            ``timeout``, ``canceled``, ``interrupted``), or ``None`` for a retry the task
            asked for with ``RetryTask``.
        retry: ``True`` forces a retry even without retries left, ``False`` forbids
            one, ``None`` retries when retries are left.
        retry_eta: when a forced retry should run (UTC epoch seconds).
        store: whether the error is written to the result store.
    """

    exception: BaseException | None
    traceback: str = ""
    signal: Signal | None = SIGNAL_ERROR
    retry: bool | None = None
    retry_eta: float | None = None
    store: bool = True


Outcome: TypeAlias = Success | Failure

# --- effects ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoreResult:
    """Write ``value`` to the result store under ``task_id``."""

    task_id: str
    value: object


@dataclass(frozen=True, slots=True)
class StoreError:
    """Write the error record under ``task_id``."""

    task_id: str
    info: ErrorInfo


@dataclass(frozen=True, slots=True)
class PostExecute:
    """Run the post-execute hooks with the task's value and exception."""

    value: object
    exception: BaseException | None


@dataclass(frozen=True, slots=True)
class Emit:
    """Send ``signal`` for the task (with the exception for ``error``)."""

    signal: Signal
    exception: BaseException | None = None


_EMIT_COMPLETE: Final = Emit(SIGNAL_COMPLETE)
"""The effect every success ends with (immutable: one instance serves every call)."""


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Enqueue ``message`` (scheduling it when its ``eta`` is in the future)."""

    message: Message


MemberOutcome: TypeAlias = Success | ErrorInfo | Drop
"""What a chord member contributes: its value (:class:`Success`), its final error
(:class:`~huey._messages.ErrorInfo`), or nothing because it did not run (:class:`Drop`:
revoked, expired or cancelled)."""


@dataclass(frozen=True, slots=True)
class ReportToChord:
    """Record a chord member's ``outcome`` in its chord.

    The shell stores it once per member (a redelivered member reports again, harmlessly)
    and enqueues the chord's callback when the last member has reported.
    """

    chord: ChordRef
    outcome: MemberOutcome


Effect: TypeAlias = StoreResult | StoreError | PostExecute | Emit | Enqueue | ReportToChord

CHORD_DONE_TTL = 7 * 24 * 3600.0
"""Seconds a chord's "callback enqueued" marker is kept where keys can expire: a member
delivered again within that time (a worker lost its lease) is recognised as late and
cannot fire the callback a second time."""


def extend_arguments(message: M, value: object) -> M:
    """Pass a parent's return value to a pipeline stage, the way huey always has.

    ``None`` adds nothing, a tuple extends the positional arguments, a dict fills in
    keyword arguments that are not already bound, anything else is appended as one
    positional argument.
    """
    if value is None:
        return message
    if isinstance(value, tuple):
        items: tuple[object, ...] = value  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
        return replace(message, args=message.args + items)
    if isinstance(value, dict):
        mapping: dict[object, object] = value  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
        merged = {str(key): item for key, item in mapping.items()}
        merged.update(message.kwargs)
        return replace(message, kwargs=merged)
    return replace(message, args=(*message.args, value))


def append_stage(head: M, stage: Message) -> M:
    """A copy of the pipeline starting at ``head`` with ``stage`` run after its last stage."""
    if head.on_complete is None:
        return replace(head, on_complete=stage)
    return replace(head, on_complete=append_stage(head.on_complete, stage))


def pipeline_stages(head: Message) -> tuple[Message, ...]:
    """``head`` and every stage chained after it, in order."""
    stages: list[Message] = []
    current: Message | None = head
    while current is not None:
        stages.append(current)
        current = current.on_complete
    return tuple(stages)


def chord_of(head: Message) -> ChordRef | None:
    """The chord the pipeline starting at ``head`` reports to (carried by a stage), if any."""
    for stage in pipeline_stages(head):
        if stage.chord is not None:
            return stage.chord
    return None


def attach_chord(head: M, ref: ChordRef) -> M:
    """A copy of the pipeline starting at ``head`` whose last stage reports to ``ref``.

    Raises:
        ValueError: the pipeline already reports to a chord.
    """
    if chord_of(head) is not None:
        raise ValueError(f"task {head.id} is already a member of a chord")
    return _attach(head, ref)


def _attach(head: M, ref: ChordRef) -> M:
    if head.on_complete is None:
        return replace(head, chord=ref)
    return replace(head, on_complete=_attach(head.on_complete, ref))


def retry_message(message: M, now: float, *, eta: float | None = None, forced: bool = False) -> M:
    """The message to enqueue for the next attempt of ``message``.

    A forced retry (``RetryTask``, ``CancelExecution(retry=True)``) does not use up a
    retry. Otherwise one retry is consumed. The retry runs at ``eta`` if given, else after
    ``retry_delay``; the delay for the attempt after that is multiplied by
    ``retry_backoff``. A relative expiry is cleared and re-resolved when the retry is
    enqueued; an absolute one (``expires`` unset) is kept.
    """
    retries = message.retries if forced else max(message.retries - 1, 0)
    if eta is None and message.retry_delay > 0:
        eta = now + message.retry_delay
    next_delay = message.retry_delay * message.retry_backoff
    return replace(
        message,
        retries=retries,
        eta=eta,
        retry_delay=next_delay,
        expires_at=None if message.expires is not None else message.expires_at,
    )


def error_text(exception: BaseException) -> str:
    """The ``error`` text stored for ``exception``: its ``repr``.

    A :class:`~huey.exceptions.TaskException` (a sub-task's failure, re-raised by a task
    that read its result) is stored as the sub-task's own error text, as the original
    huey does, rather than as a wrapped ``repr``.
    """
    if isinstance(exception, TaskException):
        inner = exception.metadata.get("error")
        if inner:
            return str(inner)
    return repr(exception)


def _error_info(message: Message, failure: Failure, *, final: bool) -> ErrorInfo:
    exception = failure.exception
    return ErrorInfo(
        error=str(failure.signal) if exception is None else error_text(exception),
        traceback=failure.traceback,
        task_id=message.id,
        retries=message.retries,
        final=final,
    )


def settle(
    message: Message,
    outcome: Outcome,
    now: float,
    *,
    store_results: bool,
    store_none: bool,
    store_intermediate_errors: bool = True,
) -> tuple[Effect, ...]:
    """The effects of ``outcome`` for ``message``, in the order the shell applies them.

    Args:
        message: the message that ran.
        outcome: what happened.
        now: current time.
        store_results: whether results are kept (``Huey(results=...)``, never for
            periodic tasks).
        store_none: whether a ``None`` return value is stored.
        store_intermediate_errors: whether the error of an attempt that will be retried
            is stored (``Huey(store_intermediate_errors=...)``). Even then a lock, a
            rate limit or a retry the task asked for (``RetryTask``) is not stored while
            a retry is pending, as in the original huey 3.5.
    """
    if isinstance(outcome, Success):
        effects: list[Effect] = []
        if store_results and (outcome.value is not None or store_none):
            effects.append(StoreResult(message.id, outcome.value))
        effects += [PostExecute(outcome.value, None), _EMIT_COMPLETE]
        if message.on_complete is not None:
            effects.append(Enqueue(extend_arguments(message.on_complete, outcome.value)))
        if message.chord is not None:
            effects.append(ReportToChord(message.chord, outcome))
        return tuple(effects)

    failure = outcome
    if failure.signal == SIGNAL_INTERRUPTED:
        # Cut short by a shutdown: nothing is known about the outcome, so nothing is
        # stored; with leased delivery the shell returns the message to the queue.
        return (Emit(SIGNAL_INTERRUPTED, failure.exception),)

    forced = failure.retry is True
    will_retry = forced or (failure.retry is None and message.retries > 0)
    info = _error_info(message, failure, final=not will_retry)
    effects = [] if failure.signal is None else [Emit(failure.signal, failure.exception)]
    # An error, a timeout or a cancellation is stored even when a retry follows, as the
    # original huey does by default, so a reader sees why; the retry's result replaces
    # it. A lock, a rate limit or a RetryTask that will be retried is no error to report.
    intermediate = store_intermediate_errors and failure.signal in (
        SIGNAL_ERROR,
        SIGNAL_TIMEOUT,
        SIGNAL_CANCELED,
    )
    if store_results and failure.store and (intermediate or not will_retry):
        effects.append(StoreError(message.id, info))
        if not will_retry:
            # Later stages will never run: give their result handles the error too, so
            # a blocking read of the whole pipeline does not wait for ever.
            effects += [StoreError(stage.id, info) for stage in pipeline_stages(message)[1:]]
    effects.append(PostExecute(None, failure.exception))
    if will_retry:
        effects += [
            Emit(SIGNAL_RETRYING, failure.exception),
            Enqueue(retry_message(message, now, eta=failure.retry_eta, forced=forced)),
        ]
    elif message.on_error is not None and failure.exception is not None:
        effects.append(Enqueue(extend_arguments(message.on_error, failure.exception)))
    chord = None if will_retry else chord_of(message)
    if chord is not None:
        # The member (or the pipeline stage it ends with) will never complete: a
        # cancellation counts as skipped, anything else as the member's error.
        cancelled = failure.signal == SIGNAL_CANCELED
        effects.append(ReportToChord(chord, Drop(SIGNAL_CANCELED) if cancelled else info))
    return tuple(effects)


def dropped(message: Message, signal: Signal) -> tuple[Effect, ...]:
    """The effects of not running ``message`` (revoked, expired, cancelled by a hook).

    The shell emits ``signal``; a chord member (or a pipeline ending in one) counts as
    skipped, so its chord still completes.
    """
    chord = chord_of(message)
    if chord is None:
        return (Emit(signal),)
    return (Emit(signal), ReportToChord(chord, Drop(signal)))


# --- leased delivery -------------------------------------------------------------


def delivery_allowed(delivery: int, max_deliveries: int) -> bool:
    """Whether the ``delivery``-th delivery of a message (1 = the first) may happen.

    A message is handed out at most ``max_deliveries`` times; a lease that expires on
    the last allowed delivery sends the message to the dead-letter area instead of back
    to the queue.
    """
    return delivery <= max_deliveries


def too_many_deliveries_reason(deliveries: int, max_deliveries: int) -> str:
    """The dead-letter reason for a message whose leases kept expiring."""
    return (
        f"delivered {deliveries} time{'' if deliveries == 1 else 's'} without being acknowledged "
        f"(max_deliveries={max_deliveries}): the worker died or froze each time"
    )


# --- periodic tasks ----------------------------------------------------------------

MAX_CATCH_UP_MINUTES = 15
"""How many missed wall-clock minutes the scheduler replays after a stall or a jump."""

PERIODIC_MARKER_TTL = 6 * 3600.0
"""Seconds a periodic slot marker is kept: far longer than any consumer may look back."""


def minute_start(now: float) -> float:
    """The start (UTC epoch seconds, a multiple of 60) of the wall-clock minute of ``now``."""
    return float(int(now // 60) * 60)


def minutes_to_check(
    last_checked: float | None, now: float, *, max_catch_up: int = MAX_CATCH_UP_MINUTES
) -> tuple[float, ...]:
    """The wall-clock minutes whose periodic tasks are due to be checked at ``now``.

    Policy: every minute is checked once, aligned to the minute (its start is passed to
    ``validate_datetime``), whatever the scheduler's rhythm:

    * the first check (``last_checked`` is ``None``) covers the current minute only;
    * a minute is never checked twice: if the wall clock went back, nothing is checked
      until it passes ``last_checked`` again;
    * minutes missed during a stall, a slow iteration or a forward clock step are caught
      up in this one call, oldest first, up to ``max_catch_up`` of them; older missed
      minutes are skipped (a machine resumed after hours of sleep does not replay every
      minute it slept through).

    Args:
        last_checked: the start of the last minute checked, or ``None``.
        now: current wall-clock time (UTC epoch seconds).
        max_catch_up: most missed minutes replayed before the current one.

    Returns:
        Minute starts in increasing order; the last one, when any, becomes the new
        ``last_checked``.
    """
    if max_catch_up < 0:
        raise ValueError(f"max_catch_up must be >= 0, got {max_catch_up!r}")
    current = minute_start(now)
    if last_checked is None:
        return (current,)
    last = minute_start(last_checked)
    if current <= last:
        return ()
    missed = int((current - last) // 60) - 1
    first = current - 60 * min(missed, max_catch_up)
    count = int((current - first) // 60) + 1
    return tuple(first + 60 * index for index in range(count))


def skipped_minutes(last_checked: float | None, checked: tuple[float, ...]) -> int:
    """How many minutes between ``last_checked`` and the first of ``checked`` were skipped."""
    if last_checked is None or not checked:
        return 0
    return max(int((checked[0] - minute_start(last_checked)) // 60) - 1, 0)


def periodic_slot_key(queue: str, task_name: str, minute: float) -> str:
    """The storage key marking that ``task_name`` was enqueued for ``minute``.

    Every consumer of ``queue`` computes the same key for the same run, so the first one
    to store it (``put_if_empty``) enqueues the task and the others do not.
    """
    return f"{queue}.periodic.{task_name}.{int(minute_start(minute))}"
