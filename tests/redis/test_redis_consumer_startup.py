"""``huey_consumer`` on Redis: fail fast on a bad connection, warn when nothing persists."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import RedisServer

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
