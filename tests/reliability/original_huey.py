"""Scenario 1 (consumers SIGKILLed under load) against the original huey, for comparison.

Run by ``make reliability`` with the Python of a separate virtual environment holding
the original huey from PyPI (``huey==3.5.4``), which this project's ``huey`` would
shadow::

    python -m tests.reliability.original_huey --python VENV/bin/python --seed 1

It drives ``huey_consumer`` processes of the original on a SQLite file exactly as
``test_crash.py`` drives ours (two consumers, four thread workers each, random SIGKILLs
with restarts, the same ledger task from ``ledger_app.py``), waits until the queue is empty and the
ledger stops growing, and prints one JSON line with ``lost`` and ``extra_exec``. Only
the consumers and the enqueueing run under the original's interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

from .ledger_app import LEDGER_TASKS

_APP = (
    textwrap.dedent(
        """
    import os
    import time

    from huey import SqliteHuey

    LEDGER = os.environ["RELIABILITY_LEDGER"]
    huey = SqliteHuey("battery", filename=os.environ["RELIABILITY_STORAGE"])


    """
    )
    + LEDGER_TASKS
)

_ENQUEUE = textwrap.dedent(
    """
    import json, sys
    import relapp
    for key, ms in json.load(sys.stdin):
        relapp.work(key, ms)
    """
)


def _ledger(path: Path) -> tuple[set[str], Counter[str]]:
    ended: set[str] = set()
    starts: Counter[str] = Counter()
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 5:
                if parts[0] == "E":
                    ended.add(parts[1])
                else:
                    starts[parts[1]] += 1
    return ended, starts


def main() -> None:
    """Run the scenario once and print its JSON line."""
    parser = argparse.ArgumentParser(description="the SIGKILL scenario against huey 3.5.4")
    parser.add_argument("--python", required=True, help="interpreter with huey==3.5.4")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--results", help="append the JSON line to this file")
    options = parser.parse_args()
    python = os.path.abspath(options.python)  # the consumers run in another directory
    rng = random.Random(options.seed)
    directory = Path(tempfile.mkdtemp(prefix="huey354-"))
    (directory / "relapp.py").write_text(_APP)
    ledger = directory / "ledger.txt"
    env = {
        **os.environ,
        "PYTHONPATH": str(directory),
        "RELIABILITY_LEDGER": str(ledger),
        "RELIABILITY_STORAGE": str(directory / "battery.db"),
    }
    keys = [f"k{index}" for index in range(options.tasks)]
    payload = json.dumps([[key, rng.randint(0, 20)] for key in keys])
    subprocess.run([python, "-c", _ENQUEUE], input=payload.encode(), env=env, check=True)
    consumer = str(Path(python).with_name("huey_consumer"))
    command = [python, consumer, "relapp.huey", "-w", "4", "-k", "thread", "-d", "0.01"]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command,
            cwd=directory,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    consumers = [start(), start()]
    started = time.monotonic()
    try:
        for _ in range(options.kills):
            time.sleep(rng.uniform(0.3, 0.8))
            index = rng.randrange(len(consumers))
            os.killpg(consumers[index].pid, signal.SIGKILL)
            consumers[index].wait()
            consumers[index] = start()
        # The original has no redelivery: wait until the ledger stops growing.
        quiet_since, seen = time.monotonic(), -1
        while time.monotonic() - quiet_since < 3.0 and time.monotonic() - started < 600:
            size = ledger.stat().st_size if ledger.exists() else 0
            if size != seen:
                seen, quiet_since = size, time.monotonic()
            time.sleep(0.2)
    finally:
        for process in consumers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    ended, starts = _ledger(ledger)
    line = {
        "scenario": "sigkill-sqlite-thread-original-huey-3.5.4",
        "seed": options.seed,
        "tasks": options.tasks,
        "kills": options.kills,
        "lost": sum(1 for key in keys if key not in ended),
        "extra_exec": sum(max(count - 1, 0) for count in starts.values()),
        "wall_s": round(time.monotonic() - started, 2),
    }
    text = json.dumps(line, sort_keys=True)
    print(text)
    if options.results:
        with open(options.results, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
