"""Chord bookkeeping: members report their outcome, the last one enqueues the callback.

Each member of a chord carries a :class:`~huey._messages.ChordRef` on its last stage.
When the core says so (:class:`~huey._core.ReportToChord`), the runner hands the
member's outcome to :meth:`Chords.report`, which works with the key/value store only
(``put_if_empty``, ``peek_data``, ``pop_data``), plus a counter and an expiring key
where the storage has them. The keys, for a chord with id ``cid``:

``chord:<cid>:<index>``
    the outcome of member ``index``, written with ``put_if_empty``: a member delivered
    twice (its worker died before acknowledging) reports again without changing
    anything, so the members are counted by *which* reported, never by how often.
``chord:<cid>`` (a counter, where the storage has counters)
    bumped after each report. It only saves work: while it is below the chord's size
    some member has certainly not reported, so nobody reads the ``size`` keys. A
    member counted twice merely makes the check happen earlier.
``chord:<cid>:fired``
    the claim on the callback, taken with ``put_if_empty`` by the member that found
    every outcome stored; it names that member. Two members finishing together cannot
    both enqueue the callback, and a claim taken after another member marked the chord
    ``done`` (its outcomes were read just before that member removed them) is dropped.
``chord:<cid>:done``
    written once the callback is enqueued, before the other keys are removed; it
    expires after :data:`~huey._core.CHORD_DONE_TTL` where keys can expire. A member
    delivered again after that finds it and does nothing.

Crashes. A worker may die between any two of these steps. Its message is delivered
again (leased delivery) and the member reports again: the outcome is already stored,
and if the chord is complete the callback is fired then. If it died after claiming the
callback but before the ``done`` marker was written, the claim names it, so its
redelivery fires the callback (again, if the first enqueue had happened): the callback
is never stranded, and is enqueued twice only if the worker died in the instant between
enqueueing it and writing the marker, the same at-least-once window every task has.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Any, cast

from .. import _core
from .._core import Drop, MemberOutcome, Success
from .._messages import ChordRef, ErrorInfo
from .._task import Task
from ..constants import EmptyData, EmptyDataType
from ..exceptions import MessageTooLarge, TaskSerializationError
from ..protocols import SupportsCounters, SupportsExpiringKeys
from ..utils import SKIPPED, Error
from ._codec import Codec
from ._ports import Ports
from ._results import WriteThrough

__all__ = ("Chords", "member_key")

logger = logging.getLogger("huey")

_OK = "ok"
_ERROR = "error"
_SKIPPED = "skipped"


def member_key(chord_id: str, index: int) -> str:
    """Key of the stored outcome of member ``index`` of chord ``chord_id``."""
    return f"chord:{chord_id}:{index}"


class Chords:
    """Records chord members' outcomes and fires each chord's callback once.

    Args:
        ports: the storage in use.
        codec: encodes the stored outcomes.
        enqueue: enqueues the callback (or runs it, in immediate mode).
        store_results: whether results are stored (a callback that cannot be enqueued
            then gets the error as its result).
    """

    __slots__ = ("codec", "enqueue", "ports", "store_results")

    def __init__(
        self,
        ports: Ports,
        codec: Codec,
        enqueue: Callable[[Task[Any]], None],
        *,
        store_results: bool = True,
    ) -> None:
        self.ports: Ports = ports
        self.codec: Codec = codec
        self.enqueue: Callable[[Task[Any]], None] = enqueue
        self.store_results: bool = store_results

    def report(self, chord: ChordRef, outcome: MemberOutcome, task_id: str = "") -> None:
        """Record member ``chord.index``'s ``outcome``; enqueue the callback if it was the last.

        Safe to call again for the same member (a redelivered message): the first
        outcome stays, and the callback is enqueued once.

        Args:
            chord: the member's chord reference.
            outcome: what the member came to.
            task_id: the id of the task that reported (named in an error, should its
                value not serialize).
        """
        storage = self.ports.storage
        done = f"chord:{chord.id}:done"
        if storage.has_data_for_key(done):
            # A late redelivery: the callback has been enqueued. Finish the clean-up in
            # case the worker that enqueued it died halfway.
            self._clean_up(chord)
            return
        claim = storage.peek_data(f"chord:{chord.id}:fired")
        if claim is not EmptyData:
            if self._claimed_by(claim) == chord.index:
                # This member claimed the callback and died before marking it enqueued.
                self._fire(chord, self._stored(chord))
            return
        key = member_key(chord.id, chord.index)
        first_report = storage.put_if_empty(key, self._encode(outcome, task_id))
        if first_report and storage.has_data_for_key(done):
            # The chord completed between the check above and this write (this is a
            # redelivery racing the member that fired): leave nothing behind.
            storage.pop_data(key)
            return
        counter = f"chord:{chord.id}"
        counters = storage if isinstance(storage, SupportsCounters) else None
        count = chord.size if counters is None else counters.incr(counter, 1)
        if not first_report and counters is not None and storage.has_data_for_key(done):
            # A redelivery racing the member that fired, which may have removed the
            # counter already: remove the one this increment made.
            counters.delete_counter(counter)
            return
        if count < chord.size:
            return
        stored = self._stored(chord)
        if any(raw is EmptyData for raw in stored):
            return
        claim_key = f"chord:{chord.id}:fired"
        if not storage.put_if_empty(claim_key, self.codec.encode(chord.index)):
            return
        if storage.has_data_for_key(done):
            # Another member fired while these outcomes were read, and removed its claim
            # after writing "done": this claim came too late.
            storage.pop_data(claim_key)
            return
        self._fire(chord, stored)

    def _stored(self, chord: ChordRef) -> list[bytes | EmptyDataType]:
        storage = self.ports.storage
        return [storage.peek_data(member_key(chord.id, index)) for index in range(chord.size)]

    def _claimed_by(self, claim: bytes) -> int | None:
        try:
            index = self.codec.decode(claim)
        except Exception:
            return None
        return index if type(index) is int else None

    def _fire(self, chord: ChordRef, stored: Sequence[bytes | EmptyDataType]) -> None:
        """Enqueue the callback with the outcomes in member order, then clean up."""
        if any(raw is EmptyData for raw in stored):
            # The outcomes are removed only after "done" is written: this chord finished
            # long ago (its marker expired). Nothing is left to fire.
            self._clean_up(chord)
            return
        values = [self._decode(raw) for raw in stored if raw is not EmptyData]
        callback = _core.extend_arguments(cast("Task[Any]", chord.callback), values)
        try:
            self.enqueue(callback)
        except (TaskSerializationError, MessageTooLarge) as exc:
            self._callback_failed(callback, exc)
        self._mark_done(chord)
        self._clean_up(chord)

    def _callback_failed(self, callback: Task[Any], exc: Exception) -> None:
        """The callback cannot be enqueued with these outcomes: make that readable."""
        logger.exception("cannot enqueue the chord callback %s (%s)", callback.name, callback.id)
        info = ErrorInfo(
            error=repr(exc),
            traceback=traceback.format_exc(),
            task_id=callback.id,
            retries=callback.retries,
        )
        if self.store_results:
            sink = WriteThrough(self.ports)
            for stage in _core.pipeline_stages(callback):
                sink.store_result(stage.id, self.codec.encode_error(info))
        outer = _core.chord_of(callback)
        if outer is not None:
            # A nested chord's callback reports to the outer chord: it failed for good.
            self.report(outer, info)

    def _mark_done(self, chord: ChordRef) -> None:
        storage = self.ports.storage
        marker = self.codec.encode(chord.callback.id)
        key = f"chord:{chord.id}:done"
        if isinstance(storage, SupportsExpiringKeys):
            storage.put_if_empty_ttl(key, marker, _core.CHORD_DONE_TTL)
        else:
            storage.put_if_empty(key, marker)

    def _clean_up(self, chord: ChordRef) -> None:
        """Remove the outcomes, the counter and the claim (never the ``done`` marker)."""
        storage = self.ports.storage
        for index in range(chord.size):
            storage.pop_data(member_key(chord.id, index))
        if isinstance(storage, SupportsCounters):
            storage.delete_counter(f"chord:{chord.id}")
        storage.pop_data(f"chord:{chord.id}:fired")

    def _encode(self, outcome: MemberOutcome, task_id: str) -> bytes:
        match outcome:
            case Success(value):
                try:
                    return self.codec.encode({_OK: value})
                except Exception as exc:
                    # As for a result the serializer refuses: the callback gets an Error.
                    logger.exception("cannot serialize the result of chord member %s", task_id)
                    error = TaskSerializationError(f"cannot serialize the result: {exc!r}")
                    info = ErrorInfo(
                        error=repr(error),
                        traceback=traceback.format_exc(),
                        task_id=task_id,
                        retries=0,
                    )
                    return self._encode(info, task_id)
            case ErrorInfo():
                return self.codec.encode({_ERROR: outcome.as_metadata()})
            case Drop(signal):
                return self.codec.encode({_SKIPPED: signal})

    def _decode(self, raw: bytes) -> object:
        """A stored outcome as the callback receives it: the value, an Error or SKIPPED."""
        try:
            wire = self.codec.decode(raw)
        except Exception as exc:
            return Error({"error": f"unreadable chord member outcome: {exc!r}"})
        if isinstance(wire, dict):
            entry: dict[object, object] = wire  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
            if _OK in entry:
                return entry[_OK]
            if _SKIPPED in entry:
                return SKIPPED
            metadata = entry.get(_ERROR)
            if isinstance(metadata, dict):
                items: dict[object, object] = metadata  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
                return Error({str(key): value for key, value in items.items()})
        return Error({"error": f"unreadable chord member outcome: {wire!r:.80}"})
