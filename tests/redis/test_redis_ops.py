"""The ``huey`` operations commands on a Redis queue: in-process, and against a queue
served by a real consumer."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from huey._delivery import process_next
from huey.protocols import SupportsLeases
from tests.ops.harness import OpsApp, make_app, wait_for
from tests.ops.test_cli import as_json, run

pytestmark = [pytest.mark.redis]


@pytest.fixture
def redis_app(tmp_path: Path, redis_url: str) -> Iterator[OpsApp]:
    """``opsapp`` on a queue of its own on the tests' Redis server."""
    yield from make_app(tmp_path, {"HUEY_OPS_REDIS_URL": redis_url})


def test_info_counts_leases_and_purge_deletes_by_id(redis_app: OpsApp) -> None:
    huey = redis_app.huey
    storage = huey.storage
    assert isinstance(storage, SupportsLeases)
    for n in range(3):
        redis_app.module.add(n, n)
    now = time.time()
    assert storage.reserve(now, 3600.0) is not None
    assert storage.reserve(now - 7200.0, 30.0) is not None  # its worker died long ago
    info = as_json("info", "opsapp.huey")
    assert (info["queued"], info["in_flight"], info["expired_leases"]) == (1, 1, 1)
    assert "leases        1 in flight, 1 expired" in run("info", "opsapp.huey")[1]
    huey.flush()

    for data in (b"one", b"two", b"three"):
        storage.enqueue(data)
        process_next(huey)  # undecodable: dead-lettered
    first, second, third = (letter.id for letter in huey.dead_letters())
    assert run("purge", "opsapp.huey", second, "--yes") == (0, "deleted 1 dead letter(s)\n")
    assert [letter.id for letter in huey.dead_letters()] == [first, third]
    status, text = run("purge", "opsapp.huey", second, first, "--yes")
    assert (status, text.splitlines()) == (
        1,
        ["deleted 1 dead letter(s)", f"no dead letter {second!r}"],
    )
    assert [letter.data for letter in huey.dead_letters()] == [b"three"]
    assert huey.pending_count() == 0


@pytest.mark.integration
@pytest.mark.slow
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
    assert (snapshot["queued"], snapshot["expired_leases"]) == (0, 0)
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
    letter_id = huey.dead_letters()[0].id
    purged = redis_app.command("purge", "opsapp.huey", letter_id, "--yes")
    assert (purged.returncode, purged.stdout) == (0, "deleted 1 dead letter(s)\n")
    assert huey.dead_letters() == []

    consumer.send_signal(signal.SIGINT)
    consumer.communicate(timeout=30)
