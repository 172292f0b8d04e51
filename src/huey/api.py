"""The original huey's ``huey.api`` module path, kept for applications that import it."""

from __future__ import annotations

from ._api import Huey as Huey
from ._api import HueyOptions as HueyOptions
from ._crontab import crontab as crontab
from ._hueys import BlackHoleHuey as BlackHoleHuey
from ._hueys import FileHuey as FileHuey
from ._hueys import FileOptions as FileOptions
from ._hueys import MemoryHuey as MemoryHuey
from ._hueys import SqliteHuey as SqliteHuey
from ._hueys import SqliteOptions as SqliteOptions
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

__all__ = (
    "BlackHoleHuey",
    "ConfiguredTask",
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
    "crontab",
)
