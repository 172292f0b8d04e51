"""The one place where a worker takes a message and runs it (over ``huey._delivery``).

With leased delivery (the default, on storages with leases) a message is reserved,
run, then acknowledged; a task cut short gives its message back to the queue. The
worker loop only sees :func:`take_next` and :func:`release_in_flight`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._delivery import DeliveryReport, Received, receive, run_received, uses_leases
from ..protocols import SupportsLeases

if TYPE_CHECKING:
    from .._api import Huey
    from .._task import Task

__all__ = ("Delivered", "release_in_flight", "take_next")


@dataclass(slots=True)
class Delivered:
    """A task handed to a worker.

    Attributes:
        received: the decoded task and its lease (``None`` when popped).
    """

    received: Received

    @property
    def task(self) -> Task[Any]:
        """The task."""
        return self.received.task

    @property
    def token(self) -> str | None:
        """The lease token, when the message is leased."""
        lease = self.received.lease
        return None if lease is None else lease.token


def take_next(huey: Huey[Any], execute: Callable[[Delivered, Callable[[], object]], None]) -> bool:
    """Take the next message and let ``execute`` run it; ``False`` when the queue is empty.

    ``execute(delivered, run)`` wraps ``run()`` (which runs the task and settles its
    message) in whatever the worker needs: a timeout, in-flight bookkeeping.

    Messages that cannot be run (undecodable, unknown task, too many deliveries) are
    dead-lettered (or quarantined) and logged by the delivery flow; they count as taken.

    Raises:
        StorageError: the storage failed.
    """
    received = receive(huey)
    if isinstance(received, DeliveryReport):
        return received.status != "empty"
    heartbeat = huey.lease_timeout / 3 if uses_leases(huey) else None

    def run() -> object:
        return run_received(huey, received, heartbeat_interval=heartbeat)

    execute(Delivered(received), run)
    return True


def release_in_flight(huey: Huey[Any], delivered: Delivered) -> bool:
    """Give an interrupted task's message back to the queue; whether it was returned."""
    storage = huey.storage
    token = delivered.token
    if token is None or not isinstance(storage, SupportsLeases):
        return False
    try:
        return storage.release(token)
    except Exception:
        return False
