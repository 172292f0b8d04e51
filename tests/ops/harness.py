"""The application the operations tests inspect, and a real consumer to run it.

Used by ``tests/ops`` and by ``tests/redis/test_redis_ops.py``.

``opsapp`` is written to a temp dir and imported both here (the producer) and by the
consumer subprocess (``python -m huey opsapp.huey ...``). Its queue is a SQLite file,
or a Redis queue of its own when ``HUEY_OPS_REDIS_URL`` is set.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from huey import Huey

APP = '''
import os
import signal
import pathlib

from huey import RedisHuey, SqliteHuey
from huey.contrib.prometheus import record_enqueue_time

if os.environ.get("HUEY_OPS_REDIS_URL"):
    huey = RedisHuey(os.environ["HUEY_OPS_NAME"], url=os.environ["HUEY_OPS_REDIS_URL"])
else:
    huey = SqliteHuey(os.environ["HUEY_OPS_NAME"], filename=os.environ["HUEY_OPS_DB"])
record_enqueue_time(huey)


@huey.task()
def add(a: int, b: int) -> int:
    return a + b


@huey.task()
def fail() -> None:
    raise ValueError("as asked")


@huey.task()
def wait_for_file(path: str) -> str:
    """Runs until ``path`` exists, so a test sees it in flight without timing it."""
    import time

    while not pathlib.Path(path).exists():
        time.sleep(0.02)
    return path
'''


class OpsApp:
    """The application module, its environment and the consumers started on it."""

    def __init__(self, root: Path, environ: dict[str, str], module: ModuleType) -> None:
        self.root = root
        self.environ = environ
        self.module = module
        self.procs: list[subprocess.Popen[str]] = []

    @property
    def huey(self) -> Huey[Any]:
        huey: Huey[Any] = self.module.huey
        return huey

    def command(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """Run ``python -m huey ARGS`` to completion."""
        return subprocess.run(
            [sys.executable, "-m", "huey", *args],
            cwd=self.root,
            env=self.environ,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start_consumer(self, *flags: str) -> subprocess.Popen[str]:
        """Start ``python -m huey opsapp.huey FLAGS`` (stopped after the test)."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "huey", "opsapp.huey", *flags],
            cwd=self.root,
            env=self.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, which the cleanup kills whole
        )
        self.procs.append(proc)
        return proc


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_app(tmp_path: Path, extra: dict[str, str]) -> Iterator[OpsApp]:
    (tmp_path / "opsapp.py").write_text(textwrap.dedent(APP))
    settings = {
        "HUEY_OPS_NAME": f"ops-{uuid.uuid4().hex[:8]}",
        "HUEY_OPS_DB": str(tmp_path / "queue.db"),
        **extra,
    }
    environ = {
        **os.environ,
        **settings,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    saved = {key: os.environ.get(key) for key in ("HUEY_OPS_REDIS_URL", *settings)}
    os.environ.update(settings)
    if "HUEY_OPS_REDIS_URL" not in extra:
        os.environ.pop("HUEY_OPS_REDIS_URL", None)
    sys.path.insert(0, str(tmp_path))
    sys.modules.pop("opsapp", None)
    app = OpsApp(tmp_path, environ, importlib.import_module("opsapp"))
    try:
        yield app
    finally:
        for proc in app.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the consumer and its workers
            proc.communicate(timeout=10)
        app.huey.flush()
        sys.modules.pop("opsapp", None)
        sys.path.remove(str(tmp_path))
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
