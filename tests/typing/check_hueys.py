"""Typing contract of the ``*Huey`` constructors: one options ``TypedDict`` per storage.

Each class has three ``__init__`` overloads over its options ``TypedDict``: the results
mode follows ``results=``, and a misspelled or mistyped option is an error in both
checkers. Lines that must be rejected carry both checkers' suppressions; the
``rejected_*`` functions are never called.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal, assert_type

from huey import FileHuey, PriorityRedisExpireHuey, RedisHuey, SqliteHuey


def check_results_mode_per_class() -> None:
    """The results mode is part of each class's type (no server or file is touched)."""
    with tempfile.TemporaryDirectory(prefix="huey-typing-") as name:
        folder = Path(name)
        assert_type(SqliteHuey("a", filename=folder / "a.db"), SqliteHuey[Literal[True]])
        quiet = SqliteHuey("b", results=False, filename=folder / "b.db", fsync=True)
        assert_type(quiet, SqliteHuey[Literal[False]])
        assert_type(FileHuey("c", path=folder / "c"), FileHuey[Literal[True]])
        assert_type(FileHuey("d", results=False, path=folder / "d"), FileHuey[Literal[False]])
    assert_type(RedisHuey("e", url="redis://localhost:1/0"), RedisHuey[Literal[True]])
    expiring = PriorityRedisExpireHuey("f", results=False, expire_time=60, port=1)
    assert_type(expiring, PriorityRedisExpireHuey[Literal[False]])
    clustered = RedisHuey("g", url="redis://localhost:1", cluster=True)
    assert_type(clustered, RedisHuey[Literal[True]])


def rejected_options() -> None:
    """Misspelled, mistyped and missing options (never called)."""
    SqliteHuey("a", filname="x.db")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    SqliteHuey("b", fsync="yes")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
    SqliteHuey("c", reslts=False)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    FileHuey("d")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    RedisHuey("e", expire_time=60)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    RedisHuey("f", prot=6379)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    RedisHuey("g", cluster="yes")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
