"""Greenlet workers in a process gevent has not monkey-patched (this test process).

Unpatched, only gevent's own waits switch greenlets; a thread event's wait, a plain
``select`` or a storage's socket read block the one OS thread. The consumer's waits
must go through gevent there, or its main loop and its workers starve each other.
"""

from __future__ import annotations

import importlib
import threading
import time
from typing import Any

import pytest

from huey.consumer._environment import GreenletEnvironment

# gevent ships no type information: its module is typed as what it is to us, unknown.
gevent: Any = importlib.import_module("gevent")


@pytest.fixture
def environment(caplog: pytest.LogCaptureFixture) -> GreenletEnvironment:
    """A greenlet environment; it warns that this process is not patched."""
    created = GreenletEnvironment()
    assert "without gevent monkey-patching run one task at a time" in caplog.text
    return created


def test_the_main_loops_wait_lets_workers_run(environment: GreenletEnvironment) -> None:
    """The consumer's main loop waits through the environment: a worker greenlet runs
    meanwhile (an unpatched event's wait would block it for good)."""
    ran: list[str] = []
    worker = gevent.spawn(ran.append, "worker")
    stop_requested = threading.Event()
    assert environment.wait(stop_requested, 0.01) is False
    assert ran == ["worker"]
    worker.join()
    stop_requested.set()
    assert environment.wait(stop_requested, 0.01) is True


def test_busy_workers_stop_flag_checks_let_the_main_loop_wake(
    environment: GreenletEnvironment,
) -> None:
    """Workers that never wait (a backlog on a storage that does not yield) check the
    stop flag between tasks: each check lets the hub fire due timers, so the main loop,
    asleep on one, wakes soon and can stop the consumer."""
    flag = environment.stop_flag()
    stopped: list[str] = []

    def busy_worker() -> None:
        give_up = time.monotonic() + 2
        while not stopped and time.monotonic() < give_up:
            time.sleep(0.05)  # a task or a storage call: blocks the thread, yields nothing
            assert flag.is_set() is False

    workers = [gevent.spawn(busy_worker) for _ in range(2)]
    started = time.monotonic()
    gevent.sleep(0.02)  # the main loop's tick
    woke_after = time.monotonic() - started
    stopped.append("main loop")
    gevent.joinall(workers)
    assert woke_after < 0.5  # starved, it wakes only when the workers give up (2 s)
    flag.set()
    assert flag.is_set() is True
    flag.close()
