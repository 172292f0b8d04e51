"""The original huey's options and hooks on each bundled storage, through the consumer's
leased flow: intermediate errors, raw results, rescheduling with or without the pipeline,
an overridden ``build_error_result``, ``is_revoked(peek=False)`` and a re-raised
sub-task error (the checks are in ``options_checks``; Redis runs them in
``tests/redis/test_redis_options.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from typing_extensions import override

from huey import Huey, Task
from huey import _delivery as delivery
from huey.protocols import Storage

from . import options_checks as checks


def run_all(huey: Huey[Any]) -> None:
    """Deliver and run every queued task (and the tasks those runs enqueue)."""
    while delivery.process_next(huey).status != "empty":
        pass


def run_one(huey: Huey[Any]) -> None:
    """Deliver and run the next queued task."""
    assert delivery.process_next(huey).status == "completed"


class TaggingHuey(Huey):
    """Adds the worker's name to every stored error."""

    @override
    def build_error_result(self, task: Task[Any], exception: BaseException) -> dict[str, object]:
        metadata = super().build_error_result(task, exception)
        metadata["worker"] = "w1"
        return metadata


@pytest.mark.parametrize("stored", [True, False])
def test_intermediate_errors(storage: Storage, stored: bool) -> None:
    """Stored for each retried attempt by default; only the final one with ``False``."""
    huey = Huey("q", storage=storage, store_intermediate_errors=stored)
    checks.check_intermediate_errors(huey, stored=stored, run=run_one)


def test_get_raw_result(storage: Storage) -> None:
    """The value, or the error as ``huey.utils.Error``."""
    checks.check_get_raw_result(Huey("q", storage=storage), run=run_all)


@pytest.mark.parametrize("preserve", [True, False])
def test_reschedule_pipeline(storage: Storage, preserve: bool) -> None:
    """The copy keeps (or drops) the later stages and the error handler."""
    checks.check_reschedule_pipeline(Huey("q", storage=storage), preserve=preserve, run=run_all)


def test_build_error_result_override(storage: Storage) -> None:
    """A field added by the override is stored and read back."""
    checks.check_error_builder_field(TaggingHuey("q", storage=storage), run=run_all)


def test_is_revoked_peek(storage: Storage) -> None:
    """``peek=False`` uses up a once-revocation in the storage."""
    checks.check_is_revoked_peek(Huey("q", storage=storage))


def test_reraised_task_exception(storage: Storage) -> None:
    """A re-raised sub-task error stores the sub-task's error text."""
    checks.check_reraised_task_exception(Huey("q", storage=storage), run=run_all)
