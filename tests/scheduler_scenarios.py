"""A scenario the scheduler must pass on every storage that says when its next item is
due (Redis, SQLite): shared by the storages' test modules."""

from __future__ import annotations

import threading
import time

from huey import Huey
from huey.consumer import check_options
from huey.consumer._environment import PipeFlag
from huey.consumer._worker import Scheduler
from huey.protocols import Storage


def check_moves_each_task_when_due(storage: Storage) -> None:
    """Waiting for its next beat, the scheduler moves each task when it becomes due: one
    scheduled before the wait and one scheduled during it (from another thread)."""
    huey = Huey("due", storage=storage)

    @huey.task()
    def ping() -> int:
        return 1

    ping.schedule(delay=0.05)
    scheduler = Scheduler(huey, check_options(periodic=False), PipeFlag())
    waiting: object = scheduler.waiting  # the storage, seen through another protocol
    assert waiting is storage
    added = threading.Timer(0.1, lambda: ping.schedule(delay=0.1))
    added.start()
    scheduler.wait_for_due(time.monotonic() + 0.6)  # both are due well before this ends
    added.join()
    assert storage.schedule_size() == 0
    assert storage.queue_size() == 2
