"""A script call that redis-py retries must not corrupt the queue.

redis-py re-sends a command whose reply it did not get (connection reset, timeout, server
restart), with exactly the same arguments. For ``reserve`` that means the same lease
token: when the first call already leased a message under it, the repeat must hand back
that lease instead of leasing a second message under the same token (which used to
overwrite the first one's in-flight entry, so the first message vanished).

These tests lose a reply deterministically, without killing servers: a
``redis.Connection`` subclass reads the server's reply to a chosen script call, drops
it and raises ``ConnectionError`` as a broken link would. The storage's own retry policy
then re-sends the call, exactly as after a real outage.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Literal, Protocol, cast

import pytest
import redis
from typing_extensions import override

from huey.storage.redis import (
    RedisStorage,
)

from .conftest import ALL_STORAGES, StorageFactory

pytestmark = pytest.mark.redis

ALL = ALL_STORAGES


class _Wire(Protocol):
    """The ``redis.Connection`` methods the lossy connection wraps.

    redis-py leaves them unannotated; calling them through this protocol keeps the
    strict type checkers' view of the test typed.
    """

    def send_command(self, *args: object, **kwargs: object) -> None: ...

    def send_packed_command(self, command: object, check_health: bool = True) -> None: ...

    def read_response(self, *args: object, **kwargs: object) -> object: ...

    def disconnect(self, *args: object, **kwargs: object) -> None: ...


class ReplyLoss:
    """Loses the replies to the next ``armed`` script calls (``EVALSHA``) after Redis ran them.

    Attributes:
        armed: how many more script replies to lose.
        lost: how many were lost so far.
        between: called after a reply is lost and before redis-py retries (another
            client acting in the gap).
        on_send: called with each command's name before it is sent.
    """

    def __init__(self) -> None:
        self.armed = 0
        self.lost = 0
        self.between: Callable[[], None] | None = None
        self.on_send: Callable[[str], None] | None = None

    def connection_class(self) -> type[redis.Connection]:
        """A connection class (``connection_class=``) bound to this plan."""
        loss = self

        class LossyConnection(redis.Connection):
            # The names of the commands sent whose replies are still to be read, in order
            # (the storage sends some pairs in one write); made on first use.
            unread: deque[str] | None = None

            def _sent(self, name: str) -> None:
                if self.unread is None:
                    self.unread = deque()
                self.unread.append(name)
                if loss.on_send is not None:
                    loss.on_send(name)

            in_send_command = False

            @override
            def send_command(self, *args: object, **kwargs: object) -> None:
                self._sent(str(args[0]).upper())
                self.in_send_command = True  # it packs the command and sends it below
                try:
                    cast("_Wire", super()).send_command(*args, **kwargs)
                finally:
                    self.in_send_command = False

            @override
            def send_packed_command(self, command: object, check_health: bool = True) -> None:
                # The storage's hot paths pack their commands themselves, one chunk each:
                # ``*<n>\r\n$<len>\r\n<NAME>\r\n...``.
                packed: object = command  # narrowed below; ``command`` is passed on as given
                chunks = cast("list[object]", packed) if isinstance(packed, list) else []
                for chunk in chunks if not self.in_send_command else []:
                    if isinstance(chunk, bytes) and chunk.startswith(b"*"):
                        self._sent(chunk.split(b"\r\n", 3)[2].decode().upper())
                cast("_Wire", super()).send_packed_command(command, check_health)

            @override
            def disconnect(self, *args: object, **kwargs: object) -> None:
                self.unread = None  # what was unread is gone with the socket
                cast("_Wire", super()).disconnect(*args, **kwargs)

            @override
            def read_response(self, *args: object, **kwargs: object) -> object:
                # An error reply (NOSCRIPT before the script is loaded) is raised here as
                # usual, and the SCRIPT LOAD that follows is not a script call: only the
                # reply of a script that ran is lost.
                command = self.unread.popleft() if self.unread else ""
                reply = cast("_Wire", super()).read_response(*args, **kwargs)
                if loss.armed > 0 and command == "EVALSHA":
                    loss.armed -= 1
                    loss.lost += 1
                    if loss.between is not None:
                        loss.between()
                    # redis-py closes this connection, reconnects and sends the call again.
                    raise redis.ConnectionError("test: the reply to a script was lost")
                return reply

        return LossyConnection


def _lossy(
    cls: type[RedisStorage], make_storage: StorageFactory, **kwargs: Any
) -> tuple[RedisStorage, ReplyLoss]:
    loss = ReplyLoss()
    options: dict[str, Any] = {"blocking": False, **kwargs}
    storage = make_storage(cls, connection_class=loss.connection_class(), **options)
    return storage, loss


@pytest.mark.parametrize("cls", ALL)
def test_retried_reserve_returns_the_first_lease(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """The repeat hands back message A's lease; B stays queued; settling A loses nothing."""
    storage, loss = _lossy(cls, make_storage)
    storage.enqueue(b"A")
    storage.enqueue(b"B")
    loss.armed = 1
    lease = storage.reserve(1000.0, 30.0)
    assert loss.lost == 1  # the reply was lost and the call retried
    assert lease is not None
    assert (lease.data, lease.deliveries, lease.deadline) == (b"A", 1, 1030.0)
    assert list(storage.enqueued_items()) == [b"B"]
    assert storage.leased_count() == 1
    assert storage.settle(lease.token, None, ()) is True
    assert storage.leased_count() == 0
    second = storage.reserve(1001.0, 30.0)
    assert second is not None
    assert (second.data, second.deliveries) == (b"B", 1)
    assert storage.ack(second.token) is True
    assert storage.queue_size() == storage.leased_count() == 0
    assert storage.dead_letters() == []


@pytest.mark.parametrize("cls", ALL)
def test_retried_reserve_returns_the_watched_flags(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """A keyed message's repeat carries the values of its watched keys, read afresh."""
    storage, loss = _lossy(cls, make_storage)
    storage.put_data("revoked-a", b"yes")
    storage.enqueue_keyed(b"A", None, ("revoked-a", "missing"))
    storage.enqueue_keyed(b"B", None, ("revoked-b",))
    loss.armed = 1
    lease = storage.reserve(1000.0, 30.0)
    assert loss.lost == 1
    assert lease is not None
    assert (lease.data, lease.deliveries, lease.watched) == (b"A", 1, (b"yes", None))
    assert list(storage.enqueued_items()) == [b"B"]


@pytest.mark.parametrize("cls", ALL)
def test_retried_reserve_counts_a_redelivery_once(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """A redelivered message leased by a retried call counts one more delivery, not two."""
    storage, loss = _lossy(cls, make_storage)
    storage.enqueue(b"A")
    storage.enqueue(b"B")
    first = storage.reserve(1000.0, 10.0)
    assert first is not None
    assert storage.requeue_expired(2000.0, 5) == 1  # A is back at the head
    loss.armed = 1
    lease = storage.reserve(2000.0, 10.0)
    assert loss.lost == 1
    assert lease is not None
    assert (lease.data, lease.deliveries) == (b"A", 2)
    assert list(storage.enqueued_items()) == [b"B"]


Ending = Literal["settle", "ack", "release", "dead_letter", "expire"]


@pytest.mark.parametrize("ending", ["settle", "ack", "release", "dead_letter", "expire"])
@pytest.mark.parametrize("cls", ALL)
def test_every_call_of_a_lease_retried(
    cls: type[RedisStorage], ending: Ending, make_storage: StorageFactory
) -> None:
    """Reserve, extend and the call ending the lease each lose their reply once: the
    message ends exactly where that call puts it, and B is untouched.

    The repeat of an ending call finds the token gone; what it then *reports* is not
    checked here (see the module docstring of huey.storage.redis for the calls whose
    reply is not yet idempotent).
    """
    storage, loss = _lossy(cls, make_storage)
    storage.enqueue(b"A")
    storage.enqueue(b"B")
    loss.armed = 1
    lease = storage.reserve(1000.0, 30.0)
    assert lease is not None
    assert lease.data == b"A"
    loss.armed = 1
    assert storage.extend_lease(lease.token, 1010.0, 30.0) is True
    if ending == "expire":
        # 1035 is past the first deadline (1030) but not the extended one (1040): the
        # reaper takes nothing back, so the retried extend did not move it back.
        assert storage.requeue_expired(1035.0, 5) == 0
    loss.armed = 1
    if ending == "settle":
        storage.settle(lease.token, ("result-a", b"42"), ())
        assert storage.peek_data("result-a") == b"42"
        assert list(storage.enqueued_items()) == [b"B"]
    elif ending == "ack":
        storage.ack(lease.token)
        assert list(storage.enqueued_items()) == [b"B"]
    elif ending == "release":
        storage.release(lease.token)
        assert list(storage.enqueued_items()) == [b"A", b"B"]
    elif ending == "dead_letter":
        storage.dead_letter(lease.token, "broken", 1020.0)
        assert [(d.data, d.id, d.reason) for d in storage.dead_letters()] == [
            (b"A", lease.token, "broken")
        ]
        assert list(storage.enqueued_items()) == [b"B"]
    else:
        storage.requeue_expired(1050.0, 5)
        assert list(storage.enqueued_items()) == [b"A", b"B"]
    assert loss.lost == 3
    assert storage.leased_count() == 0
    if ending in ("release", "expire"):
        again = storage.reserve(2000.0, 30.0)
        assert again is not None
        assert (again.data, again.deliveries) == (b"A", 1 if ending == "release" else 2)


@pytest.mark.parametrize("cls", ALL)
def test_retried_reserve_after_its_lease_was_dead_lettered(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """The reaper dead-letters the first call's lease before the repeat arrives: the
    repeat leases nothing, rather than B under the token that now names A's dead letter
    (whose entry B's own dead-lettering would overwrite)."""
    storage, loss = _lossy(cls, make_storage)
    storage.enqueue(b"A")
    storage.enqueue(b"B")
    reaper = make_storage(cls, storage.name, blocking=False)

    def reap() -> None:
        assert reaper.requeue_expired(2000.0, 1) == 1  # max_deliveries=1: A dies

    loss.between = reap
    loss.armed = 1
    assert storage.reserve(1000.0, 10.0) is None
    assert loss.lost == 1
    [letter] = storage.dead_letters()
    assert (letter.data, letter.deliveries) == (b"A", 1)
    assert list(storage.enqueued_items()) == [b"B"]
    assert storage.leased_count() == 0
    lease = storage.reserve(2000.0, 10.0)
    assert lease is not None
    assert lease.data == b"B"
    assert storage.dead_letter(lease.token, "broken too", 2001.0) is True
    assert sorted(d.data for d in storage.dead_letters()) == [b"A", b"B"]


@pytest.mark.parametrize("cls", ALL)
def test_retried_blocking_reserve_returns_the_first_lease(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """The blocking path: the queue is empty, the reserver waits on the wake list, two
    messages arrive, and the reply of the reserve that follows the wake-up is lost."""
    storage, loss = _lossy(cls, make_storage, blocking=True, read_timeout=5)
    producer = make_storage(cls, storage.name, blocking=False)

    def produce_when_waiting(command: str) -> None:
        if command == "BRPOP":
            loss.on_send = None
            producer.enqueue(b"A")
            producer.enqueue(b"B")
            loss.armed = 1

    loss.on_send = produce_when_waiting
    lease = storage.reserve(1000.0, 30.0)
    assert loss.lost == 1
    assert lease is not None
    assert (lease.data, lease.deliveries) == (b"A", 1)
    assert list(storage.enqueued_items()) == [b"B"]
    assert storage.ack(lease.token) is True
    assert storage.leased_count() == 0
    assert storage.queue_size() == 1


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("keyed", [False, True])
def test_retried_enqueue_stores_the_message_once(
    cls: type[RedisStorage], keyed: bool, make_storage: StorageFactory
) -> None:
    """An enqueue whose reply was lost is re-sent; the message is queued once."""
    storage, loss = _lossy(cls, make_storage)
    loss.armed = 1
    if keyed:
        storage.enqueue_keyed(b"A", None, ("flag:a|b~c^d%e",))
    else:
        storage.enqueue(b"A")
    assert loss.lost == 1
    assert list(storage.enqueued_items()) == [b"A"]
    storage.enqueue(b"A")  # the same message enqueued again on purpose is queued again
    assert list(storage.enqueued_items()) == [b"A", b"A"]


@pytest.mark.parametrize("cls", ALL)
def test_retried_settle_reports_its_success(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """A settle whose reply was lost is re-sent; the repeat reports the first run's success."""
    storage, loss = _lossy(cls, make_storage)
    storage.enqueue(b"A")
    lease = storage.reserve(1000.0, 30.0)
    assert lease is not None
    loss.armed = 1
    assert storage.settle(lease.token, ("result-a", b"42"), ()) is True
    assert loss.lost == 1
    assert storage.peek_data("result-a") == b"42"
    assert storage.leased_count() == 0
    assert storage.settle(lease.token, None, ()) is True  # still recognised as its own
    assert storage.settle("never-leased", None, ()) is False


@pytest.mark.parametrize("cls", ALL)
def test_retried_settle_and_reserve_returns_the_same_lease(
    cls: type[RedisStorage], make_storage: StorageFactory
) -> None:
    """The fused call settles A and leases B once, however often it is re-sent."""
    storage, loss = _lossy(cls, make_storage)
    for data in (b"A", b"B", b"C"):
        storage.enqueue_keyed(data, None, (f"flag-{data.decode()}",))
    storage.put_data("flag-B", b"revoked")
    first = storage.reserve(1000.0, 30.0)
    assert first is not None
    loss.armed = 1
    settled, lease = storage.settle_and_reserve(first.token, ("result-a", b"1"), (), 1001.0, 30.0)
    assert loss.lost == 1
    assert settled is True
    assert lease is not None
    assert (lease.data, lease.deliveries, lease.deadline) == (b"B", 1, 1031.0)
    assert lease.watched == (b"revoked",)
    assert list(storage.enqueued_items()) == [b"C"]
    assert storage.leased_count() == 1
    assert storage.peek_data("result-a") == b"1"
    # The thread's own connection was dropped with the lost reply; an enqueue reconnects
    # it (its handshake would otherwise hide the next script call from the loss).
    storage.enqueue(b"D")
    loss.armed = 1  # the script is loaded now: the reply to the direct call is lost
    settled, third = storage.settle_and_reserve(lease.token, None, (), 1002.0, 30.0)
    assert loss.lost == 2
    assert settled is True
    assert third is not None
    assert third.data == b"C"
    assert list(storage.enqueued_items()) == [b"D"]
    assert storage.leased_count() == 1
    settled, last = storage.settle_and_reserve(third.token, None, (), 1003.0, 30.0)
    assert settled is True
    assert last is not None
    assert last.data == b"D"
    settled, none = storage.settle_and_reserve(last.token, None, (), 1004.0, 30.0)
    assert (settled, none) == (True, None)
    assert storage.leased_count() == storage.queue_size() == 0
