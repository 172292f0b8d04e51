"""SqliteHuey and FileHuey: results-mode typing and the storage parameters they accept."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, assert_type

from huey import FileHuey, Result, SqliteHuey


def test_sqlite_huey_results_modes_are_typed(tmp_path: Path) -> None:
    """SqliteHuey's results mode decides what task calls return, statically too."""
    storing = SqliteHuey("a", filename=tmp_path / "a.db")
    quiet = SqliteHuey("b", results=False, filename=tmp_path / "a.db", cache_mb=2)
    assert_type(storing, SqliteHuey[Literal[True]])
    assert_type(quiet, SqliteHuey[Literal[False]])

    @storing.task()
    def one() -> int:
        return 1

    @quiet.task()
    def two() -> int:
        return 2

    assert isinstance(assert_type(one(), Result[int]), Result)
    assert assert_type(two(), None) is None


def test_file_huey_results_modes_are_typed(tmp_path: Path) -> None:
    """FileHuey's results mode decides what task calls return, statically too."""
    storing = FileHuey("a", path=tmp_path / "a", use_thread_lock=True)
    quiet = FileHuey("b", results=False, path=tmp_path / "b", levels=0)
    assert_type(storing, FileHuey[Literal[True]])
    assert_type(quiet, FileHuey[Literal[False]])

    @quiet.task()
    def three() -> int:
        return 3

    assert assert_type(three(), None) is None
    assert quiet.pending_count() == 1
