"""The original huey's import paths and helpers: ``huey.api``'s Redis classes,
``python -m huey.bin.huey_consumer``, ``huey.utils``, and ``timeout=0``."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import huey
from huey import MemoryHuey
from huey.consumer import time_remaining
from huey.utils import (
    encode,
    is_naive,
    load_class,
    noop_context,
    normalize_expire_time,
    normalize_time,
    utcnow,
)

# --- huey.api ---------------------------------------------------------------------------

REDIS_NAMES = (
    "RedisHuey",
    "PriorityRedisHuey",
    "RedisExpireHuey",
    "PriorityRedisExpireHuey",
    "RedisHueyOptions",
    "RedisExpireHueyOptions",
)


def _run_python(code: str, *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_huey_api_imports_without_redis_py() -> None:
    """``import huey.api`` (and ``*``) works with redis-py missing; a Redis name says why not."""
    code = (
        "import sys\n"
        "sys.modules['redis'] = None  # as if redis-py were not installed\n"
        "import huey.api\n"
        "from huey.api import *\n"
        "from huey.api import MemoryHuey, SqliteHuey, FileHuey, BlackHoleHuey, Huey\n"
        "try:\n"
        "    from huey.api import RedisHuey\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    completed = _run_python(code)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "huey.api.RedisHuey needs redis-py: pip install 'huey[redis]'\n"


def test_huey_api_does_not_import_redis_until_asked() -> None:
    """The Redis classes load on first use, and are then the ones ``huey`` exports."""
    pytest.importorskip("redis")
    code = (
        "import sys, huey.api\n"
        "assert 'redis' not in sys.modules, 'redis imported eagerly'\n"
        "from huey.api import RedisHuey, PriorityRedisExpireHuey\n"
        "import huey\n"
        "assert RedisHuey is huey.RedisHuey and issubclass(RedisHuey, huey.api.Huey)\n"
        "assert PriorityRedisExpireHuey is huey.PriorityRedisExpireHuey\n"
    )
    completed = _run_python(code)
    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize("name", REDIS_NAMES)
def test_huey_api_exports_the_redis_names(name: str) -> None:
    """Each Redis name of ``huey`` is reachable from ``huey.api`` too."""
    pytest.importorskip("redis")
    from huey import api

    assert getattr(api, name) is getattr(huey, name)


def test_huey_api_unknown_name_is_an_attribute_error() -> None:
    """Names that do not exist still raise ``AttributeError`` (``hasattr`` keeps working)."""
    from huey import api

    assert not hasattr(api, "NoSuchHuey")
    with pytest.raises(AttributeError, match=r"module 'huey\.api' has no attribute 'NoSuchHuey'"):
        _ = api.NoSuchHuey


# --- python -m huey.bin.huey_consumer -----------------------------------------------------


def _run_module(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": ""}
    return subprocess.run(
        [sys.executable, "-m", "huey.bin.huey_consumer", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


def test_bin_module_prints_the_version(tmp_path: Path) -> None:
    """``python -m huey.bin.huey_consumer --version`` is the huey_consumer command."""
    completed = _run_module("--version", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == f"huey_consumer (huey) {huey.__version__}\n"


def test_bin_module_bad_import_path_exits_2(tmp_path: Path) -> None:
    """A bad import path is one line on stderr and status 2, as with ``huey_consumer``."""
    completed = _run_module("no_such_module_anywhere.huey", cwd=tmp_path)
    assert completed.returncode == 2
    assert completed.stderr.startswith("huey_consumer: error: cannot import")
    assert completed.stderr.count("\n") == 1


def test_bin_module_runs_a_consumer(tmp_path: Path) -> None:
    """With a real application, the module path starts a consumer that stops on SIGINT."""
    (tmp_path / "app.py").write_text(
        "from huey import SqliteHuey\n"
        f"huey = SqliteHuey('app', filename={str(tmp_path / 'app.db')!r})\n"
        "@huey.task()\n"
        "def add(a: int, b: int) -> int:\n"
        "    return a + b\n"
    )
    code = (
        "import signal, sys, threading\n"
        "from app import add\n"
        "result = add(1, 2)\n"
        "sys.argv = ['huey_consumer', 'app.huey', '-w', '1', '-d', '0.01', '-m', '0.05']\n"
        "def stop_when_done():\n"
        "    print(result.get(blocking=True, timeout=30), flush=True)\n"
        "    signal.raise_signal(signal.SIGINT)\n"
        "threading.Thread(target=stop_when_done, daemon=True).start()\n"
        "import runpy\n"
        "runpy.run_module('huey.bin.huey_consumer', run_name='__main__')\n"
    )
    completed = _run_python(code, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "3\n"


def test_consumer_main_raises_system_exit_on_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The original's ``consumer_main()`` reads ``sys.argv`` and exits 2 on a bad one."""
    from huey.bin.huey_consumer import consumer_main

    monkeypatch.setattr(sys, "argv", ["huey_consumer", "no_such_module_anywhere.huey"])
    with pytest.raises(SystemExit) as exited:
        consumer_main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("huey_consumer: error: ")


# --- huey.utils -------------------------------------------------------------------------


def test_load_class_imports_by_dotted_path() -> None:
    """``load_class`` returns the named object; ``module:name`` works too."""
    assert load_class("huey.api.MemoryHuey") is MemoryHuey
    assert load_class("huey.api:MemoryHuey") is MemoryHuey
    assert load_class("os.path.join") is os.path.join


def test_load_class_errors_say_what_is_wrong() -> None:
    """No module part, a missing module and a missing name raise distinct errors."""
    with pytest.raises(ValueError, match=r"needs 'module\.name'"):
        load_class("MemoryHuey")
    with pytest.raises(ValueError, match=r"needs 'module\.name'"):
        load_class("huey.")
    with pytest.raises(ModuleNotFoundError):
        load_class("no_such_module_anywhere.thing")
    with pytest.raises(AttributeError, match=r"module 'huey\.api' has no attribute 'Nope'"):
        load_class("huey.api.Nope")


def test_utcnow_is_aware_utc() -> None:
    """``utcnow()`` is an aware UTC datetime (so huey never misreads it as local time)."""
    before = datetime.now(UTC)
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)


def test_is_naive() -> None:
    """Naive means no usable offset."""
    assert is_naive(datetime(2030, 1, 1))
    assert not is_naive(datetime(2030, 1, 1, tzinfo=UTC))


def test_normalize_time_delay_is_from_now() -> None:
    """A delay (seconds or timedelta) is counted from now; the result is aware."""
    before = datetime.now(UTC)
    later = normalize_time(delay=60)
    after = datetime.now(UTC)
    assert later.utcoffset() == timedelta(0)
    assert before + timedelta(seconds=60) <= later <= after + timedelta(seconds=60)
    assert normalize_time(delay=timedelta(hours=1)) >= before + timedelta(hours=1)


def test_normalize_time_eta_keeps_the_instant() -> None:
    """An aware eta names the same instant in UTC; a naive one is local time."""
    plus_two = timezone(timedelta(hours=2))
    eta = datetime(2030, 1, 1, 9, 0, tzinfo=plus_two)
    assert normalize_time(eta=eta) == datetime(2030, 1, 1, 7, 0, tzinfo=UTC)
    assert normalize_time(eta=eta).tzinfo is UTC
    naive = datetime(2030, 6, 1, 12, 0)
    assert normalize_time(eta=naive) == naive.astimezone(UTC)
    local = normalize_time(eta=eta, utc=False)
    assert local == eta
    assert local.utcoffset() == eta.astimezone().utcoffset()


def test_normalize_time_refuses_bad_input() -> None:
    """Both or neither argument, a negative delay, a non-datetime eta: typed errors."""
    with pytest.raises(ValueError, match=r"eta .* or a delay"):
        normalize_time()
    with pytest.raises(ValueError, match=r"eta .* or a delay"):
        normalize_time(eta=datetime(2030, 1, 1, tzinfo=UTC), delay=5)
    with pytest.raises(ValueError, match="must not be negative"):
        normalize_time(delay=-1)
    with pytest.raises(TypeError, match="eta must be a datetime"):
        normalize_time(eta=1234)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # untyped callers


def test_normalize_expire_time() -> None:
    """A datetime is a point in time, a number a delay from now."""
    eta = datetime(2030, 1, 1, tzinfo=UTC)
    assert normalize_expire_time(eta) == eta
    before = datetime.now(UTC)
    assert normalize_expire_time(30) >= before + timedelta(seconds=30)
    assert normalize_expire_time(timedelta(seconds=30)) >= before + timedelta(seconds=30)


def test_encode() -> None:
    """Text becomes UTF-8, bytes stay, other values go through ``str()``, ``None`` stays."""
    assert encode("héllo") == "héllo".encode()
    assert encode(b"raw") == b"raw"
    assert encode(12) == b"12"
    assert encode(None) is None


def test_noop_context() -> None:
    """A context manager that does nothing and suppresses nothing."""
    assert isinstance(noop_context(), contextlib.AbstractContextManager)
    with noop_context() as value:
        assert value is None

    def raise_inside() -> None:
        with noop_context():
            raise KeyError("passes through")

    with pytest.raises(KeyError, match="passes through"):
        raise_inside()


# --- timeout=0 --------------------------------------------------------------------------


def test_timeout_zero_on_the_decorator_means_no_timeout(huey: MemoryHuey) -> None:
    """``@huey.task(timeout=0)`` is a task without a timeout, as in the original."""
    seen: list[float | None] = []

    @huey.task(timeout=0)
    def work() -> int:
        seen.append(time_remaining())
        return 1

    assert work.s().timeout is None
    huey.immediate = True
    assert work().get() == 1
    assert seen == [None]


def test_timeout_zero_per_call_lifts_the_default(huey: MemoryHuey) -> None:
    """``with_options(timeout=0)`` (or ``schedule(timeout=0)``) drops the task's timeout."""

    @huey.task(timeout=5)
    def work() -> int:
        return 1

    assert work.s().timeout == 5
    assert work.with_options(timeout=0).s().timeout is None
    assert work.with_options(timeout=0.0).s().timeout is None
    work.schedule(timeout=0)
    queued = huey.pending()
    assert [task.timeout for task in queued] == [None]


def test_negative_timeout_still_raises(huey: MemoryHuey) -> None:
    """Only zero means "none": a negative timeout is a mistake and says so."""
    with pytest.raises(ValueError, match="timeout must not be negative"):

        @huey.task(timeout=-1)
        def work() -> None: ...

    @huey.task()
    def other() -> None: ...

    with pytest.raises(ValueError, match="timeout must not be negative"):
        other.with_options(timeout=-0.5)()
