"""Fixtures of the reliability battery: the storage target of each scenario."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.redis.conftest import RedisServer, private_redis

__all__ = ("Target", "private_redis", "target")


@dataclass(frozen=True, slots=True)
class Target:
    """Where a scenario's queue lives.

    Attributes:
        kind: ``"sqlite"`` or ``"redis"``.
        location: the SQLite file, or the Redis URL.
        server: the private redis-server (AOF, ``appendfsync always``), which the
            scenario may kill and restart.
    """

    kind: str
    location: str
    server: RedisServer | None = None


@pytest.fixture(params=["sqlite", "redis"])
def target(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    private_redis: Callable[..., RedisServer],  # the fixture imported above
) -> Target:
    """The scenario's storage: a SQLite file, or a private redis-server of its own."""
    if request.param == "sqlite":
        return Target("sqlite", str(tmp_path / "battery.db"))
    server = private_redis()
    return Target("redis", server.url, server)
