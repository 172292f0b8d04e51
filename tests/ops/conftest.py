"""Fixtures of the operations tests (see :mod:`tests.ops.harness`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import OpsApp, make_app


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[OpsApp]:
    """``opsapp`` on a SQLite file of its own."""
    yield from make_app(tmp_path, {})
