"""Groups and chords on the four Redis storages, through their scripts.

The scenarios are those of ``tests/chord_scenarios.py`` (run on the other storages by
``tests/test_chords.py``): member order, errors and skips, empty chords, members
delivered twice, a worker dying between claiming the callback and enqueueing it,
pipelines and chords as members, ``group.error()``, the clean-up.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from huey import Huey
from huey.storage.redis import RedisStorage
from huey.testing import MockClock

from ..chord_scenarios import SCENARIOS, App
from .conftest import ALL_STORAGES, StorageFactory

pytestmark = pytest.mark.redis


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
@pytest.mark.parametrize("storage_class", ALL_STORAGES, ids=lambda cls: cls.__name__)
def test_scenario(
    make_storage: StorageFactory,
    storage_class: type[RedisStorage],
    scenario: Callable[[App], None],
) -> None:
    """Each behaviour of groups and chords, on each Redis storage."""
    clock = MockClock()
    storage = make_storage(storage_class, blocking=False)
    scenario(App(Huey(storage.name, storage=storage, clock=clock), clock))
