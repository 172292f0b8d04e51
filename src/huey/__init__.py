"""huey: a strictly typed task queue, compatible with the original huey's documented API.

Quick start::

    from huey import SqliteHuey

    huey = SqliteHuey("my-app")

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(1, 2)              # Result[int]
    result.get(blocking=True)       # int, once a consumer ran it
"""

from __future__ import annotations

from ._api import BlackHoleHuey as BlackHoleHuey
from ._api import Huey as Huey
from ._api import MemoryHuey as MemoryHuey
from ._crontab import crontab as crontab
from ._result import Result as Result
from ._result import ResultGroup as ResultGroup
from ._task import Task as Task
from ._task import TaskWrapper as TaskWrapper
from ._version import __version__ as __version__
from .exceptions import CancelExecution as CancelExecution
from .exceptions import RetryTask as RetryTask

__all__ = (
    "BlackHoleHuey",
    "CancelExecution",
    "Huey",
    "MemoryHuey",
    "Result",
    "ResultGroup",
    "RetryTask",
    "Task",
    "TaskWrapper",
    "__version__",
    "crontab",
)
