"""The ``huey`` operations commands on a Redis queue served by a real consumer."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.harness import OpsApp, make_app, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def redis_app(tmp_path: Path, redis_url: str) -> Iterator[OpsApp]:
    """``opsapp`` on a queue of its own on the tests' Redis server."""
    yield from make_app(tmp_path, {"HUEY_OPS_REDIS_URL": redis_url})


def test_info_sees_the_task_in_flight_and_dead_letters_are_repaired(
    redis_app: OpsApp, tmp_path: Path
) -> None:
    huey = redis_app.huey
    consumer = redis_app.start_consumer("-w", "1", "-m", "0.2")
    release = tmp_path / "release"
    running = redis_app.module.wait_for_file(str(release))

    def info() -> dict[str, object]:
        done = redis_app.command("info", "opsapp.huey", "--json")
        assert done.returncode == 0, done.stderr
        document: dict[str, object] = json.loads(done.stdout)
        return document

    wait_for(lambda: info()["in_flight"] == 1, "the task to be leased")
    snapshot = info()
    assert snapshot["storage"] == "RedisStorage"
    assert snapshot["queued"] == 0
    release.touch()
    assert running.get(blocking=True, timeout=30) == str(release)
    assert info()["in_flight"] == 0

    huey.storage.enqueue(b"garbage")
    wait_for(lambda: len(huey.dead_letters()) == 1, "the dead letter")
    listed = redis_app.command("dead-letters", "opsapp.huey")
    assert listed.returncode == 0
    letter_id = huey.dead_letters()[0].id
    assert letter_id in listed.stdout
    requeued = redis_app.command("requeue", "opsapp.huey", letter_id, "--yes")
    assert (requeued.returncode, requeued.stdout) == (0, "requeued 1 dead letter(s)\n")
    # Still undecodable: the worker dead-letters it again.
    wait_for(lambda: [dl.data for dl in huey.dead_letters()] == [b"garbage"], "the return")
    purged = redis_app.command("purge", "opsapp.huey", "--yes")
    assert (purged.returncode, purged.stdout) == (0, "deleted 1 dead letter(s)\n")
    assert huey.dead_letters() == []

    consumer.send_signal(signal.SIGINT)
    consumer.communicate(timeout=30)
