"""One benchmark workload, run in this process against whichever ``huey`` it imports.

``benchmarks/harness.py`` (``make bench``) runs this script once per workload and round,
alternately with the interpreter of a virtual environment holding the original huey
3.5.4 and with this project's, so both run the very same code through the API they
share. It prints one JSON object on stdout: the measurements of that run.

Usage: ``python benchmarks/workloads.py '<json spec>'``, the spec naming the workload
(``enqueue``, ``map``, ``drain``, ``roundtrip``, ``scheduled``, ``floor-redis``,
``floor-sqlite``), the storage (``redis`` or ``sqlite``) and its sizes. The module
imports nothing from the benchmarks directory and takes huey through ``Any``: the
original has no type information.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from typing import Any


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_children() -> float:
    # Only children that were waited for are counted: process workers, once joined.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class App:
    """A huey application on the storage the spec names, with the benchmark's tasks."""

    def __init__(self, spec: dict[str, Any]) -> None:
        module: Any = importlib.import_module("huey")
        self.version: str = str(getattr(module, "__version__", "?"))
        results = bool(spec.get("results", True))
        name = f"bench-{uuid.uuid4().hex[:12]}"
        if spec["storage"] == "redis":
            self.huey: Any = module.RedisHuey(
                name,
                results=results,
                port=int(spec["redis_port"]),
                notify_result=bool(spec.get("notify_result", False)),
            )
        else:
            path = os.path.join(spec["dir"], f"{name}.db")
            self.huey = module.SqliteHuey(name, results=results, filename=path)
        self.huey.flush()

        def noop() -> int:
            return 1

        def now() -> float:
            return time.time()

        self.noop: Any = self.huey.task(name="noop")(noop)
        self.now: Any = self.huey.task(name="now")(now)

    def result_count(self) -> int:
        return int(self.huey.storage.result_store_size())

    def consumer(self, workers: int, worker_type: str) -> Any:
        return self.huey.create_consumer(workers=workers, worker_type=worker_type, periodic=False)


def _timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``run()`` in this process."""
    cpu, wall = _cpu_self(), time.perf_counter()
    run()
    return time.perf_counter() - wall, _cpu_self() - cpu


def enqueue(spec: dict[str, Any]) -> dict[str, float]:
    """``count`` task calls (or one ``map()`` of ``count``): tasks/s and CPU µs per task."""
    app = App(spec)
    count = int(spec["count"])
    noop = app.noop
    if spec["workload"] == "map":
        wall, cpu = _timed(lambda: noop.map([() for _ in range(count)]))
    else:

        def calls() -> None:
            for _ in range(count):
                noop()

        wall, cpu = _timed(calls)
    queued = len(app.huey)
    app.huey.flush()
    if queued != count:
        raise SystemExit(f"{queued} tasks queued, expected {count}")
    return {"tasks_per_s": count / wall, "cpu_us_per_task": cpu / count * 1e6}


def drain(spec: dict[str, Any]) -> dict[str, float]:
    """Pre-enqueue ``count`` no-op tasks, then run a consumer until every result is stored."""
    app = App(spec)
    count = int(spec["count"])
    for _ in range(count):
        app.noop()
    consumer = app.consumer(int(spec["workers"]), str(spec["worker_type"]))
    cpu_self, cpu_children = _cpu_self(), _cpu_children()
    started = time.perf_counter()
    consumer.start()
    deadline = started + float(spec.get("timeout", 240))
    while app.result_count() < count:
        if time.perf_counter() > deadline:
            consumer.stop(graceful=False)
            raise SystemExit(f"drain timed out with {app.result_count()} of {count} results")
        time.sleep(0.01)
    wall = time.perf_counter() - started
    consumer.stop(graceful=True)
    cpu = _cpu_self() - cpu_self + _cpu_children() - cpu_children
    app.huey.flush()
    return {"tasks_per_s": count / wall, "cpu_us_per_task": cpu / count * 1e6}


def roundtrip(spec: dict[str, Any]) -> dict[str, float]:
    """Enqueue one task and block on its result, ``count`` times: p50 and p99 in ms."""
    app = App(spec)
    consumer = app.consumer(1, "thread")
    consumer.start()
    try:
        for _ in range(5):  # warm up connections and the worker
            app.noop().get(blocking=True, timeout=10)
        times: list[float] = []
        for _ in range(int(spec["count"])):
            started = time.perf_counter()
            if app.noop().get(blocking=True, timeout=10) != 1:
                raise SystemExit("round trip: no result within 10 s")
            times.append(time.perf_counter() - started)
    finally:
        consumer.stop(graceful=True)
    app.huey.flush()
    return {
        "p50_ms": statistics.median(times) * 1e3,
        "p99_ms": _percentile(times, 0.99) * 1e3,
    }


def scheduled(spec: dict[str, Any]) -> dict[str, float]:
    """Schedule ``count`` tasks due over ``spread`` seconds: how late each starts (ms)."""
    app = App(spec)
    count, spread = int(spec["count"]), float(spec.get("spread", 3.0))
    consumer = app.consumer(2, "thread")
    consumer.start()
    try:
        pending: list[tuple[float, Any]] = []
        for i in range(count):
            delay = 0.5 + spread * i / count
            due = time.time() + delay
            pending.append((due, app.now.schedule(delay=delay)))
        late = [(result.get(blocking=True, timeout=30) - due) * 1e3 for due, result in pending]
    finally:
        consumer.stop(graceful=True)
    app.huey.flush()
    return {"p50_ms": statistics.median(late), "p99_ms": _percentile(late, 0.99)}


def floor_redis(spec: dict[str, Any]) -> dict[str, float]:
    """redis-py on its own: LPUSH then BRPOP of ``count`` payloads of a message's size;
    and the bare round trip: the same LPUSH packed once, on a plain socket."""
    import socket

    import redis

    client: Any = redis.Redis(port=int(spec["redis_port"]))
    key, count, payload = f"bench-floor-{uuid.uuid4().hex}", int(spec["count"]), b"x" * 200

    def push() -> None:
        for _ in range(count):
            client.lpush(key, payload)

    def pop() -> None:
        for _ in range(count):
            client.brpop(key, 1)

    def push_pipelined() -> None:
        for start in range(0, count, 1000):
            pipe = client.pipeline(transaction=False)
            for _ in range(min(1000, count - start)):
                pipe.lpush(key, payload)
            pipe.execute()

    # No client library at all: the command packed once, one send and one read a call,
    # on a socket with a timeout as every redis-py connection has. No enqueue making one
    # round trip a call, through any client, can be faster than this.
    raw = socket.create_connection(("127.0.0.1", int(spec["redis_port"])), timeout=10)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    packed = b"*3\r\n$5\r\nLPUSH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (
        len(key),
        key.encode(),
        len(payload),
        payload,
    )

    def push_raw() -> None:
        for _ in range(count):
            raw.sendall(packed)
            reply = raw.recv(64)
            while not reply.endswith(b"\r\n"):
                reply += raw.recv(64)

    push_wall, push_cpu = _timed(push)
    pop_wall, pop_cpu = _timed(pop)
    pipe_wall, _ = _timed(push_pipelined)
    raw_wall, raw_cpu = _timed(push_raw)
    raw.close()
    client.delete(key)
    return {
        "lpush_per_s": count / push_wall,
        "lpush_cpu_us": push_cpu / count * 1e6,
        "brpop_per_s": count / pop_wall,
        "brpop_cpu_us": pop_cpu / count * 1e6,
        "pipelined_lpush_per_s": count / pipe_wall,
        "socket_lpush_per_s": count / raw_wall,
        "socket_lpush_cpu_us": raw_cpu / count * 1e6,
    }


def floor_sqlite(spec: dict[str, Any]) -> dict[str, float]:
    """sqlite3 on its own (WAL, one transaction per operation): insert then pop ``count``."""
    path = os.path.join(spec["dir"], f"floor-{uuid.uuid4().hex}.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, data BLOB)")
    count, payload = int(spec["count"]), b"x" * 200

    def insert() -> None:
        for _ in range(count):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO q (data) VALUES (?)", (payload,))
            conn.execute("COMMIT")

    def pop() -> None:
        for _ in range(count):
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT id, data FROM q ORDER BY id LIMIT 1").fetchone()
            conn.execute("DELETE FROM q WHERE id = ?", (row[0],))
            conn.execute("COMMIT")

    insert_wall, _ = _timed(insert)
    pop_wall, _ = _timed(pop)
    conn.close()
    return {"insert_per_s": count / insert_wall, "pop_per_s": count / pop_wall}


WORKLOADS: dict[str, Callable[[dict[str, Any]], dict[str, float]]] = {
    "enqueue": enqueue,
    "map": enqueue,
    "drain": drain,
    "roundtrip": roundtrip,
    "scheduled": scheduled,
    "floor-redis": floor_redis,
    "floor-sqlite": floor_sqlite,
}


def main(argv: list[str]) -> None:
    """Run the workload the JSON spec in ``argv[1]`` names; print its measurements."""
    spec: dict[str, Any] = json.loads(argv[1])
    with tempfile.TemporaryDirectory(prefix="huey-bench-") as scratch:
        spec.setdefault("dir", scratch)
        measured = WORKLOADS[spec["workload"]](spec)
    json.dump(measured, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
