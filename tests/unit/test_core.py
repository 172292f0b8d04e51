"""Unit tests for the pure core (``huey._core``, ``huey._messages``): no storage, no clock."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huey._core import (
    Defer,
    Drop,
    Emit,
    Enqueue,
    Failure,
    PostExecute,
    Run,
    StoreError,
    StoreResult,
    Success,
    append_stage,
    decide,
    error_text,
    extend_arguments,
    is_due,
    pipeline_stages,
    resolve_expiry,
    retry_message,
    revocation_applies,
    settle,
)
from huey._messages import ErrorInfo, Message, Revocation
from huey.exceptions import CancelExecution, RetryTask, TaskException, TaskLockedException
from huey.signals import (
    SIGNAL_CANCELED,
    SIGNAL_COMPLETE,
    SIGNAL_ERROR,
    SIGNAL_INTERRUPTED,
    SIGNAL_LOCKED,
    SIGNAL_RATE_LIMITED,
    SIGNAL_RETRYING,
    SIGNAL_TIMEOUT,
    Signal,
)

NOW = 1_000_000.0


def msg(task_id: str = "t1", **changes: object) -> Message:
    """A message with id ``task_id`` and the given field values."""
    base = Message(id=task_id, name="tests.task")
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]  # changes are field values of Message


def fields(message: Message | None) -> dict[str, object] | None:
    """Every field of ``message`` (recursively), since ``Message.__eq__`` compares ids only."""
    if message is None:
        return None
    result: dict[str, object] = {}
    for field in dataclasses.fields(message):
        value = getattr(message, field.name)
        if isinstance(value, Message):
            result[field.name] = fields(value)
        elif isinstance(value, Mapping):
            result[field.name] = dict(value)  # pyright: ignore[reportUnknownArgumentType]  # isinstance() leaves the item types unknown
        else:
            result[field.name] = value
    return result


# --- is_due / decide ---------------------------------------------------------------


def test_is_due_without_eta_or_with_past_eta() -> None:
    """A message without eta, or with an eta at or before now, is due."""
    assert is_due(msg(), NOW)
    assert is_due(msg(eta=NOW), NOW)
    assert is_due(msg(eta=NOW - 1), NOW)
    assert not is_due(msg(eta=NOW + 0.001), NOW)


def test_decide_runs_a_plain_due_message() -> None:
    """A due, unrevoked, unexpired message runs."""
    assert decide(msg(), NOW, revoked=False) == Run()


def test_decide_defers_a_future_message_before_anything_else() -> None:
    """Not being due wins over revocation and expiry: the message goes to the schedule."""
    future = msg(eta=NOW + 60, expires_at=NOW - 10)
    assert decide(future, NOW, revoked=True) == Defer(NOW + 60)


def test_decide_drops_revoked_before_expired() -> None:
    """A due message that is both revoked and expired is dropped as revoked."""
    assert decide(msg(expires_at=NOW - 1), NOW, revoked=True) == Drop("revoked")


def test_decide_drops_expired() -> None:
    """A due message past its expiry is dropped as expired; exactly at expiry it still runs."""
    assert decide(msg(expires_at=NOW - 1), NOW, revoked=False) == Drop("expired")
    assert decide(msg(expires_at=NOW), NOW, revoked=False) == Run()
    assert decide(msg(expires_at=NOW + 1), NOW, revoked=False) == Run()


# --- revocation_applies ------------------------------------------------------------


def test_revocation_absent() -> None:
    """No flag: not revoked, nothing to delete."""
    assert revocation_applies(None, NOW) == (False, False)


def test_revocation_forever() -> None:
    """A flag without ``until`` or ``once`` revokes and is kept."""
    assert revocation_applies(Revocation(), NOW) == (True, False)


def test_revocation_once() -> None:
    """A ``once`` flag revokes this run and must be deleted."""
    assert revocation_applies(Revocation(once=True), NOW) == (True, True)


def test_revocation_until_in_the_future() -> None:
    """An ``until`` flag revokes while its time has not come, and is kept."""
    assert revocation_applies(Revocation(until=NOW + 1), NOW) == (True, False)


def test_revocation_until_lapsed() -> None:
    """An ``until`` flag at or before now no longer revokes and must be deleted."""
    assert revocation_applies(Revocation(until=NOW), NOW) == (False, True)
    assert revocation_applies(Revocation(until=NOW - 5), NOW) == (False, True)
    assert revocation_applies(Revocation(until=NOW - 5, once=True), NOW) == (False, True)


def test_revocation_once_until_in_the_future() -> None:
    """``once`` with a future ``until`` revokes this run and is consumed."""
    assert revocation_applies(Revocation(until=NOW + 5, once=True), NOW) == (True, True)


# --- resolve_expiry ----------------------------------------------------------------


def test_resolve_expiry_without_expires_is_identity() -> None:
    """Without a relative expiry the message is returned unchanged."""
    message = msg(expires_at=NOW + 3)
    assert resolve_expiry(message, NOW) is message


def test_resolve_expiry_counts_from_now() -> None:
    """A due message expires ``expires`` seconds after now."""
    assert resolve_expiry(msg(expires=30.0), NOW).expires_at == NOW + 30


def test_resolve_expiry_counts_from_a_future_eta() -> None:
    """A scheduled message expires ``expires`` seconds after its eta."""
    assert resolve_expiry(msg(expires=30.0, eta=NOW + 100), NOW).expires_at == NOW + 130


def test_resolve_expiry_ignores_a_past_eta() -> None:
    """A late message expires ``expires`` seconds after now, not after its old eta."""
    assert resolve_expiry(msg(expires=30.0, eta=NOW - 100), NOW).expires_at == NOW + 30


# --- pipelines ---------------------------------------------------------------------


def test_append_stage_and_pipeline_stages() -> None:
    """Stages append at the tail, the head is copied and the original is untouched."""
    head = msg("a")
    pipeline = append_stage(append_stage(head, msg("b")), msg("c"))
    assert [stage.id for stage in pipeline_stages(pipeline)] == ["a", "b", "c"]
    assert head.on_complete is None
    assert pipeline_stages(head) == (head,)


# --- extend_arguments --------------------------------------------------------------


def test_extend_arguments_none_adds_nothing() -> None:
    """``None`` from the parent leaves the stage as it is."""
    stage = msg(args=(1,))
    assert extend_arguments(stage, None) is stage


def test_extend_arguments_tuple_spreads() -> None:
    """A tuple is spread after the bound positional arguments."""
    assert extend_arguments(msg(args=(1,)), (2, 3)).args == (1, 2, 3)


def test_extend_arguments_empty_tuple_adds_nothing() -> None:
    """An empty tuple adds no argument."""
    assert extend_arguments(msg(args=(1,)), ()).args == (1,)


def test_extend_arguments_dict_fills_unbound_keywords() -> None:
    """A dict adds keyword arguments but never overrides ones bound in ``then()``."""
    stage = extend_arguments(msg(kwargs={"a": 1}), {"a": 9, "b": 2})
    assert dict(stage.kwargs) == {"a": 1, "b": 2}
    assert stage.args == ()


def test_extend_arguments_other_values_append() -> None:
    """Any other value (including a list or 0) is appended as one positional argument."""
    assert extend_arguments(msg(args=(1,)), [2, 3]).args == (1, [2, 3])
    assert extend_arguments(msg(), 0).args == (0,)
    assert extend_arguments(msg(), "x").args == ("x",)


_values = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans())
_args = st.lists(_values, max_size=4).map(tuple)
_kwargs = st.dictionaries(st.text(min_size=1, max_size=4), _values, max_size=4)


@given(args=_args, kwargs=_kwargs, value=_args)
def test_extend_arguments_tuple_invariant(
    args: tuple[object, ...], kwargs: dict[str, object], value: tuple[object, ...]
) -> None:
    """For any tuple, args become ``args + value`` and kwargs do not change."""
    stage = extend_arguments(msg(args=args, kwargs=kwargs), value)
    assert stage.args == args + value
    assert dict(stage.kwargs) == kwargs


@given(args=_args, kwargs=_kwargs, value=_kwargs)
def test_extend_arguments_dict_invariant(
    args: tuple[object, ...], kwargs: dict[str, object], value: dict[str, object]
) -> None:
    """For any dict, bound keywords win, new keys are added, args do not change."""
    stage = extend_arguments(msg(args=args, kwargs=kwargs), value)
    assert stage.args == args
    assert dict(stage.kwargs) == {**value, **kwargs}


@given(args=_args, value=st.one_of(st.integers(), st.text(), st.lists(st.integers())))
def test_extend_arguments_scalar_invariant(args: tuple[object, ...], value: object) -> None:
    """Any non-None, non-tuple, non-dict value becomes exactly one more positional argument."""
    stage = extend_arguments(msg(args=args), value)
    assert stage.args == (*args, value)


# --- retry_message -----------------------------------------------------------------


def test_retry_message_consumes_a_retry_and_delays() -> None:
    """An ordinary retry uses up one retry, runs after the delay and grows the delay."""
    retry = retry_message(
        msg(retries=3, retry_delay=10.0, retry_backoff=2.0, expires=1.0, expires_at=NOW + 1), NOW
    )
    assert (retry.retries, retry.eta, retry.retry_delay) == (2, NOW + 10, 20.0)
    assert retry.expires_at is None
    assert retry.id == "t1"


def test_retry_message_keeps_an_absolute_expiry() -> None:
    """An absolute expiry (no relative ``expires``) survives the retry."""
    retry = retry_message(msg(retries=1, expires_at=NOW + 5), NOW)
    assert retry.expires_at == NOW + 5
    relative = retry_message(msg(retries=1, expires=5.0, expires_at=NOW + 5), NOW)
    assert (relative.expires, relative.expires_at) == (5.0, None)


def test_retry_message_without_delay_is_immediate() -> None:
    """Without a retry delay the retry has no eta (it is enqueued at once)."""
    assert retry_message(msg(retries=1), NOW).eta is None


def test_retry_message_forced_keeps_retries_and_uses_eta() -> None:
    """A forced retry (RetryTask) keeps its retries and runs at the given eta."""
    retry = retry_message(msg(retries=0, retry_delay=5.0), NOW, eta=NOW + 99, forced=True)
    assert (retry.retries, retry.eta) == (0, NOW + 99)


@given(
    retries=st.integers(min_value=0, max_value=12),
    delay=st.floats(min_value=0.0, max_value=1000.0),
    backoff=st.floats(min_value=1.0, max_value=3.0),
    k=st.integers(min_value=0, max_value=12),
)
def test_backoff_after_k_retries(retries: int, delay: float, backoff: float, k: int) -> None:
    """After k retries the delay is ``retry_delay * backoff**k``; retries never go negative."""
    message = msg(retries=retries, retry_delay=delay, retry_backoff=backoff)
    for attempt in range(k):
        previous_delay = message.retry_delay
        message = retry_message(message, NOW + attempt)
        assert message.retries >= 0
        if previous_delay > 0:
            assert message.eta == NOW + attempt + previous_delay
        else:
            assert message.eta is None
    assert math.isclose(message.retry_delay, delay * backoff**k, rel_tol=1e-9, abs_tol=1e-12)
    assert message.retries == max(retries - k, 0)


# --- settle: success ---------------------------------------------------------------


def test_settle_success_stores_and_completes() -> None:
    """A value is stored, post-execute hooks run, then ``complete`` is emitted."""
    effects = settle(msg(), Success(5), NOW, store_results=True, store_none=False)
    assert effects == (StoreResult("t1", 5), PostExecute(5, None), Emit(SIGNAL_COMPLETE))


def test_settle_success_none_is_not_stored_by_default() -> None:
    """``None`` is not stored unless ``store_none``."""
    effects = settle(msg(), Success(None), NOW, store_results=True, store_none=False)
    assert effects == (PostExecute(None, None), Emit(SIGNAL_COMPLETE))
    effects = settle(msg(), Success(None), NOW, store_results=True, store_none=True)
    assert effects[0] == StoreResult("t1", None)


def test_settle_success_without_results() -> None:
    """With results off nothing is stored, even with ``store_none``."""
    effects = settle(msg(), Success(5), NOW, store_results=False, store_none=True)
    assert effects == (PostExecute(5, None), Emit(SIGNAL_COMPLETE))


def test_settle_success_enqueues_next_stage_with_value() -> None:
    """The next pipeline stage is enqueued last, with the value appended."""
    message = append_stage(msg("a"), msg("b", args=(1,)))
    effects = settle(message, Success(2), NOW, store_results=True, store_none=False)
    last = effects[-1]
    assert isinstance(last, Enqueue)
    assert last.message.id == "b"
    assert last.message.args == (1, 2)


def test_settle_success_next_stage_with_none_and_dict() -> None:
    """``None`` leaves the next stage's arguments alone; a dict fills its kwargs."""
    message = append_stage(msg("a"), msg("b", args=(1,)))
    last = settle(message, Success(None), NOW, store_results=True, store_none=False)[-1]
    assert isinstance(last, Enqueue)
    assert last.message.args == (1,)
    last = settle(message, Success({"k": 3}), NOW, store_results=True, store_none=False)[-1]
    assert isinstance(last, Enqueue)
    assert dict(last.message.kwargs) == {"k": 3}


# --- settle: failures --------------------------------------------------------------


def _info(message: Message, error: str, traceback: str = "", *, final: bool = True) -> ErrorInfo:
    return ErrorInfo(
        error=error,
        traceback=traceback,
        task_id=message.id,
        retries=message.retries,
        final=final,
    )


def test_settle_failure_with_retries_left() -> None:
    """An error with retries left is stored and a delayed retry with backoff is enqueued."""
    exc = ValueError("boom")
    message = msg(retries=2, retry_delay=4.0, retry_backoff=1.5)
    failure = Failure(exception=exc, traceback="tb")
    effects = settle(message, failure, NOW, store_results=True, store_none=False)
    assert effects[:3] == (
        Emit(SIGNAL_ERROR, exc),
        # Not final: a reader waits for the retry's outcome, which replaces it.
        StoreError("t1", _info(message, "ValueError('boom')", "tb", final=False)),
        PostExecute(None, exc),
    )
    assert effects[3] == Emit(SIGNAL_RETRYING, exc)
    retry = effects[4]
    assert isinstance(retry, Enqueue)
    assert fields(retry.message) == fields(retry_message(message, NOW))
    assert (retry.message.retries, retry.message.eta, retry.message.retry_delay) == (
        1,
        NOW + 4.0,
        6.0,
    )
    assert len(effects) == 5


def test_settle_failure_with_retries_left_does_not_run_on_error() -> None:
    """The error handler only runs on the final failure."""
    message = msg(retries=1, on_error=msg("handler"))
    effects = settle(
        message, Failure(exception=ValueError()), NOW, store_results=True, store_none=False
    )
    enqueued = [effect.message.id for effect in effects if isinstance(effect, Enqueue)]
    assert enqueued == ["t1"]


def test_settle_final_failure_reaches_every_stage_and_handler() -> None:
    """A final error is stored for the task and each later stage; the handler gets the exception."""
    exc = KeyError("k")
    pipeline = append_stage(append_stage(msg("a"), msg("b")), msg("c"))
    message = dataclasses.replace(pipeline, on_error=msg("h", args=("tag",)))
    effects = settle(message, Failure(exception=exc), NOW, store_results=True, store_none=False)
    info = _info(message, "KeyError('k')")
    assert effects[:5] == (
        Emit(SIGNAL_ERROR, exc),
        StoreError("a", info),
        StoreError("b", info),
        StoreError("c", info),
        PostExecute(None, exc),
    )
    handler = effects[5]
    assert isinstance(handler, Enqueue)
    assert handler.message.id == "h"
    assert handler.message.args == ("tag", exc)
    assert len(effects) == 6


def test_settle_final_failure_without_results_stores_nothing() -> None:
    """With results off a failure stores nothing but still runs hooks and the handler."""
    exc = ValueError()
    message = msg(on_error=msg("h"))
    effects = settle(message, Failure(exception=exc), NOW, store_results=False, store_none=False)
    assert not any(isinstance(effect, StoreError) for effect in effects)
    assert PostExecute(None, exc) in effects
    assert isinstance(effects[-1], Enqueue)


def test_settle_timeout_is_stored_and_retried() -> None:
    """A timeout is reported like an error: stored, then retried when retries are left."""
    message = msg(retries=1)
    exc = TimeoutError()
    effects = settle(
        message,
        Failure(exception=exc, signal=SIGNAL_TIMEOUT),
        NOW,
        store_results=True,
        store_none=False,
    )
    assert effects[0] == Emit(SIGNAL_TIMEOUT, exc)
    assert isinstance(effects[1], StoreError)
    assert Emit(SIGNAL_RETRYING, exc) in effects


def test_settle_forced_retry_keeps_retries_and_stores_no_error() -> None:
    """A RetryTask retry consumes no retry, stores no error and emits no error signal."""
    exc = RetryTask()
    failure = Failure(exception=exc, signal=None, retry=True, retry_eta=NOW + 30, store=False)
    message = msg(retries=0, on_error=msg("h"))
    effects = settle(message, failure, NOW, store_results=True, store_none=False)
    assert effects[:2] == (PostExecute(None, exc), Emit(SIGNAL_RETRYING, exc))
    retry = effects[2]
    assert isinstance(retry, Enqueue)
    assert (retry.message.retries, retry.message.eta) == (0, NOW + 30)
    assert len(effects) == 3


def test_settle_locked_with_retries_is_retried_without_storing() -> None:
    """A locked task with retries left is retried; the lock is not stored as an error."""
    exc = TaskLockedException("held")
    message = msg(retries=1)
    effects = settle(
        message,
        Failure(exception=exc, signal=SIGNAL_LOCKED),
        NOW,
        store_results=True,
        store_none=False,
    )
    assert effects[0] == Emit(SIGNAL_LOCKED, exc)
    assert not any(isinstance(effect, StoreError) for effect in effects)
    assert isinstance(effects[-1], Enqueue)
    assert effects[-1].message.retries == 0


def test_settle_locked_without_retries_is_a_final_failure() -> None:
    """A locked task without retries is stored as failed and not retried."""
    exc = TaskLockedException("held")
    effects = settle(
        msg(),
        Failure(exception=exc, signal=SIGNAL_LOCKED),
        NOW,
        store_results=True,
        store_none=False,
    )
    assert effects[0] == Emit(SIGNAL_LOCKED, exc)
    assert isinstance(effects[1], StoreError)
    assert not any(isinstance(effect, Enqueue) for effect in effects)


@pytest.mark.parametrize("intermediate", [True, False])
@pytest.mark.parametrize(
    ("retries", "retry", "expected_retries"),
    [
        (0, None, None),  # no retries left: not retried
        (2, None, 1),  # retries left: retried, one consumed
        (2, False, None),  # retry forbidden
        (0, True, 0),  # forced: retried without consuming
        (2, True, 2),
    ],
)
def test_settle_cancelled(
    retries: int, retry: bool | None, expected_retries: int | None, intermediate: bool
) -> None:
    """A cancellation is retried as ``retry`` and the retries allow; it is stored like an
    error (a pending retry's only with ``store_intermediate_errors``), as huey 3.5 does."""
    exc = CancelExecution(retry=retry)
    failure = Failure(exception=exc, signal=SIGNAL_CANCELED, retry=retry)
    effects = settle(
        msg(retries=retries),
        failure,
        NOW,
        store_results=True,
        store_none=False,
        store_intermediate_errors=intermediate,
    )
    assert effects[0] == Emit(SIGNAL_CANCELED, exc)
    stored = [effect.info for effect in effects if isinstance(effect, StoreError)]
    enqueued = [effect.message for effect in effects if isinstance(effect, Enqueue)]
    if expected_retries is None:
        assert enqueued == []
        assert Emit(SIGNAL_RETRYING, exc) not in effects
        assert [info.final for info in stored] == [True]
    else:
        assert [message.retries for message in enqueued] == [expected_retries]
        assert Emit(SIGNAL_RETRYING, exc) in effects
        assert [info.final for info in stored] == ([False] if intermediate else [])


@pytest.mark.parametrize(
    ("signal", "retry", "stored"),
    [
        (SIGNAL_ERROR, None, True),
        (SIGNAL_TIMEOUT, None, True),
        (SIGNAL_CANCELED, None, True),
        (SIGNAL_LOCKED, None, False),  # TaskLockedException: never while a retry is pending
        (None, True, False),  # RetryTask: never
        (SIGNAL_RATE_LIMITED, None, False),  # RateLimitExceeded: never
    ],
)
def test_settle_intermediate_errors_option(
    signal: Signal | None, retry: bool | None, stored: bool
) -> None:
    """``store_intermediate_errors`` (default on) stores the error of an attempt that will
    be retried, except for the kinds huey 3.5 never stores then; off, nothing is stored."""
    failure = Failure(exception=ValueError("x"), signal=signal, retry=retry)
    message = msg(retries=2, on_error=msg("handler"))
    default = settle(message, failure, NOW, store_results=True, store_none=False)
    on = settle(
        message, failure, NOW, store_results=True, store_none=False, store_intermediate_errors=True
    )
    off = settle(
        message, failure, NOW, store_results=True, store_none=False, store_intermediate_errors=False
    )
    assert default == on
    assert [effect.info.final for effect in on if isinstance(effect, StoreError)] == (
        [False] if stored else []
    )
    assert not any(isinstance(effect, StoreError) for effect in off)
    for effects in (on, off):
        assert Emit(SIGNAL_RETRYING, failure.exception) in effects
        # The error handler waits for the final failure, whatever the option.
        assert [e.message.id for e in effects if isinstance(e, Enqueue)] == ["t1"]


@pytest.mark.parametrize("signal", [SIGNAL_ERROR, SIGNAL_LOCKED, None])
def test_settle_final_error_is_stored_without_intermediate_errors(signal: Signal | None) -> None:
    """``store_intermediate_errors=False`` still stores the final error, for every stage."""
    exc = ValueError("x")
    message = append_stage(msg("a"), msg("b"))
    effects = settle(
        message,
        Failure(exception=exc, signal=signal, retry=False),
        NOW,
        store_results=True,
        store_none=False,
        store_intermediate_errors=False,
    )
    stored = [
        (effect.task_id, effect.info.final) for effect in effects if isinstance(effect, StoreError)
    ]
    assert stored == [("a", True), ("b", True)]


def test_error_text_of_a_reraised_task_exception_is_the_inner_error() -> None:
    """A sub-task's TaskException re-raised by a task stores the sub-task's error text."""
    inner = TaskException({"error": "ValueError('inner')", "task_id": "sub", "retries": 0})
    assert error_text(inner) == "ValueError('inner')"
    assert error_text(ValueError("x")) == "ValueError('x')"
    # Without an inner error text, the TaskException's own repr.
    assert error_text(TaskException({})) == repr(TaskException({}))
    effects = settle(msg(), Failure(exception=inner), NOW, store_results=True, store_none=False)
    [info] = [effect.info for effect in effects if isinstance(effect, StoreError)]
    assert info.error == "ValueError('inner')"
    assert info.task_id == "t1"


def test_settle_interrupted_only_emits() -> None:
    """An interrupted task stores nothing, runs no hook, and is not retried here."""
    exc = KeyboardInterrupt()
    message = msg(retries=3, on_error=msg("h"), on_complete=msg("next"))
    failure = Failure(exception=exc, signal=SIGNAL_INTERRUPTED, store=False)
    assert settle(message, failure, NOW, store_results=True, store_none=False) == (
        Emit(SIGNAL_INTERRUPTED, exc),
    )


def test_settle_cancel_from_hook_without_exception_runs_no_handler() -> None:
    """A failure without an exception object does not enqueue the error handler."""
    failure = Failure(exception=None, signal=SIGNAL_CANCELED, store=False)
    effects = settle(msg(on_error=msg("h")), failure, NOW, store_results=True, store_none=False)
    assert not any(isinstance(effect, Enqueue) for effect in effects)


_signals = st.sampled_from(
    [SIGNAL_ERROR, SIGNAL_TIMEOUT, SIGNAL_LOCKED, SIGNAL_CANCELED, SIGNAL_INTERRUPTED, None]
)


@given(
    retries=st.integers(min_value=0, max_value=3),
    stages=st.integers(min_value=1, max_value=4),
    has_handler=st.booleans(),
    signal=_signals,
    retry=st.sampled_from([None, True, False]),
    store=st.booleans(),
    store_results=st.booleans(),
    intermediate=st.booleans(),
)
def test_settle_failure_invariants(
    retries: int,
    stages: int,
    has_handler: bool,
    signal: Signal | None,
    retry: bool | None,
    store: bool,
    store_results: bool,
    intermediate: bool,
) -> None:
    """Whatever the failure: one retry or one handler at most, never both; sane stores."""
    pipeline = msg("s0", retries=retries)
    for index in range(1, stages):
        pipeline = append_stage(pipeline, msg(f"s{index}"))
    if has_handler:
        pipeline = dataclasses.replace(pipeline, on_error=msg("handler"))
    exc = ValueError("x")
    failure = Failure(exception=exc, signal=signal, retry=retry, store=store)
    effects = settle(
        pipeline,
        failure,
        NOW,
        store_results=store_results,
        store_none=False,
        store_intermediate_errors=intermediate,
    )
    enqueued = [effect.message for effect in effects if isinstance(effect, Enqueue)]
    stored = [effect.task_id for effect in effects if isinstance(effect, StoreError)]
    retried = [message for message in enqueued if message.id == "s0"]
    handlers = [message for message in enqueued if message.id == "handler"]
    assert len(enqueued) <= 1
    assert not (retried and handlers)
    assert (Emit(SIGNAL_RETRYING, exc) in effects) == bool(retried)
    assert all(message.retries >= 0 for message in retried)
    assert not any(isinstance(effect, StoreResult) for effect in effects)
    if not store_results or not store:
        assert stored == []
    assert set(stored) <= {f"s{index}" for index in range(stages)}
    if stored[1:]:
        assert not retried  # later stages only get the error on a final failure
    if retried and not intermediate:
        assert stored == []  # only the final error is stored
    if signal == SIGNAL_INTERRUPTED:
        assert effects == (Emit(SIGNAL_INTERRUPTED, exc),)
    elif retry is True:
        assert [message.retries for message in retried] == [retries]
    elif retry is None and retries > 0:
        assert [message.retries for message in retried] == [retries - 1]
    else:
        assert retried == []
        assert [message.args for message in handlers] == ([(exc,)] if has_handler else [])
