"""The leased task flow (``huey._delivery``) and the dead-letter API of ``Huey``."""

from __future__ import annotations

import logging
import pickle
import threading
import time
from typing import Any

import pytest
from typing_extensions import override

from huey import BlackHoleHuey, Huey, Task, _core
from huey import _delivery as delivery
from huey._delivery import DeliveryReport, LeaseHeartbeat, LeaseKeeper, Received
from huey.exceptions import ConfigurationError, StorageError
from huey.protocols import Lease, LeaseCounts, Storage, SupportsLeases, SupportsSettle
from huey.signals import SIGNAL_DEAD_LETTER
from huey.storage import MemoryStorage
from huey.testing import MockClock

from .base_only import BaseOnlyStorage, LeasesOnlyStorage


@pytest.fixture
def clock() -> MockClock:
    """A fake clock."""
    return MockClock()


@pytest.fixture
def huey(storage: Storage, clock: MockClock) -> Huey:
    """A Huey on ``storage`` with a 10 s lease and at most 3 deliveries."""
    return Huey("q", storage=storage, clock=clock, lease_timeout=10.0, max_deliveries=3)


def leases_of(huey: Huey) -> SupportsLeases:
    """The huey's storage as a leasing storage."""
    storage = huey.storage
    assert isinstance(storage, SupportsLeases)
    return storage


def test_completed_task_is_acknowledged_after_its_result(huey: Huey) -> None:
    """A task runs, its result is stored, and its message is gone for good."""

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 3)
    report = delivery.process_next(huey)
    assert report.status == "completed"
    assert report.lease is not None
    assert report.lease.deliveries == 1
    assert result.get() == 5
    assert leases_of(huey).requeue_expired(1e12, 3) == 0
    assert delivery.process_next(huey).status == "empty"


def test_undecodable_message_is_dead_lettered_with_its_bytes(huey: Huey) -> None:
    """Bytes that do not decode go to the dead letters unchanged, with the reason."""
    huey.storage.enqueue(b"\x00garbage")
    report = delivery.process_next(huey)
    assert report.status == "dead-lettered"
    assert "undecodable" in report.reason
    letters = huey.dead_letters()
    assert [(letter.data, letter.deliveries) for letter in letters] == [(b"\x00garbage", 1)]
    assert "undecodable" in letters[0].reason
    assert huey.pending_count() == 0


def test_unknown_task_is_dead_lettered_with_its_name(huey: Huey) -> None:
    """A message naming an unregistered task goes to the dead letters."""
    other = Huey("q", storage=MemoryStorage())

    @other.task(name="elsewhere.job")
    def job() -> int:
        return 1

    huey.storage.enqueue(other.serialize_task(job.s()))
    report = delivery.process_next(huey)
    assert report.status == "dead-lettered"
    assert "elsewhere.job" in huey.dead_letters()[0].reason


def test_poison_message_is_dead_lettered_after_max_deliveries(
    huey: Huey, clock: MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A message whose worker dies every time ends in the dead letters, not in a loop.

    Each such dead letter gets its own log line with its id and reason.
    """

    @huey.task()
    def crash() -> None:
        return None

    crash()
    for _ in range(3):
        received = delivery.receive(huey)
        assert isinstance(received, Received)  # the worker "dies" here: no settle
        clock.advance(11.0)
        with caplog.at_level(logging.ERROR, logger="huey.delivery"):
            assert delivery.requeue_expired(huey) == 1
    assert delivery.process_next(huey).status == "empty"
    letters = huey.dead_letters()
    assert len(letters) == 1
    assert letters[0].deliveries == 3
    assert "max_deliveries=3" in letters[0].reason
    buried = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert buried == [
        f"message moved to the dead letters of q (dead letter {letters[0].id}): {letters[0].reason}"
    ]
    assert huey.requeue_dead_letter(letters[0].id)
    assert delivery.process_next(huey).status == "completed"
    assert huey.dead_letters() == []


def test_delivery_beyond_the_maximum_is_dead_lettered_with_a_signal(huey: Huey) -> None:
    """A lease already past max_deliveries is dead-lettered and signalled, not run."""
    runs: list[int] = []
    signalled: list[str] = []

    @huey.task()
    def job() -> None:
        runs.append(1)

    @huey.signal(SIGNAL_DEAD_LETTER)
    def on_dead_letter(signal: str, task: Task[Any]) -> None:
        signalled.append(task.name)

    job()
    storage = leases_of(huey)
    for step in range(3):  # expire with a generous maximum, as another process might
        assert storage.reserve(1000.0 + 100 * step, 1.0) is not None
        assert storage.requeue_expired(1050.0 + 100 * step, 100) == 1
    report = delivery.process_next(huey)
    assert report.status == "dead-lettered"
    assert runs == []
    assert signalled == [job.name]


def test_interrupted_task_is_released_back_to_the_queue(huey: Huey) -> None:
    """A KeyboardInterrupt inside the task releases the message at once, uncounted."""
    calls: list[int] = []

    @huey.task()
    def job() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return "done"

    result = job()
    report = delivery.process_next(huey)
    assert report.status == "released"
    assert huey.pending_count() == 1
    second = delivery.process_next(huey)
    assert second.status == "completed"
    assert second.lease is not None
    assert second.lease.deliveries == 1
    assert result.get() == "done"


def test_interrupt_outside_the_task_releases_and_propagates(huey: Huey) -> None:
    """A KeyboardInterrupt escaping execute() releases the message and is re-raised."""

    @huey.task()
    def job() -> int:
        return 1

    @huey.pre_execute()
    def stop(task: object) -> None:
        raise KeyboardInterrupt

    job()
    with pytest.raises(KeyboardInterrupt):
        delivery.process_next(huey)
    assert huey.pending_count() == 1


def test_stale_acknowledgement_is_refused_and_logged(
    huey: Huey, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker finishing after its lease was handed to another cannot acknowledge."""
    storage = leases_of(huey)
    stolen: list[str] = []

    @huey.task()
    def slow() -> int:
        # Meanwhile the lease expires and another worker takes the message.
        storage.requeue_expired(1e12, 5)
        lease = storage.reserve(1e12, 10.0)
        assert lease is not None
        stolen.append(lease.token)
        return 7

    slow()
    with caplog.at_level(logging.WARNING, logger="huey.delivery"):
        report = delivery.process_next(huey)
    assert report.status == "stale"
    assert "refused" in caplog.text
    assert storage.ack(stolen[0])  # the new owner still can


def test_a_stale_run_never_overwrites_the_settled_result(huey: Huey, clock: MockClock) -> None:
    """A worker frozen past its lease finishes last: its result is not stored."""
    values = iter(["settled", "late"])

    @huey.task()
    def job() -> str:
        return next(values)

    result = job()
    late = delivery.receive(huey)
    assert isinstance(late, Received)
    clock.advance(11.0)
    assert delivery.requeue_expired(huey) == 1
    current = delivery.receive(huey)
    assert isinstance(current, Received)
    # The second worker runs and settles first; then the frozen one wakes up.
    assert delivery.run_received(huey, current).status == "completed"
    assert delivery.run_received(huey, late).status == "stale"
    assert result.get() == "settled"


def test_failure_to_record_leaves_the_lease_to_expire(
    huey: Huey, clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the outcome cannot be stored, the message is not acknowledged and comes back.

    The local storages settle atomically, so the failure of the settle propagates (the
    worker's loop backs off) and nothing is written.
    """

    @huey.task()
    def job() -> int:
        return 1

    result = job()

    def broken(*args: object) -> None:
        raise StorageError("disk on fire")

    assert isinstance(huey.storage, SupportsSettle)
    with monkeypatch.context() as patch:
        patch.setattr(huey.storage, "settle", broken)
        with pytest.raises(StorageError, match="disk on fire"):
            delivery.process_next(huey)
    assert result.get() is None
    clock.advance(11.0)
    assert delivery.requeue_expired(huey) == 1
    assert delivery.process_next(huey).status == "completed"
    assert result.get() == 1


def test_heartbeat_extends_and_detects_a_lost_lease(huey: Huey, clock: MockClock) -> None:
    """beat() pushes the deadline; once the lease is gone it reports the loss."""
    storage = leases_of(huey)
    huey.storage.enqueue(b"x")
    now = clock.time()
    lease = storage.reserve(now, 10.0)
    assert lease is not None
    heartbeat = LeaseHeartbeat(storage, lease.token, 10.0, clock)
    assert heartbeat.interval == pytest.approx(10.0 / 3)
    clock.advance(8.0)
    assert heartbeat.beat()
    assert storage.requeue_expired(now + 12.0, 5) == 0
    assert storage.requeue_expired(now + 19.0, 5) == 1
    assert not heartbeat.beat()
    assert heartbeat.lost


def test_heartbeat_thread_beats_until_stopped(huey: Huey, clock: MockClock) -> None:
    """The background thread extends the lease repeatedly, then stops cleanly."""
    storage = leases_of(huey)
    huey.storage.enqueue(b"x")
    lease = storage.reserve(clock.time(), 10.0)
    assert lease is not None
    beaten = threading.Event()

    class Watched(LeaseHeartbeat):
        @override
        def beat(self) -> bool:
            ok = super().beat()
            if self.beats >= 2:
                beaten.set()
            return ok

    with Watched(storage, lease.token, 10.0, clock, interval=0.005) as heartbeat:
        assert beaten.wait(5.0)
    assert heartbeat.beats >= 2
    with pytest.raises(ValueError, match="positive"):
        LeaseHeartbeat(storage, lease.token, 10.0, clock, interval=0)


def test_process_next_with_a_heartbeat(huey: Huey) -> None:
    """process_next runs the heartbeat thread around the task."""

    @huey.task()
    def job() -> int:
        return 3

    result = job()
    assert delivery.process_next(huey, heartbeat_interval=0.01).status == "completed"
    assert result.get() == 3


def test_at_most_once_pops_and_quarantines_undecodable_messages(clock: MockClock) -> None:
    """delivery='at-most-once' pops messages; undecodable ones are kept in the KV store."""
    huey = Huey("q", storage=MemoryStorage(), clock=clock, delivery="at-most-once")

    @huey.task()
    def job() -> int:
        return 4

    assert not delivery.uses_leases(huey)
    result = job()
    huey.storage.enqueue(b"junk")
    report = delivery.process_next(huey)
    assert (report.status, report.lease) == ("completed", None)
    assert result.get() == 4
    quarantined = delivery.process_next(huey)
    assert quarantined.status == "quarantined"
    assert quarantined.key is not None
    assert quarantined.key.startswith(delivery.UNDECODABLE_PREFIX)
    assert huey.storage.peek_data(quarantined.key) == b"junk"
    assert delivery.requeue_expired(huey) == 0


def test_base_storage_falls_back_to_at_most_once(clock: MockClock) -> None:
    """A storage without leases keeps the original's at-most-once flow."""
    huey = Huey("q", storage=BaseOnlyStorage(), clock=clock)
    calls: list[int] = []

    @huey.task()
    def job() -> None:
        calls.append(1)
        raise KeyboardInterrupt

    job()
    assert not delivery.uses_leases(huey)
    assert delivery.process_next(huey).status == "interrupted"
    assert huey.pending_count() == 0  # popped and gone, as documented
    with pytest.raises(ConfigurationError, match="SupportsLeases"):
        huey.dead_letters()


def test_dead_letter_api_needs_leases() -> None:
    """The dead-letter methods name the missing capability."""
    huey = BlackHoleHuey("q")
    for call in (
        huey.dead_letters,
        huey.purge_dead_letters,
        huey.lease_counts,
        lambda: huey.requeue_dead_letter("1"),
        lambda: huey.delete_dead_letter("1"),
    ):
        with pytest.raises(ConfigurationError, match="SupportsLeases"):
            call()


def test_deleting_one_letter_and_counting_leases_name_their_capabilities() -> None:
    """A leasing storage without the two optional additions: each method names its own."""
    huey = Huey("q", storage=LeasesOnlyStorage("q"))
    assert huey.dead_letters() == []
    with pytest.raises(ConfigurationError, match="SupportsDeadLetterDeletion"):
        huey.delete_dead_letter("1")
    with pytest.raises(ConfigurationError, match="SupportsLeaseCounts"):
        huey.lease_counts()


def test_delete_dead_letter(huey: Huey) -> None:
    """delete_dead_letter deletes that one letter, once, without requeueing it."""
    for text in ("one", "two"):
        huey.storage.enqueue(pickle.dumps(text))
        delivery.process_next(huey)
    first, second = huey.dead_letters()
    assert huey.delete_dead_letter(first.id) is True
    assert huey.delete_dead_letter(first.id) is False
    assert huey.dead_letters() == [second]
    assert huey.pending_count() == 0


def test_lease_counts_read_the_huey_clock(huey: Huey, clock: MockClock) -> None:
    """lease_counts() counts the leases in flight and expired at the clock's time."""
    storage = leases_of(huey)
    for item in (b"a", b"b", b"c"):
        huey.storage.enqueue(item)
    assert storage.reserve(clock.time(), 10.0) is not None
    clock.advance(20.0)
    assert storage.reserve(clock.time(), 10.0) is not None
    assert huey.lease_counts() == LeaseCounts(in_flight=1, expired=1)
    clock.advance(20.0)
    assert huey.lease_counts() == LeaseCounts(in_flight=0, expired=2)


def test_purge_dead_letters(huey: Huey) -> None:
    """purge_dead_letters deletes them and returns the count."""
    for _ in range(2):
        huey.storage.enqueue(pickle.dumps("not a message"))
        delivery.process_next(huey)
    assert len(huey.dead_letters(limit=1)) == 1
    assert huey.purge_dead_letters() == 2
    assert huey.dead_letters() == []
    assert not huey.requeue_dead_letter("nope")


def test_reports_are_plain_values() -> None:
    """DeliveryReport carries what happened."""
    report = DeliveryReport(status="empty")
    assert (report.task, report.lease, report.reason, report.key) == (None, None, "", None)


def test_core_delivery_rules() -> None:
    """Delivery n is allowed up to max_deliveries; the reason names both numbers."""
    assert _core.delivery_allowed(1, 1)
    assert _core.delivery_allowed(5, 5)
    assert not _core.delivery_allowed(6, 5)
    assert _core.too_many_deliveries_reason(1, 1).startswith("delivered 1 time ")
    assert "delivered 5 times" in _core.too_many_deliveries_reason(5, 5)
    assert "max_deliveries=5" in _core.too_many_deliveries_reason(5, 5)


def test_at_most_once_failure_to_record_is_reported(
    clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In at-most-once mode a storage failure while recording is logged and reported."""
    huey = Huey("q", storage=MemoryStorage(), clock=clock, delivery="at-most-once")

    @huey.task()
    def job() -> int:
        return 1

    job()

    def broken(key: str, value: bytes, /) -> None:
        raise StorageError("disk on fire")

    monkeypatch.setattr(huey.storage, "put_data", broken)
    assert delivery.process_next(huey).status == "failed"
    assert huey.pending_count() == 0


def test_lease_keeper_extends_only_long_held_leases(huey: Huey, clock: MockClock) -> None:
    """One keeper extends the leases held for an interval or more, and drops lost ones."""
    storage = leases_of(huey)
    huey.storage.enqueue(b"long")
    huey.storage.enqueue(b"short")
    now = clock.time()
    long_lease = storage.reserve(now, 10.0)
    short_lease = storage.reserve(now, 10.0)
    assert long_lease is not None
    assert short_lease is not None
    keeper = LeaseKeeper(storage, 10.0, clock, interval=3.0)
    keeper.hold(long_lease.token)
    held_at = time.monotonic()
    keeper.hold(short_lease.token)
    keeper.drop(short_lease.token)
    assert keeper.held() == [long_lease.token]
    assert keeper.beat(held_at + 1.0) == 0  # held for less than an interval: left alone
    clock.advance(8.0)
    assert keeper.beat(held_at + 3.5) == 1  # pushed to now + 10
    assert storage.requeue_expired(now + 12.0, 5) == 1  # only the short lease expired
    assert storage.requeue_expired(now + 19.0, 5) == 1
    assert keeper.beat(held_at + 7.0) == 0  # the long lease is gone: lost, no longer held
    assert keeper.lost == {long_lease.token}
    assert keeper.held() == []
    keeper.stop()
    with pytest.raises(ValueError, match="positive"):
        LeaseKeeper(storage, 10.0, clock, interval=0)


def test_run_received_holds_the_lease_in_the_keeper(huey: Huey) -> None:
    """run_received hands the lease to the keeper while the task runs, then drops it."""
    storage = leases_of(huey)
    keeper = LeaseKeeper(storage, 30.0, huey.engine.ports.clock)
    seen: list[list[str]] = []

    @huey.task()
    def job() -> int:
        seen.append(keeper.held())
        return 3

    result = job()
    received = delivery.receive(huey)
    assert isinstance(received, Received)
    assert delivery.run_received(huey, received, keeper=keeper).status == "completed"
    keeper.stop()
    assert received.lease is not None
    assert seen == [[received.lease.token]]
    assert keeper.held() == []
    assert result.get() == 3


def _leased_ahead(huey: Huey, clock: MockClock) -> tuple[SupportsLeases, Lease, LeaseKeeper]:
    """A message leased and watched as taken ahead, by a keeper whose own thread does not
    reach its threshold during a test: the rounds are driven by the test, time given."""
    storage = leases_of(huey)
    huey.storage.enqueue(b"ahead")
    lease = storage.reserve(clock.time(), 30.0)
    assert lease is not None
    keeper = LeaseKeeper(storage, 30.0, clock, hand_back_after=1000.0)
    keeper.hold_ahead(lease.token)
    return storage, lease, keeper


def test_lease_keeper_hands_back_a_lease_taken_ahead_once_it_waited_too_long(
    huey: Huey, clock: MockClock
) -> None:
    """A lease taken ahead goes back to the queue after hand_back_after; claiming it then
    says so, and a lease claimed in time stays the worker's."""
    storage, lease, keeper = _leased_ahead(huey, clock)
    since = time.monotonic()
    assert keeper.hand_back(since + 10.0) is False  # not waited long enough
    assert huey.storage.queue_size() == 0
    assert keeper.hand_back(since + 1001.0) is True
    assert list(huey.storage.enqueued_items()) == [b"ahead"]
    assert keeper.hand_back(since + 2000.0) is False  # nothing watched any more
    assert keeper.claim_ahead(lease.token) is False  # handed back: not the worker's
    # A lease claimed before the threshold stays the worker's.
    again = storage.reserve(clock.time(), 30.0)
    assert again is not None
    assert again.deliveries == 1  # the handed-back delivery was not counted
    keeper.hold_ahead(again.token)
    assert keeper.claim_ahead(again.token) is True
    assert keeper.hand_back(since + 5000.0) is False
    assert huey.storage.queue_size() == 0
    # A token the storage does not know (the queue was empty, or a re-sent release
    # found it released already): not the worker's any more either, so that whatever
    # it finds under the token is given back rather than run beside another worker.
    keeper.hold_ahead("unknown")
    assert keeper.hand_back(time.monotonic() + 2000.0) is False
    assert keeper.claim_ahead("unknown") is False
    keeper.hold_ahead("next")
    assert keeper.claim_ahead("next") is True  # the mark was for that token only
    keeper.stop()
    with pytest.raises(ValueError, match="positive"):
        LeaseKeeper(storage, 10.0, clock, hand_back_after=0)


def test_lease_keeper_tries_a_failed_hand_back_again(
    huey: Huey, clock: MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A storage error while handing back leaves the lease watched for the next round."""
    storage, lease, keeper = _leased_ahead(huey, clock)
    later = time.monotonic() + 1001.0
    real_release = storage.release

    def broken(token: str, /) -> bool:
        raise StorageError("connection reset")

    monkeypatch.setattr(storage, "release", broken)
    assert keeper.hand_back(later) is False
    monkeypatch.setattr(storage, "release", real_release)
    assert keeper.hand_back(later) is True
    assert keeper.claim_ahead(lease.token) is False
    keeper.stop()
