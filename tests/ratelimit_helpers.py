"""Helpers shared by the rate-limit tests on the local storages and on Redis."""

from __future__ import annotations

import threading

from huey.api import RateLimit
from huey.exceptions import RateLimitExceeded

__all__ = ("admitted", "hammer")


def admitted(rate: RateLimit, attempts: int) -> int:
    """How many of ``attempts`` entries ``rate`` admitted."""
    count = 0
    for _ in range(attempts):
        try:
            rate.acquire()
        except RateLimitExceeded:
            continue
        count += 1
    return count


def hammer(rate: RateLimit, threads: int, attempts: int) -> int:
    """``threads`` threads each try ``attempts`` entries at once; how many were admitted."""
    barrier = threading.Barrier(threads)
    counts: list[int] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            count = admitted(rate, attempts)
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)
            return
        with lock:
            counts.append(count)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    return sum(counts)
