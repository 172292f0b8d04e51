"""A real consumer (``python -m huey``, process workers) on SQLite, inspected from outside.

The consumer serves its metrics (scraped over HTTP: the process workers' counts reach
the parent's endpoint) and logs JSON lines; the ``huey`` commands run as subprocesses
against the same queue while it runs.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from .harness import OpsApp, free_port, wait_for
from .test_prometheus import scrape

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_running_consumer_seen_through_metrics_commands_and_logs(
    sqlite_app: OpsApp, tmp_path: Path
) -> None:
    app = sqlite_app.module
    huey = sqlite_app.huey
    port = free_port()
    consumer = sqlite_app.start_consumer(
        "-w", "2", "-k", "process", "--metrics-port", str(port), "--metrics-address",
        "127.0.0.1", "--json-logs", "-m", "0.2",
    )  # fmt: skip
    results = [app.add(i, i) for i in range(4)]
    failed = app.fail()
    later = app.add.schedule((0, 0), delay=3600)
    huey.storage.enqueue(b"garbage")  # a worker dead-letters it
    wait_for(
        lambda: [huey.result(r.id, preserve=True) for r in results] == [0, 2, 4, 6],
        "the additions",
    )
    wait_for(lambda: len(huey.dead_letters()) == 1, "the dead letter")

    def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return scrape(port)

    add = (("queue", huey.name), ("task", "opsapp.add"))
    fail = (("queue", huey.name), ("task", "opsapp.fail"))
    queue = (("queue", huey.name),)
    wait_for(
        lambda: samples().get(("huey_tasks_failed_total", fail)) == 1,
        "the failure to reach the parent's endpoint",
    )
    scraped = samples()
    assert scraped[("huey_tasks_started_total", add)] == 4
    assert scraped[("huey_tasks_succeeded_total", add)] == 4
    assert scraped[("huey_task_run_seconds_count", add)] == 4
    assert scraped[("huey_task_queue_wait_seconds_count", add)] == 4
    assert scraped[("huey_schedule_size", queue)] == 1
    assert scraped[("huey_dead_letters", queue)] == 1
    del failed

    info = json.loads(sqlite_app.command("info", "opsapp.huey", "--json").stdout)
    assert (info["queued"], info["scheduled"], info["dead_letters"]) == (0, 1, 1)
    (scheduled,) = json.loads(sqlite_app.command("scheduled", "opsapp.huey", "--json").stdout)
    assert scheduled["id"] == later.id
    (letter,) = json.loads(sqlite_app.command("dead-letters", "opsapp.huey", "--json").stdout)
    assert letter["task"] is None

    declined = sqlite_app.command("purge", "opsapp.huey", "--all", stdin="n\n")
    assert declined.returncode == 1
    assert "not confirmed" in declined.stderr
    purged = sqlite_app.command("purge", "opsapp.huey", letter["id"], stdin="y\n")
    assert (purged.returncode, purged.stdout) == (0, "deleted 1 dead letter(s)\n")

    assert sqlite_app.command("revoke", "opsapp.huey", "--task", "opsapp.add").returncode == 0
    app.add(9, 9)
    wait_for(
        lambda: samples().get(("huey_tasks_revoked_total", add)) == 1, "the revoked task dropped"
    )
    assert sqlite_app.command("restore", "opsapp.huey", "--task", "opsapp.add").returncode == 0
    assert sqlite_app.command("flush", "opsapp.huey", "--yes").returncode == 0
    assert huey.scheduled_count() == 0

    consumer.send_signal(signal.SIGINT)
    _, log = consumer.communicate(timeout=30)
    lines = [json.loads(line) for line in log.splitlines()]
    assert {"time", "level", "logger", "process", "thread", "message"} <= set(lines[0])
    assert any(line["message"].startswith("serving metrics on") for line in lines)
    errors = [line for line in lines if line["logger"] == "huey" and "exception" in line]
    assert any("ValueError: as asked" in line["exception"] for line in errors)
