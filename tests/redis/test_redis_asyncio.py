"""asyncio on Redis: async tasks through the leased delivery flow, results awaited.

The worker side is the consumer's own task flow (``process_next``: lease, run, settle
with the Redis scripts) on a thread, as in test_redis_examples.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from huey import Huey, PriorityRedisHuey, RedisHuey
from huey._delivery import process_next
from huey.contrib.asyncio import aget_result, aget_result_group
from huey.exceptions import TaskException

from .conftest import dispose

pytestmark = pytest.mark.redis


class Worker:
    """A thread running every task of ``huey`` through the delivery flow until stopped."""

    def __init__(self, huey: Huey[Any]) -> None:
        self.huey = huey
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            while not self.stopped.is_set():
                process_next(self.huey)
        finally:
            self.huey.engine.runner.close_loop()

    def __enter__(self) -> Worker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(10)


@pytest.mark.parametrize("cls", [RedisHuey, PriorityRedisHuey])
def test_async_tasks_through_the_delivery_flow(redis_url: str, cls: type[RedisHuey]) -> None:
    """Async tasks run, retry and fail for good through the Redis scripts."""
    huey = cls(f"async-{time.monotonic_ns()}", url=redis_url, read_timeout=0.05)
    attempts: list[int] = []

    @huey.task()
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0.001)
        return a + b

    @huey.task(retries=1)
    async def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first attempt")
        return "retried"

    @huey.task()
    async def broken() -> None:
        raise ValueError("broken for good")

    try:
        with Worker(huey):
            assert add(1, 2).get(blocking=True, timeout=10) == 3
            assert flaky().get(blocking=True, timeout=10) == "retried"
            with pytest.raises(TaskException, match="broken for good"):
                broken().get(blocking=True, timeout=10)
        assert huey.pending_count() == 0
    finally:
        dispose(huey)


def test_aget_result_on_redis(redis_url: str) -> None:
    """Results stored by the Redis settle are awaited; a failure cancels the group."""
    huey = RedisHuey(f"aget-{time.monotonic_ns()}", url=redis_url, read_timeout=0.05)

    @huey.task()
    async def square(x: int) -> int:
        await asyncio.sleep(0.01)
        return x * x

    @huey.task()
    def fails() -> int:
        raise ValueError("no")

    async def main() -> tuple[int, list[int]]:
        one = await aget_result(square(7), timeout=10)
        many = await aget_result_group(square.map(range(4)), timeout=10)
        with pytest.raises(TaskException, match="no"):
            await aget_result_group(huey.enqueue(fails.s().then(square)), timeout=10)
        return one, many

    try:
        with Worker(huey):
            assert asyncio.run(main()) == (49, [0, 1, 4, 9])
    finally:
        dispose(huey)
