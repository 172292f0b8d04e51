"""PostgresStorage passes the storage contract of ``huey.testing.check_storage``."""

from __future__ import annotations

import pytest

from huey.testing import SETTLE_CHECKS, STORAGE_CHECKS, check_storage

from .conftest import StorageFactory

pytestmark = pytest.mark.postgres


def test_check_storage_passes_every_check(make_storage: StorageFactory) -> None:
    ran = check_storage(lambda: make_storage(blocking=False))
    assert tuple(ran) == (*STORAGE_CHECKS, *SETTLE_CHECKS)
