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

from typing import TYPE_CHECKING

from ._api import Huey as Huey
from ._crontab import crontab as crontab
from ._group import chord as chord
from ._group import group as group
from ._hueys import BlackHoleHuey as BlackHoleHuey
from ._hueys import FileHuey as FileHuey
from ._hueys import MemoryHuey as MemoryHuey
from ._hueys import SqliteHuey as SqliteHuey
from ._lazy import load_redis_name
from ._result import Result as Result
from ._result import ResultGroup as ResultGroup
from ._task import Task as Task
from ._version import __version__ as __version__
from ._wrapper import TaskWrapper as TaskWrapper
from .exceptions import CancelExecution as CancelExecution
from .exceptions import RetryTask as RetryTask
from .utils import SKIPPED as SKIPPED
from .utils import Error as Error

if TYPE_CHECKING:
    from ._postgres_huey import PostgresHuey as PostgresHuey
    from ._postgres_huey import PostgresHueyOptions as PostgresHueyOptions
    from ._redis_huey import PriorityRedisExpireHuey as PriorityRedisExpireHuey
    from ._redis_huey import PriorityRedisHuey as PriorityRedisHuey
    from ._redis_huey import RedisExpireHuey as RedisExpireHuey
    from ._redis_huey import RedisExpireHueyOptions as RedisExpireHueyOptions
    from ._redis_huey import RedisHuey as RedisHuey
    from ._redis_huey import RedisHueyOptions as RedisHueyOptions


# The Redis names are loaded on first use, so that ``import huey`` does not need redis-py.
def __getattr__(name: str) -> object:
    value = load_redis_name("huey", name)
    globals()[name] = value
    return value


__all__ = (
    "BlackHoleHuey",
    "CancelExecution",
    "Error",
    "Huey",
    "FileHuey",
    "MemoryHuey",
    "SqliteHuey",
    "Result",
    "ResultGroup",
    "RetryTask",
    "SKIPPED",
    "Task",
    "TaskWrapper",
    "__version__",
    "chord",
    "crontab",
    "group",
)
