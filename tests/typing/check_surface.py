"""Typing contract of the 3.x compatibility surface: ``huey.api``'s Redis classes,
keyword-only ``crontab`` and its shortcuts, ``ConsumerConfig`` and ``huey.utils``.

Lines that must be rejected carry both checkers' suppressions; the ``rejected_*``
functions are never called.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, assert_type

from huey import api
from huey.api import Crontab, PriorityRedisHuey, RedisHuey, crontab
from huey.consumer import ConsumerKwargs
from huey.consumer_options import ConsumerConfig
from huey.utils import encode, load_class, normalize_time


def check_api_redis_classes() -> None:
    """The lazily loaded Redis classes are fully typed through ``huey.api``."""
    assert_type(RedisHuey("surface", url="redis://localhost:1/0"), RedisHuey[Literal[True]])
    assert_type(
        PriorityRedisHuey("surface", results=False, port=1), PriorityRedisHuey[Literal[False]]
    )
    assert issubclass(api.RedisExpireHuey, api.Huey)


def check_crontab_shortcuts() -> None:
    """``crontab`` and its shortcuts return a ``Crontab``, a ``validate_datetime``."""
    assert_type(crontab(minute="*/5", strict=True), Crontab)
    assert_type(crontab.hourly(), Crontab)
    assert_type(crontab.daily(hour=2), Crontab)
    assert_type(crontab.weekly(), Crontab)
    assert_type(crontab.monthly(day="15"), Crontab)
    assert_type(crontab.yearly(), Crontab)
    assert crontab.daily(hour=2)(datetime(2026, 1, 1, 2, 0))


def check_consumer_config() -> None:
    """``ConsumerConfig`` takes the consumer's typed options; ``values`` feeds the consumer."""
    config = ConsumerConfig(workers=2, worker_type="thread", verbose=None, logfile=None)
    assert_type(config.values, ConsumerKwargs)
    assert_type(config.workers, int)
    assert_type(config.loglevel, int)


def check_utils() -> None:
    """The ``huey.utils`` helpers keep their types."""
    assert_type(normalize_time(delay=timedelta(seconds=1)), datetime)
    assert_type(encode("x"), bytes)
    assert_type(encode(None), None)
    assert_type(load_class("huey.api.MemoryHuey"), object)


def rejected_positional_crontab() -> None:
    """Crontab fields are keyword-only (never called)."""
    crontab("*/5")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    crontab.daily("0")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def rejected_consumer_config() -> None:
    """A misspelled or mistyped option is a type error (never called)."""
    ConsumerConfig(wrokers=2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]
    ConsumerConfig(verbose="yes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
