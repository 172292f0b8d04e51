"""``make bench``: the same workloads through the original huey 3.5.4 and this project.

What it does, from a fresh clone:

1. creates ``.bench/original-venv`` (once) and installs the original huey 3.5.4 and
   redis-py into it from the package index: the original never enters ``.venv``;
2. starts a private ``redis-server`` on a free port (no persistence; stopped at the end);
3. runs every case of :data:`CASES` as ``benchmarks/workloads.py`` in a fresh process,
   alternately with the original's interpreter and this project's (A B A B, ``rounds``
   times), because the machine drifts: ratios taken within one run are what to trust;
4. prints a table of medians and ratios (this project / the original) and writes every
   measurement to ``.bench/results.json``.

Environment variables: ``BENCH_ROUNDS`` (default 3), ``BENCH_SCALE`` (counts multiplied
by it; default 1: the issue's 20,000 tasks), ``BENCH_QUICK=1`` (scale 0.1, for
iterating), ``BENCH_ONLY`` (substrings of case names, separated by ``;``: the names
hold commas), ``BENCH_OUT`` (the JSON path), ``BENCH_ORIGINAL_VENV`` (another venv of
the original).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = Path(__file__).resolve().parent / "workloads.py"
ORIGINAL_REQUIREMENTS = ("huey==3.5.4", "redis")
RUN_TIMEOUT = 300
"""Seconds one workload run may take; a run that takes longer is reported and skipped."""


@dataclass(frozen=True)
class Case:
    """One line of the table: a workload spec and the metrics it reports."""

    name: str
    spec: dict[str, Any]
    metrics: tuple[str, ...]
    both: bool = True  # run through both implementations (else: only once, no ratio)
    runs: dict[str, list[dict[str, float]]] = field(
        default_factory=dict[str, list[dict[str, float]]]
    )


def cases(scale: float) -> list[Case]:
    """Every case, with the issue's sizes times ``scale``."""
    n = max(100, int(20_000 * scale))
    trips = max(20, int(200 * scale))
    rate = ("tasks_per_s", "cpu_us_per_task")
    latency = ("p50_ms", "p99_ms")
    out: list[Case] = []
    for storage in ("redis", "sqlite"):
        for results in (True, False):
            spec = {"workload": "enqueue", "storage": storage, "results": results, "count": n}
            out.append(Case(f"{storage} enqueue, results {'on' if results else 'off'}", spec, rate))
        spec = {"workload": "map", "storage": storage, "count": n // 2}
        out.append(Case(f"{storage} map() of {n // 2:,}", spec, rate))
    for storage in ("redis", "sqlite"):
        for workers, kind in ((1, "thread"), (4, "thread"), (8, "thread"), (2, "process")):
            spec = {
                "workload": "drain",
                "storage": storage,
                "count": n,
                "workers": workers,
                "worker_type": kind,
            }
            out.append(Case(f"{storage} drain, {workers} {kind}(s)", spec, rate))
    for storage, notify in (("redis", False), ("redis", True), ("sqlite", False)):
        # SQLite and plain Redis readers poll (about 100 ms and 50 ms a trip): fewer trips.
        count = trips if notify else max(trips // 4, 10)
        spec = {
            "workload": "roundtrip",
            "storage": storage,
            "notify_result": notify,
            "count": count,
        }
        label = f"{storage} round trip" + (", notify_result" if notify else "")
        out.append(Case(label, spec, latency))
    for storage in ("redis", "sqlite"):
        spec = {"workload": "scheduled", "storage": storage, "count": trips}
        out.append(Case(f"{storage} scheduled, late by", spec, latency))
    floors = (
        "lpush_per_s",
        "lpush_cpu_us",
        "brpop_per_s",
        "brpop_cpu_us",
        "pipelined_lpush_per_s",
        "socket_lpush_per_s",
        "socket_lpush_cpu_us",
    )
    out.append(Case("floor: redis-py", {"workload": "floor-redis", "count": n}, floors, False))
    floor_sqlite = ("insert_per_s", "pop_per_s")
    out.append(
        Case("floor: sqlite3", {"workload": "floor-sqlite", "count": n}, floor_sqlite, False)
    )
    return out


def original_python() -> Path:
    """The interpreter of a venv holding the original huey (created on first use)."""
    given = os.environ.get("BENCH_ORIGINAL_VENV")
    venv = Path(given) if given else ROOT / ".bench" / "original-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with {' '.join(ORIGINAL_REQUIREMENTS)}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", *ORIGINAL_REQUIREMENTS]
        subprocess.run(pip, check=True)
    return python


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A private redis-server on a free port, without persistence."""

    def __init__(self, scratch: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not on PATH (apt-get install redis-server)")
        self.port = free_port()
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", scratch]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        self.version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=True
        ).stdout.split()[2]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SystemExit("redis-server did not start")

    def stop(self) -> None:
        """Stop the server."""
        self.process.terminate()
        self.process.wait(10)


def run_one(python: Path, spec: dict[str, Any]) -> dict[str, float] | None:
    """Run one workload in a fresh process; its measurements (``None``: it failed).

    The workload runs in a session of its own, so that a run that hangs is killed with
    every process it started (process workers included).
    """
    process = subprocess.Popen(
        [str(python), str(WORKLOADS), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        print(f"  TIMEOUT after {RUN_TIMEOUT}s: {spec} with {python}", flush=True)
        return None
    if process.returncode != 0:
        print(f"  FAILED: {spec} with {python}:\n{stderr[-2000:]}", flush=True)
        return None
    measured: dict[str, float] = json.loads(stdout)
    return measured


def median(runs: list[dict[str, float]], metric: str) -> float:
    """The median of ``metric`` over ``runs`` (NaN when every run failed)."""
    values = [run[metric] for run in runs]
    return statistics.median(values) if values else float("nan")


def table(selected: list[Case]) -> str:
    """The results as a Markdown table (medians; ratio = this project / the original)."""
    lines = [
        "| workload | metric | original | this project | ratio |",
        "|---|---|---|---|---|",
    ]
    for case in selected:
        for metric in case.metrics:
            mine = median(case.runs.get("project", []), metric)
            if not case.both:
                lines.append(f"| {case.name} | {metric} | | {mine:,.1f} | |")
                continue
            theirs = median(case.runs.get("original", []), metric)
            ratio = mine / theirs if theirs else float("nan")
            lines.append(f"| {case.name} | {metric} | {theirs:,.1f} | {mine:,.1f} | {ratio:.2f}x |")
    return "\n".join(lines)


def version_of(python: Path) -> str:
    """The huey version the interpreter imports."""
    code = "import huey; print(huey.__version__)"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True).stdout.strip()


def main() -> None:
    """Run the selected cases, print the table, write the JSON."""
    quick = os.environ.get("BENCH_QUICK") == "1"
    scale = float(os.environ.get("BENCH_SCALE", "0.1" if quick else "1"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    only = [part for part in os.environ.get("BENCH_ONLY", "").split(";") if part]
    selected = [case for case in cases(scale) if not only or any(o in case.name for o in only)]
    pythons = {"original": original_python(), "project": Path(sys.executable)}
    out = Path(os.environ.get("BENCH_OUT", ROOT / ".bench" / "results.json"))
    with tempfile.TemporaryDirectory(prefix="huey-bench-redis-") as scratch:
        server = RedisServer(scratch)
        try:
            for case in selected:
                spec = {**case.spec, "redis_port": server.port}
                impls = ("original", "project") if case.both else ("project",)
                for round_ in range(rounds if case.both else 1):
                    for impl in impls:
                        measured = run_one(pythons[impl], spec)
                        runs = case.runs.setdefault(impl, [])
                        if measured is None:
                            continue
                        runs.append(measured)
                        shown = ", ".join(f"{k}={v:,.1f}" for k, v in measured.items())
                        print(f"  {case.name} [{impl} {round_ + 1}/{rounds}]: {shown}", flush=True)
        finally:
            server.stop()
    machine = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "redis_server": server.version,
        "original": version_of(pythons["original"]),
        "project": version_of(pythons["project"]),
        "rounds": rounds,
        "scale": scale,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": machine,
        "cases": [{"name": c.name, "spec": c.spec, "runs": c.runs} for c in selected],
    }
    out.write_text(json.dumps(report, indent=2))
    print()
    print(", ".join(f"{key}: {value}" for key, value in machine.items()))
    print(table(selected))
    print(f"\nall measurements: {out}")


if __name__ == "__main__":
    main()
