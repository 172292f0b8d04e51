"""The real ``huey_consumer`` command (``python -m huey``) on a SQLite file in a temp dir.

Every test starts the consumer as a subprocess with an application module written to
``tmp_path`` and observes what it did through the result store and marker files, polling
with deadlines instead of sleeping for fixed times.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.integration

APP = '''
import asyncio
import logging
import os
import pathlib
import threading
import time

from huey import SqliteHuey, crontab

log = logging.getLogger("itapp")
if os.environ.get("HUEY_TEST_QUIET_TASKS"):
    # An explicit level on the task logger: the command line must leave it alone.
    logging.getLogger("huey.consumer.tasks").setLevel(logging.WARNING)

MARKS = pathlib.Path(os.environ["HUEY_TEST_MARKS"])
huey = SqliteHuey(
    "it",
    filename=os.environ["HUEY_TEST_DB"],
    lease_timeout=float(os.environ.get("HUEY_TEST_LEASE", "30")),
)
not_a_huey = 42


def mark(name: str, text: str = "") -> None:
    (MARKS / name).write_text(text)


@huey.task()
def add(a: int, b: int) -> int:
    return a + b


@huey.task()
def whoami() -> int:
    return os.getpid()


@huey.task()
def chatty(word: str) -> str:
    log.info("chatty says %s", word)
    return word


@huey.task()
def sleepy(tag: str, seconds: float) -> str:
    """Sleeps ``seconds`` on its first delivery only, so a redelivery finishes fast."""
    attempt = len(list(MARKS.glob(f"{tag}.started.*"))) + 1
    mark(f"{tag}.started.{attempt}", str(os.getpid()))
    if attempt == 1:
        time.sleep(seconds)
    mark(f"{tag}.done.{attempt}")
    return tag


@huey.task(timeout=0.5)
def too_slow() -> str:
    time.sleep(5)
    return "finished"


@huey.task()
async def async_where(x: int) -> list[int]:
    """x squared, with the process, the thread and the event loop it ran on."""
    await asyncio.sleep(0.01)
    return [x * x, os.getpid(), threading.get_ident(), id(asyncio.get_running_loop())]


@huey.task(timeout=0.5)
async def async_too_slow() -> str:
    await asyncio.sleep(5)
    return "finished"


if os.environ.get("HUEY_TEST_PERIODIC"):
    @huey.periodic_task(crontab())
    def every_minute() -> None:
        mark(f"periodic.{int(time.time() // 60)}.{os.getpid()}.{time.time():.3f}")
'''


class Env:
    """An application directory, its database and marker files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.marks = root / "marks"
        self.marks.mkdir()
        (root / "itapp.py").write_text(textwrap.dedent(APP))
        self.environ = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
            "HUEY_TEST_DB": str(root / "queue.db"),
            "HUEY_TEST_MARKS": str(self.marks),
        }
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, *flags: str, path: str = "itapp.huey") -> subprocess.Popen[str]:
        """Start ``python -m huey`` with ``flags``."""
        proc = subprocess.Popen(
            [sys.executable, "-m", "huey", path, "-S", *flags],
            cwd=self.root,
            env=self.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.procs.append(proc)
        return proc

    def run(self, *flags: str, path: str = "itapp.huey") -> subprocess.CompletedProcess[str]:
        """Run the command to completion (for bad command lines)."""
        return subprocess.run(
            [sys.executable, "-m", "huey", path, *flags],
            cwd=self.root,
            env=self.environ,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def marked(self, pattern: str) -> list[Path]:
        """Marker files matching ``pattern``."""
        return sorted(self.marks.glob(pattern))


def wait_for(condition: Callable[[], object], timeout: float = 15.0, what: str = "") -> None:
    """Poll ``condition`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[str], signum: int = signal.SIGINT, timeout: float = 20) -> str:
    """Send ``signum`` and wait for the exit; return stderr (the log)."""
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=timeout)
    return err


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """A fresh application directory; leftover consumers are killed afterwards."""
    environment = Env(tmp_path)
    yield environment
    for proc in environment.procs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)


@pytest.fixture
def app(env: Env) -> Iterator[ModuleType]:
    """The producer-side application, importable as ``itapp`` like in the consumer."""
    sys.path.insert(0, str(env.root))
    for key in ("HUEY_TEST_DB", "HUEY_TEST_MARKS"):
        os.environ[key] = env.environ[key]
    sys.modules.pop("itapp", None)
    module = importlib.import_module("itapp")
    yield module
    sys.modules.pop("itapp", None)
    sys.path.remove(str(env.root))


@pytest.mark.parametrize("worker_type", ["thread", "process"])
def test_tasks_run_with_each_worker_type(env: Env, app: Any, worker_type: str) -> None:
    """Thread and process workers run tasks and the consumer stops with status 0."""
    proc = env.start("-w", "2", "-k", worker_type, "-d", "0.01", "-m", "0.1")
    results = [app.add(i, i) for i in range(20)]
    pids = [app.whoami() for _ in range(4)]
    assert [r.get(blocking=True, timeout=20) for r in results] == [2 * i for i in range(20)]
    worker_pids = {r.get(blocking=True, timeout=20) for r in pids}
    if worker_type == "process":
        assert proc.pid not in worker_pids
    else:
        assert worker_pids == {proc.pid}
    err = stop(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


@pytest.mark.parametrize("worker_type", ["thread", "process"])
def test_async_tasks_run_with_each_worker_type(env: Env, app: Any, worker_type: str) -> None:
    """Async tasks run on one event loop per worker, cut short at their timeout by it."""
    from huey.exceptions import TaskException

    proc = env.start("-w", "2", "-k", worker_type, "-d", "0.01", "-m", "0.1")
    results = [app.async_where(i) for i in range(12)]
    rows = [r.get(blocking=True, timeout=20) for r in results]
    assert [row[0] for row in rows] == [i * i for i in range(12)]
    loops: dict[tuple[int, int], set[int]] = {}
    for _, pid, thread, loop in rows:
        loops.setdefault((pid, thread), set()).add(loop)
    assert all(len(ids) == 1 for ids in loops.values())  # one loop per worker, kept
    started = time.monotonic()
    with pytest.raises(TaskException, match="TaskTimeout"):
        app.async_too_slow().get(blocking=True, timeout=10)
    assert time.monotonic() - started < 4  # cut short, not left to finish its 5 s
    err = stop(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "cannot interrupt" not in err  # thread workers do cut async tasks short


def test_greenlet_workers_refuse_async_tasks(env: Env, app: Any) -> None:
    """Every greenlet shares one OS thread, which runs one event loop at a time: each
    async task fails with an error saying so (not only when two happen to overlap)."""
    from huey.exceptions import TaskException

    if importlib.util.find_spec("gevent") is None:
        pytest.skip("gevent is not installed (pip install gevent)")
    (env.root / "itapp_gevent.py").write_text(GREENLET_APP)
    proc = env.start(
        "-k", "greenlet", "-w", "2", "-d", "0.01", "-m", "0.1", path="itapp_gevent.huey"
    )
    with pytest.raises(TaskException, match="greenlet workers"):
        app.async_where(1).get(blocking=True, timeout=20)
    assert app.add(1, 2).get(blocking=True, timeout=20) == 3
    err = stop(proc)
    assert proc.returncode == 0, err


def test_the_log_shows_each_task_and_the_applications_info_lines(env: Env, app: Any) -> None:
    """By default every task gets a start and a finish line, and app INFO logs show."""
    proc = env.start("-d", "0.01", "-m", "0.1")
    result = app.chatty("hello")
    assert result.get(blocking=True, timeout=20) == "hello"
    err = stop(proc)
    assert proc.returncode == 0, err
    assert "delivery at-least-once (leases of 30s)" in err
    assert f"executing itapp.chatty ({result.id})" in err
    finish = next(line for line in err.splitlines() if "finished itapp.chatty" in line)
    assert re.search(
        rf"finished itapp\.chatty \({result.id}\) in \d+\.\d{{3}}s: succeeded$", finish
    )
    assert "chatty says hello" in err


def test_quiet_hides_task_lines_and_info_logs(env: Env, app: Any) -> None:
    """With -q only warnings and errors are logged, the application's included."""
    proc = env.start("-q", "-d", "0.01", "-m", "0.1")
    assert app.chatty("hush").get(blocking=True, timeout=20) == "hush"
    err = stop(proc)
    assert proc.returncode == 0, err
    assert "executing" not in err
    assert "finished" not in err
    assert "chatty says" not in err


def test_a_level_set_on_the_task_logger_is_respected(env: Env, app: Any) -> None:
    """An application that quiets huey.consumer.tasks keeps its own INFO lines."""
    env.environ["HUEY_TEST_QUIET_TASKS"] = "1"
    proc = env.start("-d", "0.01", "-m", "0.1")
    assert app.chatty("own").get(blocking=True, timeout=20) == "own"
    err = stop(proc)
    assert proc.returncode == 0, err
    assert "executing" not in err
    assert "chatty says own" in err
    assert "huey consumer it:" in err


def test_greenlet_workers_need_gevent(env: Env, app: Any) -> None:
    """Without gevent, greenlet workers are refused with one line and status 2."""
    del app
    # Hide an installed gevent from the consumer: a module of that name that cannot load.
    (env.root / "gevent.py").write_text("raise ImportError(\"No module named 'gevent'\")\n")
    result = env.run("-k", "greenlet")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "gevent" in result.stderr
    assert "Traceback" not in result.stderr


GREENLET_APP = """
from gevent import monkey

monkey.patch_all()

from itapp import *  # noqa: E402,F403  (the same tasks, after monkey-patching)
from itapp import huey  # noqa: E402
"""


def test_greenlet_workers_without_the_monkey_patch_run_tasks(env: Env, app: Any) -> None:
    """Unpatched, greenlet workers run one task at a time, as the start-up warning says
    (the consumer's waits yield to gevent's hub), and a SIGINT stops them promptly."""
    if importlib.util.find_spec("gevent") is None:
        pytest.skip("gevent is not installed (pip install gevent)")
    proc = env.start("-k", "greenlet", "-w", "2", "-d", "0.01", "-m", "0.1")
    results = [app.add(index, 1) for index in range(20)]
    assert [r.get(blocking=True, timeout=20) for r in results] == list(range(1, 21))
    asked = time.monotonic()
    err = stop(proc)
    assert time.monotonic() - asked < 5, err
    assert proc.returncode == 0, err
    assert "without gevent monkey-patching run one task at a time" in err
    assert "consumer stopped" in err


def test_greenlet_workers_run_tasks_concurrently(env: Env, app: Any) -> None:
    """With gevent, greenlet workers overlap sleeping tasks and enforce timeouts."""
    from huey.exceptions import TaskException

    if importlib.util.find_spec("gevent") is None:
        pytest.skip("gevent is not installed (pip install gevent)")
    (env.root / "itapp_gevent.py").write_text(GREENLET_APP)
    proc = env.start(
        "-k", "greenlet", "-w", "4", "-d", "0.01", "-m", "0.1", path="itapp_gevent.huey"
    )
    started = time.monotonic()
    results = [app.sleepy(f"g{index}", 1.0) for index in range(4)]
    assert [r.get(blocking=True, timeout=20) for r in results] == [f"g{i}" for i in range(4)]
    assert time.monotonic() - started < 3.5  # four 1 s tasks overlapped
    with pytest.raises(TaskException, match="TaskTimeout"):
        app.too_slow().get(blocking=True, timeout=4)
    err = stop(proc)
    assert proc.returncode == 0, err


def test_scheduled_task_fires_at_its_time(env: Env, app: Any) -> None:
    """A task scheduled 2 s ahead runs after 2 s, not before, and soon after."""
    proc = env.start("-d", "0.01", "-m", "0.1")
    started = time.time()
    result = app.add.schedule((20, 22), delay=2)
    assert result.get(blocking=True, timeout=20) == 42
    elapsed = time.time() - started
    assert 2.0 <= elapsed < 6.0
    stop(proc)
    assert proc.returncode == 0


def test_sigint_waits_for_the_running_task(env: Env, app: Any) -> None:
    """SIGINT lets the running task finish and store its result before exiting."""
    proc = env.start("-d", "0.01", "-m", "0.1")
    result = app.sleepy("graceful", 1.5)
    wait_for(lambda: env.marked("graceful.started.*"), what="the task to start")
    err = stop(proc, signal.SIGINT)
    assert proc.returncode == 0, err
    assert env.marked("graceful.done.1")
    assert result.get() == "graceful"


@pytest.mark.parametrize("worker_type", ["thread", "process"])
def test_sigterm_interrupts_and_the_task_is_redelivered(
    env: Env, app: Any, worker_type: str
) -> None:
    """SIGTERM stops at once; the interrupted task runs again on the next start."""
    proc = env.start("-k", worker_type, "-d", "0.01", "-m", "0.1")
    result = app.sleepy("term", 60)
    wait_for(lambda: env.marked("term.started.1"), what="the task to start")
    started = time.monotonic()
    err = stop(proc, signal.SIGTERM)
    assert time.monotonic() - started < 10
    assert proc.returncode == 0, err
    assert not env.marked("term.done.*")
    assert "interrupted" in err
    again = env.start("-d", "0.01", "-m", "0.1")
    assert result.get(blocking=True, timeout=20) == "term"
    assert env.marked("term.done.2")
    stop(again)


def test_graceful_signal_term_swaps_the_signals(env: Env, app: Any) -> None:
    """With -g TERM, SIGTERM waits for the running task."""
    proc = env.start("-g", "TERM", "-d", "0.01", "-m", "0.1")
    result = app.sleepy("swapped", 1.0)
    wait_for(lambda: env.marked("swapped.started.*"), what="the task to start")
    stop(proc, signal.SIGTERM)
    assert proc.returncode == 0
    assert result.get() == "swapped"


def test_sigkill_of_a_process_worker_loses_nothing(env: Env, app: Any) -> None:
    """A process worker killed mid-task is replaced and the task is delivered again."""
    env.environ["HUEY_TEST_LEASE"] = "2"
    proc = env.start("-k", "process", "-c", "0.5", "-d", "0.01", "-m", "0.1")
    result = app.sleepy("killed", 60)
    wait_for(lambda: env.marked("killed.started.1"), what="the task to start")
    worker_pid = int(env.marked("killed.started.1")[0].read_text())
    assert worker_pid != proc.pid
    os.kill(worker_pid, signal.SIGKILL)
    assert result.get(blocking=True, timeout=30) == "killed"
    assert env.marked("killed.done.2")
    err = stop(proc)
    assert proc.returncode == 0
    assert "died" in err


def test_process_worker_enforces_task_timeout(env: Env, app: Any) -> None:
    """A process worker cuts a task short at its timeout and stores a TaskTimeout error."""
    from huey.exceptions import TaskException

    proc = env.start("-k", "process", "-d", "0.01", "-m", "0.1")
    result = app.too_slow()
    with pytest.raises(TaskException, match="TaskTimeout"):
        result.get(blocking=True, timeout=4)
    stop(proc)


@pytest.mark.parametrize(
    ("path", "flags", "expected"),
    [
        ("nosuchmodule.huey", (), "cannot import"),
        ("itapp.missing", (), "no attribute"),
        ("itapp.not_a_huey", (), "not a huey.Huey"),
        ("itapp", (), "must name an object"),
        ("itapp.huey", ("-w", "0"), "--workers"),
        ("itapp.huey", ("-w", "many"), "--workers"),
        ("itapp.huey", ("-k", "fiber"), "--worker-type"),
        ("itapp.huey", ("-s", "7"), "divide 60"),
        ("itapp.huey", ("-b", "0.5"), "--backoff"),
        ("itapp.huey", ("-d", "-1"), "--delay"),
        ("itapp.huey", ("-g", "HUP"), "--graceful-signal"),
        ("itapp.huey", ("-M", "5", "-C"), "health check"),
        ("itapp.huey", ("--no-such-flag",), "unrecognized"),
    ],
)
def test_bad_command_lines_exit_2_with_one_line(
    env: Env, path: str, flags: tuple[str, ...], expected: str
) -> None:
    """Bad import paths, objects and flag values print one line and exit with 2."""
    result = env.run(*flags, path=path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("huey_consumer: error: ")
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_every_flag_of_the_original(env: Env) -> None:
    """--help documents all the original consumer's short flags."""
    result = env.run("--help", path="itapp.huey")
    assert result.returncode == 0
    for flag in [
        "-w",
        "-k",
        "-d",
        "-m",
        "-b",
        "-c",
        "-C",
        "-f",
        "-L",
        "-M",
        "-t",
        "-g",
        "-s",
        "-n",
        "-l",
        "-v",
        "-q",
        "-S",
    ]:
        assert f"{flag}," in result.stdout or f"{flag} " in result.stdout, flag


@pytest.mark.slow
def test_two_consumers_run_a_periodic_task_once_at_the_minute(env: Env) -> None:
    """Two consumers with periodic tasks enqueue the run of a real minute boundary once."""
    env.environ["HUEY_TEST_PERIODIC"] = "1"
    first = env.start("-d", "0.01", "-m", "0.1")
    second = env.start("-d", "0.01", "-m", "0.1")
    # Each consumer checks its first minute at start-up; wait for the next boundary.
    boundary = (int(time.time() // 60) + 1) * 60
    wait_for(
        lambda: env.marked(f"periodic.{boundary // 60}.*"),
        timeout=boundary - time.time() + 10,
        what="the periodic task at the minute boundary",
    )
    time.sleep(1.5)  # give a (wrong) duplicate the time to show up
    runs = env.marked(f"periodic.{boundary // 60}.*")
    stop(first)
    stop(second)
    assert len(runs) == 1
    ran_at = float(runs[0].name.split(".", 3)[3])
    assert boundary <= ran_at < boundary + 5


def test_second_sigint_forces_an_immediate_stop(env: Env, app: Any) -> None:
    """A second SIGINT during a graceful stop interrupts the task; it runs again later."""
    log = env.root / "consumer.log"
    proc = env.start("-l", str(log), "-d", "0.01", "-m", "0.1")
    result = app.sleepy("twice", 60)
    wait_for(lambda: env.marked("twice.started.1"), what="the task to start")
    proc.send_signal(signal.SIGINT)
    # Two signals sent back to back may be merged by the OS: wait for the first one.
    wait_for(lambda: "stopping gracefully" in log.read_text(), what="the graceful stop")
    started = time.monotonic()
    stop(proc, signal.SIGINT)
    assert time.monotonic() - started < 10
    assert proc.returncode == 0
    assert "second stop request" in log.read_text()
    assert not env.marked("twice.done.*")
    again = env.start("-d", "0.01", "-m", "0.1")
    assert result.get(blocking=True, timeout=20) == "twice"
    stop(again)


def test_shutdown_timeout_bounds_the_graceful_wait(env: Env, app: Any) -> None:
    """With -t, a graceful stop interrupts a task still running after the timeout."""
    proc = env.start("-t", "1", "-d", "0.01", "-m", "0.1")
    app.sleepy("bounded", 60)
    wait_for(lambda: env.marked("bounded.started.1"), what="the task to start")
    started = time.monotonic()
    err = stop(proc, signal.SIGINT)
    assert 1.0 <= time.monotonic() - started < 10
    assert proc.returncode == 0
    assert "shutdown timeout" in err
    assert not env.marked("bounded.done.*")


def test_sighup_restarts_the_consumer(env: Env, app: Any) -> None:
    """SIGHUP stops gracefully and starts the same command again in the same process."""
    log = env.root / "consumer.log"
    proc = env.start("-l", str(log), "-d", "0.01", "-m", "0.1")
    assert app.add(1, 1).get(blocking=True, timeout=20) == 2
    proc.send_signal(signal.SIGHUP)
    # Until the restart is under way the old consumer may still take a task, and a stop
    # signal would count as a second one and cancel the restart: wait for it.
    wait_for(lambda: "restarting" in log.read_text(), what="the restart")
    assert app.whoami().get(blocking=True, timeout=20) == proc.pid
    stop(proc)
    assert proc.returncode == 0
    assert log.read_text().count("huey consumer it:") == 2  # started twice
