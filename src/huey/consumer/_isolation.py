"""Poison-task isolation: a message redelivered after its worker died runs alone.

When a task kills its own process (``os._exit``, a segfault, the OOM killer), every
task the other worker threads of that process were running dies with it. Their leases
expire together, they are redelivered together, and if the poison is among them and
kills the process again, the innocent ones accumulate deliveries with it and reach the
dead letters without having done anything wrong.

So a message whose delivery count is above one (its previous lease expired: the worker
died, froze, or could not record the outcome) is a *suspect*, and a suspect runs alone
in its process:

1. every worker holds a *shared* slot of the process's :class:`IsolationGate` from
   before it reserves a message until it has run it;
2. a worker that reserves a suspect gives the message back at once (``release``: the
   delivery is not counted), asks for isolation, and leaves its shared slot. From then
   on no worker of the process reserves anything;
3. once the tasks already running in the process have finished, the isolated worker
   reserves again, runs what it gets alone, and opens the gate.

If the suspect kills the process now, it was alone: only its own lease expires, so only
the poison gains deliveries, up to ``max_deliveries`` and the dead letters. Isolated
tasks never hold a lease while they wait, so a process death cannot charge them a
delivery they did not run.

With process workers each worker is alone in its process anyway; the gate of such a
process never waits. Isolation is per process: consumers in other processes keep
running, and isolate their own suspects. Greenlet workers are isolated only when gevent
has patched ``threading`` (the gate's waits must yield to the other greenlets); without
the patch they run one task at a time anyway.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable

from .._delivery import DeliveryReport, Received
from .._engine import Engine

__all__ = ("IsolationGate", "is_suspect")

logger = logging.getLogger("huey.consumer")

_gates: weakref.WeakKeyDictionary[Engine, IsolationGate] = weakref.WeakKeyDictionary()
_gates_lock = threading.Lock()


def _threading_is_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    is_patched = getattr(monkey, "is_module_patched", None)
    return callable(is_patched) and bool(is_patched("threading"))


def is_suspect(received: Received) -> bool:
    """Whether ``received`` is a redelivery after an earlier lease expired.

    An interrupted delivery is released without being counted, so only expired leases
    (a dead, frozen or failing worker) make a suspect.
    """
    return received.lease is not None and received.lease.deliveries > 1


class IsolationGate:
    """Shared slots for ordinary work, one exclusive turn for a suspect (one per process).

    Use :meth:`for_engine` to get the gate the workers of an application share in this
    process.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.pid: int = os.getpid()
        self._changed = threading.Condition(threading.Lock())
        self._running = 0
        self._isolating = False

    @classmethod
    def for_engine(cls, engine: Engine, worker_type: str) -> IsolationGate:
        """The gate shared by the workers of ``engine`` in this process.

        Args:
            engine: the application's engine.
            worker_type: ``thread``, ``process`` or ``greenlet``; the gate of unpatched
                greenlets lets every message through (its waits would block them all).
        """
        with _gates_lock:
            gate = _gates.get(engine)
            if gate is None or gate.pid != os.getpid():
                enabled = worker_type != "greenlet" or _threading_is_patched()
                gate = _gates[engine] = cls(enabled=enabled)
            return gate

    @property
    def isolating(self) -> bool:
        """Whether a suspect holds (or waits for) the exclusive turn."""
        return self._isolating

    def carry(self) -> None:
        """Keep a shared slot for a message leased ahead (by the previous task's settle,
        or by a call sent ahead whose reply is not read yet).

        The slot is held from the call that leased the message until :meth:`take`
        runs it (``carried=True``) or :meth:`drop_carried` gives it up, so an isolated
        suspect waits for that message too instead of running beside its lease.
        """
        with self._changed:
            self._running += 1

    def drop_carried(self) -> None:
        """Give up the slot of :meth:`carry` (the message leased ahead was released)."""
        with self._changed:
            self._running -= 1
            self._changed.notify_all()

    def _enter_shared(self, *, carried: bool) -> None:
        """Take a shared slot (``carried``: the one :meth:`carry` kept is taken over)."""
        if carried:
            return
        with self._changed:
            while self._isolating:
                self._changed.wait()
            self._running += 1

    def _leave_shared(self) -> None:
        with self._changed:
            self._running -= 1
            if self._isolating:  # only a suspect's turn waits for the count to drop
                self._changed.notify_all()

    def _claim(self) -> bool:
        """Take the exclusive turn (called from a shared slot); ``False`` if taken."""
        with self._changed:
            if self._isolating:
                return False
            self._isolating = True
            return True

    def _wait_alone(self) -> None:
        with self._changed:
            while self._running:
                self._changed.wait()

    def _open(self) -> None:
        with self._changed:
            self._isolating = False
            self._changed.notify_all()

    def take(
        self,
        receive: Callable[[], Received | DeliveryReport],
        release: Callable[[Received], bool],
        execute: Callable[[Received], None],
        who: str,
        *,
        carried: bool = False,
    ) -> bool:
        """Receive one message and run it, alone in the process if it is a suspect.

        Args:
            receive: reserves and decodes the next message.
            release: gives a received message back to the queue uncounted.
            execute: runs a received message and settles it.
            who: the worker's name, for the log.
            carried: the worker holds the slot of :meth:`carry` (its first
                ``receive`` returns the message leased ahead); it does not wait.

        Returns:
            ``False`` when the queue was empty.
        """
        # Explicit enter/leave rather than a context manager: this runs once per task.
        self._enter_shared(carried=carried)
        try:
            received = receive()
            if isinstance(received, DeliveryReport):
                return received.status != "empty"
            if not self.enabled or not is_suspect(received):
                execute(received)
                return True
            release(received)
            if not self._claim():
                return True  # another worker is isolating a suspect; this one waits
        finally:
            self._leave_shared()
        try:
            self._wait_alone()
            received = receive()
            if isinstance(received, DeliveryReport):
                return received.status != "empty"
            if is_suspect(received):
                assert received.lease is not None
                logger.warning(
                    "%s: task %s (%s) is delivered again (delivery %d): its last worker "
                    "died or froze, so it runs alone in this process",
                    who,
                    received.task.name,
                    received.task.id,
                    received.lease.deliveries,
                )
            execute(received)
            return True
        finally:
            self._open()
