"""The original huey's ``huey.api`` module path, kept for applications that import it.

Every ``*Huey`` class is here, as in huey 3.x. The four Redis ones (``RedisHuey``,
``PriorityRedisHuey``, ``RedisExpireHuey``, ``PriorityRedisExpireHuey``) and their
options are loaded on first use, so that ``import huey.api`` does not need redis-py:
``from huey.api import RedisHuey`` works where redis-py is installed, and raises
``ImportError`` with the install command where it is not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._api import Huey as Huey
from ._api import HueyOptions as HueyOptions
from ._crontab import Crontab as Crontab
from ._crontab import CrontabFactory as CrontabFactory
from ._crontab import crontab as crontab
from ._group import ChordResult as ChordResult
from ._group import chord as chord
from ._group import group as group
from ._hueys import BlackHoleHuey as BlackHoleHuey
from ._hueys import FileHuey as FileHuey
from ._hueys import FileOptions as FileOptions
from ._hueys import MemoryHuey as MemoryHuey
from ._hueys import SqliteHuey as SqliteHuey
from ._hueys import SqliteOptions as SqliteOptions
from ._lazy import load_redis_name
from ._lock import TaskLock as TaskLock
from ._ratelimit import RateLimit as RateLimit
from ._result import Result as Result
from ._result import ResultGroup as ResultGroup
from ._task import Pipeline as Pipeline
from ._task import Task as Task
from ._task import TaskOptions as TaskOptions
from ._wrapper import ConfiguredTask as ConfiguredTask
from ._wrapper import PeriodicTaskWrapper as PeriodicTaskWrapper
from ._wrapper import TaskWrapper as TaskWrapper

if TYPE_CHECKING:
    from ._postgres_huey import PostgresHuey as PostgresHuey
    from ._postgres_huey import PostgresHueyOptions as PostgresHueyOptions
    from ._redis_huey import PriorityRedisExpireHuey as PriorityRedisExpireHuey
    from ._redis_huey import PriorityRedisHuey as PriorityRedisHuey
    from ._redis_huey import RedisExpireHuey as RedisExpireHuey
    from ._redis_huey import RedisExpireHueyOptions as RedisExpireHueyOptions
    from ._redis_huey import RedisHuey as RedisHuey
    from ._redis_huey import RedisHueyOptions as RedisHueyOptions


# The Redis names are loaded on first use, so that ``import huey.api`` does not need
# redis-py. Not in ``__all__``, as in ``huey``: ``from huey.api import *`` must not need it.
def __getattr__(name: str) -> object:
    value = load_redis_name("huey.api", name)
    globals()[name] = value
    return value


__all__ = (
    "BlackHoleHuey",
    "ChordResult",
    "ConfiguredTask",
    "Crontab",
    "CrontabFactory",
    "Huey",
    "HueyOptions",
    "FileHuey",
    "FileOptions",
    "MemoryHuey",
    "SqliteHuey",
    "SqliteOptions",
    "PeriodicTaskWrapper",
    "Pipeline",
    "RateLimit",
    "Result",
    "ResultGroup",
    "Task",
    "TaskLock",
    "TaskOptions",
    "TaskWrapper",
    "chord",
    "crontab",
    "group",
)
