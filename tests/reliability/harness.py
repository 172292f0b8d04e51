"""The reliability battery's harness: real ``huey_consumer`` processes and a ledger.

Each scenario writes a small application module (:data:`APP_SOURCE`) into its temporary
directory, starts ``huey_consumer`` processes on it (each in its own process group, so
process workers die with their master), enqueues tasks from the test process, injects
faults, and finally reads two records kept *outside* the storage under test:

* the **ledger**: an append-only file every task run writes to, one line when the task
  body starts (``S``) and one when it ends (``E``), with the task's key, the process
  group (the consumer) and the wall-clock time;
* the consumers' **logs** (``-l FILE``, one file per consumer run): the finish line of
  each run tells a settled run from one whose acknowledgement was refused.

From them :class:`Counters` derives the figures the issue asks for. The battery runs in
*quick* mode inside ``make test``; ``RELIABILITY_MODE=deep`` (``make reliability``) runs
more seeds and larger sizes and appends every scenario's counters as a JSON line to
``RELIABILITY_RESULTS``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from huey import Huey, Result
from huey.exceptions import StorageError
from huey.protocols import SupportsLeases

from .ledger_app import LEDGER_TASKS

__all__ = (
    "APP_SOURCE",
    "DEEP",
    "SEEDS",
    "App",
    "ConsumerProcess",
    "Counters",
    "Ledger",
    "Producer",
    "record",
    "wait_until",
)

DEEP = os.environ.get("RELIABILITY_MODE") == "deep"
"""Deep mode: more seeds, more tasks, more faults (``make reliability``)."""

SEEDS: tuple[int, ...] = (1, 2, 3, 4, 5) if DEEP else (1,)
"""The seeds every randomised scenario runs with."""

_CONSUMER = Path(sys.executable).with_name("huey_consumer")

APP_SOURCE = (
    textwrap.dedent(
        '''
    """The application the reliability scenarios run (written by the harness)."""

    import os
    import signal
    import time

    from huey import Huey
    from huey.storage import SqliteStorage

    LEDGER = os.environ["RELIABILITY_LEDGER"]
    TARGET = os.environ["RELIABILITY_STORAGE"]
    LEASE = float(os.environ.get("RELIABILITY_LEASE", "2"))
    MAX_DELIVERIES = int(os.environ.get("RELIABILITY_MAX_DELIVERIES", "5"))

    if TARGET.startswith("redis://"):
        from huey.storage.redis import RedisStorage

        storage = RedisStorage("battery", url=TARGET)
    elif TARGET.startswith("postgresql://"):
        from huey.storage.postgres import PostgresStorage

        storage = PostgresStorage("battery", TARGET)
    else:
        busy = float(os.environ.get("RELIABILITY_BUSY", "5"))
        storage = SqliteStorage("battery", TARGET, timeout=busy)

    huey = Huey(
        "battery", storage=storage, lease_timeout=LEASE, max_deliveries=MAX_DELIVERIES
    )


    '''
    )
    + LEDGER_TASKS
    + textwrap.dedent(
        """
    @huey.task(name="poison")
    def poison(key, how):
        _note("S", key)
        if how == "exit":
            os._exit(137)
        if how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(10)
        raise ValueError(how)


    FAULT = os.environ.get("RELIABILITY_FAULT")
    if FAULT:
        # Fault hook: the consumer dies once while moving due tasks to the queue: inside
        # the move where the storage asks for a priority within its transaction (SQLite),
        # else right after the move, before the scheduler goes on.
        _move = storage.move_due

        def _crash_once():
            if not os.path.exists(FAULT):
                open(FAULT, "w").close()
                os._exit(3)

        def _move_with_crash(timestamp, priority_of):
            def priority_then_crash(data):
                _crash_once()
                return priority_of(data)

            moved = _move(timestamp, priority_then_crash)
            if moved:
                _crash_once()
            return moved

        storage.move_due = _move_with_crash
    """
    )
)


def record(name: str, **figures: Any) -> dict[str, Any]:
    """Print one scenario's figures as a JSON line; in deep mode append it to the results."""
    line = {"scenario": name, "mode": "deep" if DEEP else "quick", **figures}
    text = json.dumps(line, sort_keys=True)
    print(text)
    results = os.environ.get("RELIABILITY_RESULTS")
    if results:
        with open(results, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    return line


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 50 ms until true; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


@dataclass(frozen=True, slots=True)
class Run:
    """One line of the ledger."""

    kind: str
    key: str
    group: int
    pid: int
    at: float


class Ledger:
    """The append-only record of task runs, outside the storage under test."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def runs(self) -> list[Run]:
        """Every complete line, in file order (a torn last line is skipped)."""
        if not self.path.exists():
            return []
        runs: list[Run] = []
        for line in self.path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 5:
                kind, key, group, pid, at = parts
                runs.append(Run(kind, key, int(group), int(pid), float(at)))
        return runs

    def ended(self) -> set[str]:
        """Keys whose task body ran to its end at least once."""
        return {run.key for run in self.runs() if run.kind == "E"}

    def starts(self) -> Counter[str]:
        """How many times each key's task body started."""
        return Counter(run.key for run in self.runs() if run.kind == "S")


@dataclass(slots=True)
class Counters:
    """The figures of one scenario run.

    Attributes:
        lost: acknowledged enqueues whose task never ran to its end.
        extra_exec: task body starts beyond the first, over all tasks.
        dup_effect: tasks settled (result stored and acknowledged) more than once.
        stale_acks_rejected: settles refused because the lease had moved on.
        dead_lettered: messages in the dead letters at the end.
        recovery_p50: median seconds from a kill to the restart of a task it cut short.
        recovery_p99: 99th percentile of the same.
    """

    lost: int = 0
    extra_exec: int = 0
    dup_effect: int = 0
    stale_acks_rejected: int = 0
    dead_lettered: int = 0
    recovery_p50: float | None = None
    recovery_p99: float | None = None
    extra: dict[str, Any] = field(default_factory=lambda: {})

    def as_dict(self) -> dict[str, Any]:
        """The counters as a flat dictionary."""
        data = asdict(self)
        data.update(data.pop("extra"))
        return data


_FINISH = re.compile(r"finished \S+ \(([0-9a-f-]+)\) in [0-9.]+s: (.*)$")
# A settle sent without waiting (Redis) reports a refusal (or an unknown outcome, when
# the storage fails as the worker stops) after the finish line.
_REFUSED_LATER = re.compile(r"the acknowledgement of task \S+ \(([0-9a-f-]+)\), sent after")


def settle_counts(logs: Sequence[Path]) -> tuple[Counter[str], int]:
    """Settled runs per task id, and refused (stale) settles, from consumer logs."""
    settled: Counter[str] = Counter()
    stale = 0
    for log in logs:
        if not log.exists():
            continue
        for line in log.read_text(errors="replace").splitlines():
            refused = _REFUSED_LATER.search(line)
            if refused is not None:
                stale += 1
                settled[refused.group(1)] -= 1  # its finish line counted it as settled
                continue
            match = _FINISH.search(line)
            if match is None:
                continue
            text = match.group(2)
            if "acknowledgement was refused" in text:
                stale += 1
            elif not text.startswith(("not settled", "not recorded", "interrupted")):
                settled[match.group(1)] += 1
    return settled, stale


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` quantile of ``values`` (nearest rank), or ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return round(ordered[index], 3)


def recovery_times(runs: Sequence[Run], kills: Sequence[tuple[float, int]]) -> list[float]:
    """Seconds from each kill to the next start of every task the kill cut short."""
    by_key: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_key[run.key].append(run)
    times: list[float] = []
    for killed_at, group in kills:
        for key_runs in by_key.values():
            cut = [
                run
                for run in key_runs
                if run.kind == "S" and run.group == group and run.at < killed_at
            ]
            if not cut:
                continue
            last = cut[-1]
            finished = any(
                run.kind == "E" and run.pid == last.pid and run.at >= last.at for run in key_runs
            )
            if finished:
                continue
            later = [run.at for run in key_runs if run.kind == "S" and run.at > killed_at]
            if later:
                times.append(min(later) - killed_at)
    return times


class ConsumerProcess:
    """One ``huey_consumer`` process group of the scenario's application."""

    def __init__(self, app: App, *args: str) -> None:
        self.app = app
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self) -> ConsumerProcess:
        """Start (or restart) the consumer; each run logs to a new file."""
        log = self.app.directory / f"consumer-{next(self.app.serial)}.log"
        self.logs.append(log)
        command = [str(_CONSUMER), "relapp.huey", "-l", str(log), "-d", "0.01", "-m", "0.1"]
        # What the consumer says before its log is set up (a failed start) goes beside it.
        with open(log.with_suffix(".err"), "wb") as errors:
            self.process = subprocess.Popen(
                [*command, *self.args],
                cwd=self.app.directory,
                env=self.app.environment(),
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,
            )
        return self

    def wait_working(self, timeout: float = 30) -> None:
        """Wait until the consumer started a task (it is then past its startup checks)."""
        wait_until(lambda: "executing " in self.log_text(), timeout, "the consumer to run a task")

    def log_text(self) -> str:
        """The text of the current run's log ("" before the consumer wrote to it)."""
        try:
            return self.logs[-1].read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def pid(self) -> int:
        """The consumer's process id (also its process group)."""
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        """Whether the consumer process is running."""
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the consumer's whole process group."""
        if self.alive():
            os.killpg(self.pid, signum)

    def kill(self) -> tuple[float, int]:
        """SIGKILL the whole group; return when and which group it was."""
        at = time.time()
        group = self.pid
        self.signal(signal.SIGKILL)
        self.wait(10)
        return at, group

    def wait(self, timeout: float) -> int | None:
        """Wait for the process to exit; its exit status (``None`` if it did not)."""
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Kill the group (teardown): the master, and children a dead master left."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(10)


class App:
    """The scenario's application: its module, storage target, ledger and consumers.

    Args:
        directory: the scenario's temporary directory.
        target: a SQLite file path, a ``redis://`` or a ``postgresql://`` URL.
        lease: the lease timeout in seconds.
        max_deliveries: the application's ``max_deliveries``.
        env: more environment variables for the consumers.
    """

    def __init__(
        self,
        directory: Path,
        target: str,
        *,
        lease: float = 2.0,
        max_deliveries: int = 5,
        env: dict[str, str] | None = None,
    ) -> None:
        self.directory = directory
        self.target = target
        self.lease = lease
        self.max_deliveries = max_deliveries
        self.env = dict(env or {})
        self.ledger = Ledger(directory / "ledger.txt")
        self.consumers: list[ConsumerProcess] = []
        self.serial = iter(range(1, 1_000_000))
        (directory / "relapp.py").write_text(APP_SOURCE)
        module = self._load()
        self.huey: Huey[Any] = cast("Huey[Any]", module.huey)
        self.work = cast("Callable[[str, int], Result[str]]", module.work)
        self.poison = cast("Callable[[str, str], Result[None]]", module.poison)
        self.ids: dict[str, str] = {}

    def environment(self) -> dict[str, str]:
        """The consumers' environment."""
        return {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(self.directory), *sys.path]),
            "RELIABILITY_LEDGER": str(self.ledger.path),
            "RELIABILITY_STORAGE": self.target,
            "RELIABILITY_LEASE": str(self.lease),
            "RELIABILITY_MAX_DELIVERIES": str(self.max_deliveries),
            **self.env,
        }

    def _load(self) -> ModuleType:
        """Import the application in the test process (the producer side)."""
        saved = {key: os.environ.get(key) for key in ("RELIABILITY_LEDGER", "RELIABILITY_STORAGE")}
        os.environ.update(
            {
                "RELIABILITY_LEDGER": str(self.ledger.path),
                "RELIABILITY_STORAGE": self.target,
                "RELIABILITY_LEASE": str(self.lease),
                "RELIABILITY_MAX_DELIVERIES": str(self.max_deliveries),
            }
        )
        try:
            namespace = ModuleType("relapp")
            namespace.__file__ = str(self.directory / "relapp.py")
            exec(
                compile(APP_SOURCE, namespace.__file__, "exec"), namespace.__dict__
            )  # our own module text
            return namespace
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def consumer(self, *args: str) -> ConsumerProcess:
        """Start a consumer with ``args`` (e.g. ``"-w", "4"``)."""
        consumer = ConsumerProcess(self, *args)
        self.consumers.append(consumer)
        return consumer.start()

    def enqueue_work(self, keys: Sequence[str], rng: random.Random, max_ms: int) -> None:
        """Enqueue one ``work`` task per key, each sleeping up to ``max_ms``."""
        for key in keys:
            self.ids[key] = self.work(key, rng.randint(0, max_ms)).id

    def logs(self) -> list[Path]:
        """Every consumer log of the scenario."""
        return [log for consumer in self.consumers for log in consumer.logs]

    def counters(self, keys: Sequence[str], kills: Sequence[tuple[float, int]] = ()) -> Counters:
        """The figures for the tasks ``keys`` after the run."""
        runs = self.ledger.runs()
        ended = {run.key for run in runs if run.kind == "E"}
        starts = Counter(run.key for run in runs if run.kind == "S")
        settled, stale = settle_counts(self.logs())
        recovery = recovery_times(runs, kills)
        return Counters(
            lost=sum(1 for key in keys if key not in ended),
            extra_exec=sum(max(count - 1, 0) for count in starts.values()),
            dup_effect=sum(1 for key in keys if settled[self.ids.get(key, "")] > 1),
            stale_acks_rejected=stale,
            dead_lettered=len(self.huey.dead_letters()),
            recovery_p50=percentile(recovery, 0.5),
            recovery_p99=percentile(recovery, 0.99),
        )

    def in_flight(self) -> int:
        """Messages still leased after every lease would have expired (should be 0)."""
        storage = self.huey.storage
        assert isinstance(storage, SupportsLeases)
        return storage.requeue_expired(time.time() + 3600, 10**6)

    def stop_all(self) -> None:
        """Kill every consumer group still running."""
        for consumer in self.consumers:
            consumer.stop()


def keys(prefix: str, count: int) -> list[str]:
    """``count`` task keys named after ``prefix``."""
    return [f"{prefix}{index}" for index in range(count)]


def supervise(consumer: ConsumerProcess, done: Callable[[], bool], timeout: float) -> Iterator[int]:
    """Restart ``consumer`` whenever it dies until ``done()``; yield each exit status."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"scenario did not finish within {timeout:g}s")
        if not consumer.alive():
            status = consumer.wait(1)
            yield -1 if status is None else status
            consumer.start()
        time.sleep(0.05)


class Producer:
    """A thread enqueueing ``count`` quick ``work`` tasks, one every few milliseconds.

    Meant to run while the scenario takes the storage down: an enqueue that returned is
    in :attr:`acknowledged`; one that raised a :class:`~huey.exceptions.StorageError`
    (its task is then not counted as acknowledged) is in :attr:`errors`.
    """

    def __init__(self, app: App, count: int, rng: random.Random) -> None:
        self.app = app
        self.count = count
        self.rng = rng
        self.acknowledged: list[str] = []
        self.errors: list[StorageError] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="battery-producer")

    def _produce(self) -> None:
        for index in range(self.count):
            if self._stop.is_set():
                return
            key = f"r{index}"
            try:
                self.app.ids[key] = self.app.work(key, self.rng.randint(0, 10)).id
            except StorageError as exc:
                self.errors.append(exc)
                continue
            self.acknowledged.append(key)
            time.sleep(0.003)

    def start(self) -> Producer:
        """Start enqueueing."""
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the last enqueue."""
        self._thread.join(timeout)

    def stop(self) -> None:
        """Stop after the enqueue in progress and wait for it (teardown)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)


def ride_outages(
    consumers: Sequence[ConsumerProcess],
    rng: random.Random,
    restarts: int,
    stop: Callable[[], None],
    start: Callable[[], None],
) -> list[float]:
    """Once the consumers work, take the storage down ``restarts`` times (``stop``, a
    random pause, ``start``) at random moments; the seconds each outage lasted."""
    for consumer in consumers:
        consumer.wait_working()  # a consumer that cannot reach the storage at startup exits
    outages: list[float] = []
    for _ in range(restarts):
        time.sleep(rng.uniform(0.4, 0.8))
        stop()
        down = rng.uniform(0.5, 1.0)
        time.sleep(down)
        start()
        outages.append(round(down, 3))
    return outages


def drain_and_stop(app: App, producer: Producer, consumers: Sequence[ConsumerProcess]) -> bool:
    """After a run with storage outages: wait until every acknowledged enqueue has run,
    then stop the consumers with SIGINT. Whether they rode the outages out (all alive,
    none restarted)."""
    wait_until(lambda: app.ledger.ended() >= set(producer.acknowledged), 120, "every task to run")
    restarted = [consumer for consumer in consumers if len(consumer.logs) > 1]
    rode_out = not restarted and all(consumer.alive() for consumer in consumers)
    for consumer in consumers:
        consumer.signal(signal.SIGINT)
    for consumer in consumers:
        assert consumer.wait(30) is not None
    return rode_out


def check_outage_run(
    app: App,
    producer: Producer,
    scenario: str,
    refusal: type[StorageError],
    rode_out: bool,
    **figures: Any,
) -> None:
    """Record the counters of a run with storage outages, and assert what must hold.

    Args:
        refusal: the typed error every enqueue refused during an outage raised.
        rode_out: what :func:`drain_and_stop` returned.
        figures: the scenario's own figures for the record (seed, sizes, outages).
    """
    counters = app.counters(producer.acknowledged)
    record(
        scenario,
        **figures,
        acknowledged=len(producer.acknowledged),
        enqueue_errors=len(producer.errors),
        **counters.as_dict(),
    )
    assert rode_out, "the consumers ride the outages out, without a restart"
    assert all(isinstance(error, refusal) for error in producer.errors)
    assert counters.lost == 0
    assert counters.dead_lettered == 0
    # A retried enqueue or settle (the reply lost in a crash) is recognised, never applied
    # twice; a settle is refused as stale only when its lease really moved on, to a
    # worker that ran the task again.
    assert counters.dup_effect == 0
    assert counters.stale_acks_rejected <= counters.extra_exec
