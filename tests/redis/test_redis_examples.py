"""The Redis examples of the API contract (huey-api.rst), run against a real server.

Adaptations, and only these: ``url=`` naming the test server and a queue name unique
to the test run (the examples connect to ``localhost:6379``, which the tests must never
touch); type annotations; a worker thread calling the consumer's task flow instead of a
``huey_consumer`` process; placeholder calls record that they ran.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import pytest

from huey import Huey, PriorityRedisExpireHuey, RedisExpireHuey, RedisHuey, crontab
from huey._delivery import process_next
from huey.api import Result, Task
from huey.storage import MemoryStorage
from huey.storage.redis import RedisStorage

from .conftest import dispose

pytestmark = pytest.mark.redis


class Consumer:
    """A worker thread running every task of ``huey`` until stopped."""

    def __init__(self, huey: Huey[Any]) -> None:
        self.huey = huey
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stopped.is_set():
            process_next(self.huey)

    def __enter__(self) -> Consumer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(10)


@pytest.fixture
def app_name() -> str:
    """A queue name unique to this test (the examples' names plus a suffix)."""
    return f"my-app-{time.monotonic_ns()}"


def test_demo_module(redis_url: str, app_name: str) -> None:
    """demo.py: the "huey" way with a consumer, then immediate mode."""
    # demo.py
    huey = RedisHuey(app_name, url=redis_url, read_timeout=0.05)
    reports: list[str] = []

    def generate_nightly_report() -> None:
        reports.append("report")

    @huey.task()
    def add_numbers(a: int, b: int) -> int:
        return a + b

    @huey.periodic_task(crontab(minute="0", hour="2"))
    def nightly_report() -> None:
        generate_nightly_report()

    with Consumer(huey):
        res = add_numbers(1, 2)
        assert res(blocking=True, timeout=10) == 3  # Blocks until result is available.

    huey.immediate = True  # Tasks executed immediately.
    res = add_numbers(2, 3)
    assert res() == 5
    assert [task.name for task in huey.read_periodic(datetime(2026, 1, 1, 2, 0))] == [
        nightly_report.name
    ]
    huey.immediate = False
    dispose(huey)


def test_immediate_mode_switches_storage(redis_url: str, app_name: str) -> None:
    """Immediate mode uses in-memory storage; turning it off goes back to Redis."""
    huey = RedisHuey(app_name, url=redis_url)

    # Enable immediate mode. Tasks now executed synchronously.
    # Additionally, huey will now use in-memory storage.
    huey.immediate = True
    assert isinstance(huey.storage, MemoryStorage)

    # Disable immediate mode. Tasks will now be enqueued in a Redis
    # queue.
    huey.immediate = False
    assert isinstance(huey.get_storage(), RedisStorage)
    dispose(huey)

    huey = RedisHuey(app_name, url=redis_url, immediate=True)
    assert huey.immediate
    assert isinstance(huey.storage, MemoryStorage)
    huey.immediate = False
    dispose(huey)


def test_task_example(redis_url: str, app_name: str) -> None:
    """huey.task(): a Result handle, read once a consumer ran the task."""
    huey = RedisHuey(app_name, url=redis_url, read_timeout=0.05)

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    res = add(1, 2)
    assert repr(res) == f"<Result: task {res.id}>"
    with Consumer(huey):
        assert res(blocking=True, timeout=10) == 3
    dispose(huey)


def test_context_task_example(redis_url: str, app_name: str) -> None:
    """context=True: the task receives its own Task instance."""
    huey = RedisHuey(app_name, url=redis_url, read_timeout=0.05)
    printed: list[str] = []

    @huey.task(context=True)  # Include task as an argument.
    def print_a_task_id(message: str, task: Task[None] | None = None) -> None:
        assert task is not None
        printed.append(f"{message}: {task.id}")

    first = print_a_task_id("hello")
    second = print_a_task_id("goodbye")
    with Consumer(huey):
        deadline = time.monotonic() + 10
        while len(printed) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert printed == [f"hello: {first.id}", f"goodbye: {second.id}"]
    dispose(huey)


def test_periodic_task_example(redis_url: str, app_name: str) -> None:
    """periodic_task(crontab(minute='0', hour='*/3')): every three hours, on the hour."""
    huey = RedisHuey(app_name, url=redis_url)
    fetched: list[str] = []
    my_list_of_feeds = ["a", "b"]

    def fetch_feed_data(feed: str) -> None:
        fetched.append(feed)

    @huey.periodic_task(crontab(minute="0", hour="*/3"))
    def update_feeds() -> None:
        for feed in my_list_of_feeds:
            fetch_feed_data(feed)

    assert huey.read_periodic(datetime(2026, 1, 1, 3, 0))
    assert not huey.read_periodic(datetime(2026, 1, 1, 4, 0))
    update_feeds.call_local()
    assert fetched == ["a", "b"]
    dispose(huey)


def test_expire_huey_variants(redis_url: str, app_name: str) -> None:
    """RedisExpireHuey and PriorityRedisExpireHuey take expire_time and run tasks."""
    for cls in (RedisExpireHuey, PriorityRedisExpireHuey):
        huey = cls(app_name, url=redis_url, expire_time=3600, read_timeout=0.05)

        @huey.task()
        def double(x: int) -> int:
            return x * 2

        result: Result[int] = double(21)
        with Consumer(huey):
            assert result.get(blocking=True, timeout=10) == 42
        assert result.get(blocking=True, timeout=10) == 42
        dispose(huey)
