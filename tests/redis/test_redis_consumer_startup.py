"""``huey_consumer`` on Redis: fail fast on a bad connection, warn when nothing persists,
and share one queue between several consumers."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from huey import RedisHuey

from .conftest import RedisServer, dispose

pytestmark = [pytest.mark.redis, pytest.mark.integration]

MakeServer = Callable[..., RedisServer]

APP = """
import os
from huey import RedisHuey

huey = RedisHuey("startup", url=os.environ["HUEY_TEST_URL"])

@huey.task()
def ping() -> str:
    return "pong"
"""


def _consumer(tmp_path: Path, url: str, *flags: str) -> subprocess.Popen[str]:
    (tmp_path / "app.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "HUEY_TEST_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "huey", "app.huey", *flags],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_wrong_password_exits_2_with_one_line_naming_the_url(
    private_redis: MakeServer, tmp_path: Path
) -> None:
    """A refused password stops huey_consumer at startup: status 2, one line, no secret."""
    server = private_redis("--requirepass", "right-one")
    url = f"redis://:wrong-secret@127.0.0.1:{server.port}/0"
    process = _consumer(tmp_path, url)
    _, err = process.communicate(timeout=60)

    assert process.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"127.0.0.1:{server.port}" in lines[0]
    assert "wrong-secret" not in err
    assert "Traceback" not in err


def test_persistence_off_is_warned_at_startup(private_redis: MakeServer, tmp_path: Path) -> None:
    """With AOF and snapshots off, the consumer logs one warning naming the risk."""
    server = private_redis("--appendonly", "no", "--save", "")
    log = tmp_path / "consumer.log"
    process = _consumer(tmp_path, server.url, "-l", str(log))
    try:
        deadline = time.monotonic() + 30
        while "persist" not in (log.read_text() if log.exists() else ""):
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "no persistence warning was logged"
            time.sleep(0.05)
    finally:
        process.terminate()
        process.communicate(timeout=30)
    warnings = [line for line in log.read_text().splitlines() if "WARNING" in line]
    assert len([line for line in warnings if "persist" in line]) == 1


COUNTING_APP = """
import os
import pathlib
import time

from huey import RedisHuey

huey = RedisHuey(os.environ["HUEY_TEST_NAME"], url=os.environ["HUEY_TEST_URL"], read_timeout=0.1)
MARKS = pathlib.Path(os.environ["HUEY_TEST_MARKS"])


@huey.task(name="app.count")
def count(index: int) -> int:
    # One file per execution: a task run twice leaves two files.
    (MARKS / f"{index}.{os.getpid()}.{os.urandom(4).hex()}").touch()
    time.sleep(0.002)  # long enough for both consumers to share the work
    return index
"""


def test_two_consumers_over_one_redis_run_every_task_once(redis_url: str, tmp_path: Path) -> None:
    """Two real huey_consumer processes share one Redis queue: every task runs once."""
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "app.py").write_text(COUNTING_APP)
    name = f"two-consumers-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "HUEY_TEST_NAME": name,
        "HUEY_TEST_URL": redis_url,
        "HUEY_TEST_MARKS": str(marks),
    }
    logs = [tmp_path / f"consumer-{number}.log" for number in range(2)]
    consumers = [
        subprocess.Popen(
            [sys.executable, "-m", "huey", "app.huey", "-w", "2", "-l", str(log)],
            env=env,
            cwd=tmp_path,
            stderr=subprocess.DEVNULL,
        )
        for log in logs
    ]
    deadline = time.monotonic() + 30
    while not all(log.exists() and "huey consumer" in log.read_text() for log in logs):
        assert time.monotonic() < deadline, "the consumers did not start"
        time.sleep(0.05)
    producer = RedisHuey(name, url=redis_url)

    @producer.task(name="app.count")
    def count(index: int) -> int:
        raise AssertionError("runs in the consumers only")

    try:
        results = [count(index) for index in range(300)]
        values = [result.get(blocking=True, timeout=60) for result in results]
    finally:
        for consumer in consumers:
            consumer.terminate()
            consumer.wait(30)
        dispose(producer)

    assert values == list(range(300))
    runs = collections.Counter(path.name.split(".")[0] for path in marks.iterdir())
    assert set(runs) == {str(index) for index in range(300)}
    assert max(runs.values()) == 1
    pids = {path.name.split(".")[1] for path in marks.iterdir()}
    assert len(pids) == 2, "both consumers should have taken tasks"


def test_consumer_rides_out_a_redis_restart(private_redis: MakeServer, tmp_path: Path) -> None:
    """Redis SIGKILLed and restarted (AOF on) under a running consumer: the consumer logs
    the outage once per loop, backs off, reconnects, and every enqueued task completes."""
    server = private_redis()
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "app.py").write_text(COUNTING_APP)
    name = f"restart-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "HUEY_TEST_NAME": name,
        "HUEY_TEST_URL": server.url,
        "HUEY_TEST_MARKS": str(marks),
    }
    log = tmp_path / "consumer.log"
    consumer = subprocess.Popen(
        [sys.executable, "-m", "huey", "app.huey", "-w", "2", "-m", "0.5", "-l", str(log)],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.DEVNULL,
    )
    producer = RedisHuey(name, url=server.url)

    @producer.task(name="app.count")
    def count(index: int) -> int:
        raise AssertionError("runs in the consumers only")

    try:
        before = [count(index) for index in range(50)]
        assert [result.get(blocking=True, timeout=30) for result in before] == list(range(50))
        server.kill()  # a crash; the outage has to last for the workers to notice it
        time.sleep(6.0)  # longer than redis-py's own retries (about 4 s)
        server.start()  # same port, same AOF file
        after = [count(index) for index in range(50, 100)]
        assert [result.get(blocking=True, timeout=30) for result in after] == list(range(50, 100))
        assert consumer.poll() is None, "the consumer must survive the outage"
    finally:
        consumer.send_signal(signal.SIGINT)
        consumer.wait(30)
        dispose(producer)

    text = log.read_text()
    assert "storage failed" in text
    assert "storage is back" in text
    assert text.count("storage failed") <= 3  # once per worker and the scheduler, at most
    runs = collections.Counter(path.name.split(".")[0] for path in marks.iterdir())
    assert set(runs) == {str(index) for index in range(100)}
