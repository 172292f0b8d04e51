"""The isolation gate: a suspect message runs alone in its process (in-process threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from typing_extensions import override

from huey import MemoryHuey
from huey._delivery import DeliveryReport, Received
from huey.consumer._isolation import IsolationGate, is_suspect
from huey.protocols import Lease

_app = MemoryHuey("isolation")

Receive = Callable[[], Received | DeliveryReport]


@_app.task()
def job() -> None:
    return None


def _received(deliveries: int | None) -> Received:
    lease = (
        None
        if deliveries is None
        else Lease(token="t", data=b"", deliveries=deliveries, deadline=0.0)
    )
    return Received(task=job.s(), lease=lease)


def _receiver(*items: Received | DeliveryReport) -> Receive:
    pending = list(items)
    return lambda: pending.pop(0)


class _Worker:
    """Records what the gate made one worker do."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def release(self, got: Received) -> bool:
        self.log.append(f"{self.name} released")
        return True

    def execute(self, got: Received) -> None:
        self.log.append(f"{self.name} ran")

    def take(self, gate: IsolationGate, receive: Receive) -> threading.Thread:
        thread = threading.Thread(
            target=gate.take, args=(receive, self.release, self.execute, self.name)
        )
        thread.start()
        return thread


def test_a_suspect_is_a_redelivery() -> None:
    """Delivery counts above one make a suspect; at-most-once messages never are."""
    assert not is_suspect(_received(1))
    assert is_suspect(_received(2))
    assert not is_suspect(_received(None))


def test_ordinary_messages_run_at_once() -> None:
    """An ordinary message is executed; an empty queue reports False."""
    gate = IsolationGate()
    log: list[str] = []
    worker = _Worker("w", log)
    assert gate.take(_receiver(_received(1)), worker.release, worker.execute, "w")
    assert log == ["w ran"]
    empty = _receiver(DeliveryReport(status="empty"))
    assert not gate.take(empty, worker.release, worker.execute, "w")


def test_a_suspect_is_released_then_run_alone_once_running_tasks_finish() -> None:
    """The suspect waits for the running task; a worker arriving meanwhile waits too."""
    gate = IsolationGate()
    log: list[str] = []
    running, may_finish = threading.Event(), threading.Event()

    class _Slow(_Worker):
        @override
        def execute(self, got: Received) -> None:
            running.set()
            may_finish.wait(30)
            super().execute(got)

    first = _Slow("a", log).take(gate, _receiver(_received(1)))
    assert running.wait(30)
    second = _Worker("b", log).take(gate, _receiver(_received(3), _received(3)))
    while not gate.isolating:
        second.join(0.01)
    assert log == ["b released"], "the suspect is given back before waiting (no lease held)"
    third = _Worker("c", log).take(gate, _receiver(_received(1)))
    assert log == ["b released"], "nothing runs or is reserved while the suspect waits"
    may_finish.set()
    for thread in (first, second, third):
        thread.join(30)
    assert log == ["b released", "a ran", "b ran", "c ran"]
    assert not gate.isolating


def test_a_suspect_waits_for_a_message_leased_ahead() -> None:
    """A message leased by the previous settle holds its slot until it has run."""
    gate = IsolationGate()
    log: list[str] = []
    gate.carry()  # worker "a" settled its last task and leased the next one with it
    suspect = _Worker("b", log).take(gate, _receiver(_received(3), _received(3)))
    while not gate.isolating:
        suspect.join(0.01)
    suspect.join(0.2)
    assert log == ["b released"], "the suspect waits: a lease is held ahead in the process"
    carried = _Worker("a", log)
    assert gate.take(_receiver(_received(1)), carried.release, carried.execute, "a", carried=True)
    suspect.join(30)
    assert log == ["b released", "a ran", "b ran"]
    assert not gate.isolating


def test_a_message_leased_ahead_and_given_back_frees_its_slot() -> None:
    """drop_carried: a worker stopping with a lease ahead does not hold a suspect up."""
    gate = IsolationGate()
    log: list[str] = []
    gate.carry()
    gate.drop_carried()
    assert gate.take(
        _receiver(_received(2), _received(2)),
        _Worker("b", log).release,
        _Worker("b", log).execute,
        "b",
    )
    assert log == ["b released", "b ran"]


def test_a_second_suspect_gives_way_to_the_first() -> None:
    """A worker that reserved a suspect while another was being isolated gives it back."""
    gate = IsolationGate()
    log: list[str] = []
    receiving, claimed = threading.Event(), threading.Event()

    def slow_receive() -> Received | DeliveryReport:
        receiving.set()
        claimed.wait(30)  # the other worker claims the turn meanwhile
        return _received(2)

    x = _Worker("x", log).take(gate, slow_receive)
    assert receiving.wait(30)
    y = _Worker("y", log).take(gate, _receiver(_received(2), _received(2)))
    while not gate.isolating:
        y.join(0.01)
    claimed.set()
    for thread in (x, y):
        thread.join(30)
    assert log == ["y released", "x released", "y ran"]


def test_unpatched_greenlets_are_not_isolated() -> None:
    """Without gevent's threading patch the gate lets a suspect run at once."""
    gate = IsolationGate.for_engine(MemoryHuey("greenlets").engine, "greenlet")
    log: list[str] = []
    worker = _Worker("g", log)
    assert gate.take(_receiver(_received(2)), worker.release, worker.execute, "g")
    assert log == ["g ran"]
    threads = IsolationGate.for_engine(MemoryHuey("threads").engine, "thread")
    assert threads.enabled
