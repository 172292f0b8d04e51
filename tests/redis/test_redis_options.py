"""The original huey's options and hooks on Redis, through the consumer's leased flow and
the storage's scripts (keyed enqueue, atomic settle): the checks shared with the other
storages (``tests/storage/options_checks.py``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from typing_extensions import override

from huey import Huey, RedisExpireHuey, RedisHuey, Task
from huey import _delivery as delivery

from ..storage import options_checks as checks
from .conftest import dispose

pytestmark = pytest.mark.redis


class TaggingRedisHuey(RedisHuey):
    """Adds the worker's name to every stored error."""

    @override
    def build_error_result(self, task: Task[Any], exception: BaseException) -> dict[str, object]:
        metadata = super().build_error_result(task, exception)
        metadata["worker"] = "w1"
        return metadata


@pytest.fixture
def name() -> str:
    """A queue name unique to this test."""
    return f"options-{time.monotonic_ns()}"


@pytest.fixture
def huey(redis_url: str, name: str) -> Iterator[RedisHuey[Literal[True]]]:
    """A RedisHuey on the test server; its keys are deleted afterwards."""
    instance = RedisHuey(name, url=redis_url, read_timeout=0.05)
    yield instance
    dispose(instance)


def run_all(huey: Huey[Any]) -> None:
    """Deliver and run every queued task (and the tasks those runs enqueue)."""
    while delivery.process_next(huey).status != "empty":
        pass


def run_one(huey: Huey[Any]) -> None:
    """Deliver and run the next queued task."""
    assert delivery.process_next(huey).status == "completed"


def test_intermediate_errors_stored(huey: RedisHuey[Literal[True]]) -> None:
    """By default each retried attempt's error is stored, through the atomic settle."""
    checks.check_intermediate_errors(huey, stored=True, run=run_one)


@pytest.mark.parametrize("expiring", [False, True])
def test_intermediate_errors_withheld(redis_url: str, name: str, expiring: bool) -> None:
    """``store_intermediate_errors=False``, on both key layouts: only the final error."""
    cls = RedisExpireHuey if expiring else RedisHuey
    huey = cls(name, url=redis_url, read_timeout=0.05, store_intermediate_errors=False)
    try:
        checks.check_intermediate_errors(huey, stored=False, run=run_one)
    finally:
        dispose(huey)


def test_get_raw_result(huey: RedisHuey[Literal[True]]) -> None:
    """The value, or the error as ``huey.utils.Error``."""
    checks.check_get_raw_result(huey, run=run_all)


@pytest.mark.parametrize("preserve", [True, False])
def test_reschedule_pipeline(huey: RedisHuey[Literal[True]], preserve: bool) -> None:
    """The copy keeps (or drops) the later stages and the error handler."""
    checks.check_reschedule_pipeline(huey, preserve=preserve, run=run_all)


def test_build_error_result_override(redis_url: str, name: str) -> None:
    """A field added by the override is stored through the settle script and read back."""
    huey = TaggingRedisHuey(name, url=redis_url, read_timeout=0.05)
    try:
        checks.check_error_builder_field(huey, run=run_all)
    finally:
        dispose(huey)


def test_is_revoked_peek(huey: RedisHuey[Literal[True]]) -> None:
    """``peek=False`` uses up a once-revocation stored in Redis."""
    checks.check_is_revoked_peek(huey)


def test_reraised_task_exception(huey: RedisHuey[Literal[True]]) -> None:
    """A re-raised sub-task error stores the sub-task's error text."""
    checks.check_reraised_task_exception(huey, run=run_all)
