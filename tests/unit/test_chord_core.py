"""The pure core of chords: when a member reports, and the ``chord`` field on the wire."""

from __future__ import annotations

import dataclasses

import pytest

from huey._core import (
    Drop,
    Emit,
    Enqueue,
    Failure,
    ReportToChord,
    Success,
    append_stage,
    attach_chord,
    chord_of,
    dropped,
    pipeline_stages,
    retry_message,
    settle,
)
from huey._messages import ChordRef, ErrorInfo, Message, message_from_wire, message_to_wire
from huey.exceptions import CancelExecution, MessageDecodeError
from huey.signals import (
    SIGNAL_CANCELED,
    SIGNAL_ERROR,
    SIGNAL_EXPIRED,
    SIGNAL_INTERRUPTED,
    SIGNAL_REVOKED,
)

NOW = 1_000_000.0


def msg(task_id: str, **changes: object) -> Message:
    """A message with id ``task_id`` and the given field values."""
    return dataclasses.replace(Message(id=task_id, name="tests.task"), **changes)  # type: ignore[arg-type]  # changes are field values of Message


CALLBACK = msg("cb", args=("label",))
REF = ChordRef(id="c1", index=1, size=3, callback=CALLBACK)


def reports(effects: tuple[object, ...]) -> list[ReportToChord]:
    """The chord reports among ``effects``."""
    return [effect for effect in effects if isinstance(effect, ReportToChord)]


def test_attach_chord_marks_the_last_stage() -> None:
    """A pipeline member reports from its last stage; the other stages carry nothing."""
    pipeline = append_stage(append_stage(msg("a"), msg("b")), msg("c"))
    member = attach_chord(pipeline, REF)
    assert [stage.chord for stage in pipeline_stages(member)] == [None, None, REF]
    assert chord_of(member) == REF
    assert chord_of(pipeline) is None
    assert chord_of(pipeline) is None  # the original is unchanged


def test_attach_chord_twice_is_refused() -> None:
    """A message already reporting to a chord cannot join another one."""
    with pytest.raises(ValueError, match="already a member of a chord"):
        attach_chord(attach_chord(msg("a"), REF), REF)


def test_success_of_the_last_stage_reports_its_value_last() -> None:
    """The report comes after the result, the hooks and the signal."""
    effects = settle(
        attach_chord(msg("a"), REF), Success(5), NOW, store_results=True, store_none=False
    )
    assert effects[-1] == ReportToChord(REF, Success(5))
    assert reports(effects) == [ReportToChord(REF, Success(5))]


def test_success_of_an_earlier_stage_does_not_report() -> None:
    """Only the stage carrying the chord reports; an earlier one enqueues the next."""
    member = attach_chord(append_stage(msg("a"), msg("b")), REF)
    effects = settle(member, Success(5), NOW, store_results=True, store_none=False)
    assert reports(effects) == []
    assert isinstance(effects[-1], Enqueue)


def test_success_without_a_chord_does_not_report() -> None:
    """A plain task reports nothing, results stored or not."""
    for store in (True, False):
        assert (
            reports(settle(msg("a"), Success(5), NOW, store_results=store, store_none=False)) == []
        )


def test_final_failure_reports_the_error_even_without_results() -> None:
    """The final error reaches the chord whether or not results are stored."""
    member = attach_chord(msg("a"), REF)
    failure = Failure(exception=ValueError("x"), traceback="tb")
    for store in (True, False):
        [report] = reports(settle(member, failure, NOW, store_results=store, store_none=False))
        assert report.chord == REF
        assert report.outcome == ErrorInfo(
            error="ValueError('x')", traceback="tb", task_id="a", retries=0, final=True
        )


def test_final_failure_of_an_earlier_stage_reports_for_the_pipeline() -> None:
    """A pipeline whose first stage fails for good reports that error to its chord."""
    member = attach_chord(append_stage(msg("a"), msg("b")), REF)
    failure = Failure(exception=ValueError("x"))
    [report] = reports(settle(member, failure, NOW, store_results=True, store_none=False))
    assert isinstance(report.outcome, ErrorInfo)
    assert report.outcome.task_id == "a"


def test_failure_with_a_retry_left_does_not_report() -> None:
    """Only the last attempt counts: a failure that will be retried reports nothing."""
    member = attach_chord(msg("a", retries=1), REF)
    effects = settle(
        member, Failure(exception=ValueError("x")), NOW, store_results=True, store_none=False
    )
    assert reports(effects) == []
    [retry] = [effect for effect in effects if isinstance(effect, Enqueue)]
    assert retry.message.chord == REF  # the retry still reports
    assert retry_message(member, NOW).chord == REF


def test_interruption_does_not_report() -> None:
    """An interrupted member goes back to the queue: nothing is known yet."""
    member = attach_chord(msg("a"), REF)
    failure = Failure(exception=KeyboardInterrupt(), signal=SIGNAL_INTERRUPTED, store=False)
    assert reports(settle(member, failure, NOW, store_results=True, store_none=False)) == []


def test_cancellation_in_the_task_counts_as_skipped() -> None:
    """``CancelExecution`` raised by the task, without a retry, skips the member."""
    member = attach_chord(msg("a"), REF)
    failure = Failure(exception=CancelExecution(), signal=SIGNAL_CANCELED, retry=False)
    [report] = reports(settle(member, failure, NOW, store_results=True, store_none=False))
    assert report.outcome == Drop(SIGNAL_CANCELED)


@pytest.mark.parametrize("signal", [SIGNAL_REVOKED, SIGNAL_EXPIRED, SIGNAL_CANCELED])
def test_a_dropped_member_is_skipped(signal: str) -> None:
    """Revoked, expired or cancelled by a hook: the signal, then a skip for the chord."""
    member = attach_chord(append_stage(msg("a"), msg("b")), REF)
    assert dropped(member, signal) == (Emit(signal), ReportToChord(REF, Drop(signal)))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    assert dropped(msg("a"), signal) == (Emit(signal),)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_the_error_signal_is_still_emitted_before_the_report() -> None:
    """Reporting does not change what else a failure does."""
    member = attach_chord(msg("a"), REF)
    effects = settle(
        member, Failure(exception=ValueError("x")), NOW, store_results=True, store_none=False
    )
    first = effects[0]
    assert isinstance(first, Emit)
    assert first.signal == SIGNAL_ERROR
    assert isinstance(effects[-1], ReportToChord)


# --- the wire form -------------------------------------------------------------------


def test_chord_field_round_trips_with_a_nested_callback() -> None:
    """Id, index, size and the callback (itself reporting to an outer chord) survive."""
    outer = ChordRef(id="outer", index=0, size=2, callback=msg("final"))
    callback = attach_chord(append_stage(msg("cb", kwargs={"label": "x"}), msg("after")), outer)
    member = attach_chord(
        msg("a", args=(1, 2)), ChordRef(id="c", index=2, size=3, callback=callback)
    )
    decoded = message_from_wire(message_to_wire(member), Message)
    assert decoded.chord is not None
    assert (decoded.chord.id, decoded.chord.index, decoded.chord.size) == ("c", 2, 3)
    assert decoded.chord.callback.kwargs == {"label": "x"}
    assert chord_of(decoded.chord.callback) == ChordRef(
        id="outer", index=0, size=2, callback=msg("final")
    )
    assert [stage.id for stage in pipeline_stages(decoded.chord.callback)] == ["cb", "after"]


def test_messages_without_a_chord_keep_their_wire_form() -> None:
    """No ``chord`` key is written for a plain message, and old messages still read."""
    wire = message_to_wire(msg("a"))
    assert "chord" not in wire
    assert message_from_wire({"v": 1, "id": "a", "name": "n"}, Message).chord is None


@pytest.mark.parametrize(
    ("chord", "match"),
    [
        ("c1", "'chord' must be a dict"),
        ({"id": "c", "index": 0, "size": 1}, "lacks its 'callback'"),
        ({"id": "c", "index": "0", "size": 1, "callback": {}}, "valid 'id', 'index' or 'size'"),
        ({"id": 1, "index": 0, "size": 1, "callback": {}}, "valid 'id', 'index' or 'size'"),
        ({"id": "c", "index": True, "size": 2, "callback": {}}, "valid 'id', 'index' or 'size'"),
        ({"id": "c", "index": 3, "size": 3, "callback": {}}, "outside a chord of 3"),
        ({"id": "c", "index": 0, "size": 1, "callback": {"v": 1}}, "lacks its 'id' or 'name'"),
    ],
)
def test_a_malformed_chord_field_is_a_decode_error(chord: object, match: str) -> None:
    """Whatever is wrong with the field, it is the one documented error."""
    with pytest.raises(MessageDecodeError, match=match):
        message_from_wire({"v": 1, "id": "a", "name": "n", "chord": chord}, Message)
