"""Profile one worker's hot path on Redis with cProfile: where a task's time goes.

Usage: ``python benchmarks/profile_worker.py PORT [COUNT]`` with a redis-server on
``PORT`` (``make bench`` starts its own; any private server will do). Enqueues ``COUNT``
no-op tasks (results on), then runs them one by one through the consumer worker's loop
body (:class:`huey.consumer.Worker`'s ``take_next``) under cProfile, and prints the top
entries by own time and by cumulative time.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
import uuid

from huey import RedisHuey
from huey.consumer import check_options
from huey.consumer._environment import PipeFlag, create_environment
from huey.consumer._worker import Worker


def main(argv: list[str]) -> None:
    """Enqueue, then profile the worker draining the queue."""
    port = int(argv[1])
    count = int(argv[2]) if len(argv) > 2 else 10_000
    huey = RedisHuey(f"profile-{uuid.uuid4().hex[:8]}", port=port)

    @huey.task()
    def noop() -> int:
        return 1

    for _ in range(count):
        noop()
    options = check_options(workers=1)
    worker = Worker(huey, options, create_environment("thread"), PipeFlag(), "profiled")
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _ in range(count):
        worker.take_next()
    profile.disable()
    wall = time.perf_counter() - started
    print(f"{count} tasks in {wall:.2f}s under cProfile: {count / wall:,.0f} tasks/s")
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(25)
    huey.flush()


if __name__ == "__main__":
    main(sys.argv)
