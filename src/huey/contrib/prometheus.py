"""Prometheus metrics of a huey application (``pip install huey[prometheus]``).

The consumer serves them when given a port::

    huey_consumer myapp.tasks.huey -w 4 -k process --metrics-port 9100

or from code, ``huey.create_consumer(metrics_port=9100)``. To count in a process that
only enqueues (a web server), call :func:`instrument` there and expose
:attr:`HueyMetrics.registry` with your web framework's Prometheus integration.

Every metric carries the labels ``queue`` (the application's name) and, for the task
metrics, ``task`` (the task's name):

=====================================  ========================================================
``huey_tasks_enqueued_total``          tasks queued (or run at once in immediate mode)
``huey_tasks_started_total``           runs started
``huey_tasks_succeeded_total``         runs that returned
``huey_tasks_failed_total``            runs that raised or timed out
``huey_tasks_retried_total``           retries queued after a failure
``huey_tasks_revoked_total``           tasks dropped because they were revoked
``huey_tasks_expired_total``           tasks dropped because they expired
``huey_tasks_dead_lettered_total``     messages moved to the dead letters
``huey_task_run_seconds``              histogram: time from start to end of a run
``huey_task_queue_wait_seconds``       histogram: time from enqueue (or ``eta``) to start
``huey_queue_size``                    gauge: messages waiting in the queue
``huey_schedule_size``                 gauge: messages waiting in the schedule
``huey_dead_letters``                  gauge: dead letters (storages with leases only)
``huey_leases_in_flight``              gauge: messages leased by workers, lease not expired
``huey_leases_expired``                gauge: leases expired, not yet returned to the queue
=====================================  ========================================================

The counters and histograms count what happens in the process that instrumented the
application and in the worker processes it forks: with ``-k process`` each worker sends
its observations to the consumer's process, which serves them all from one endpoint.
The gauges are read from the storage at each scrape.

Queue wait needs the time each message was enqueued: :func:`instrument` (and
:func:`record_enqueue_time` alone) stamps it into the message's headers
(``huey-enqueued-at``), so call it where tasks are enqueued too (the application module
is imported by both sides); a message without the header is not measured.

.. versionadded:: 3.6
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import select
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .._task import Task
from ..exceptions import ConfigurationError
from ..protocols import Clock, SupportsLeaseCounts, SupportsLeases
from ..signals import (
    SIGNAL_COMPLETE,
    SIGNAL_DEAD_LETTER,
    SIGNAL_ENQUEUED,
    SIGNAL_ERROR,
    SIGNAL_EXPIRED,
    SIGNAL_RETRYING,
    SIGNAL_REVOKED,
    SIGNAL_TIMEOUT,
    Signal,
)
from ._runs import watch_runs

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

    from .._api import Huey

__all__ = (
    "ENQUEUED_AT_HEADER",
    "HueyMetrics",
    "MetricsServer",
    "enqueue_time",
    "instrument",
    "record_enqueue_time",
    "require_prometheus_client",
    "serve",
)

logger: logging.Logger = logging.getLogger("huey.metrics")

ENQUEUED_AT_HEADER: Final = "huey-enqueued-at"
"""The message header holding the time (UTC epoch seconds) the message was enqueued."""

_COUNTED_SIGNALS: Final[tuple[Signal, ...]] = (
    SIGNAL_ENQUEUED,
    SIGNAL_COMPLETE,
    SIGNAL_ERROR,
    SIGNAL_TIMEOUT,
    SIGNAL_RETRYING,
    SIGNAL_REVOKED,
    SIGNAL_EXPIRED,
    SIGNAL_DEAD_LETTER,
)
# The counter each of those signals adds to.
_COUNTED: Final[Mapping[str, str]] = {
    SIGNAL_ENQUEUED: "enqueued",
    SIGNAL_COMPLETE: "succeeded",
    SIGNAL_ERROR: "failed",
    SIGNAL_TIMEOUT: "failed",
    SIGNAL_RETRYING: "retried",
    SIGNAL_REVOKED: "revoked",
    SIGNAL_EXPIRED: "expired",
    SIGNAL_DEAD_LETTER: "dead_lettered",
}
_COUNTERS: Final = (
    ("enqueued", "tasks queued (or run at once in immediate mode)"),
    ("started", "task runs started"),
    ("succeeded", "task runs that returned"),
    ("failed", "task runs that raised or timed out"),
    ("retried", "retries queued after a failure"),
    ("revoked", "tasks dropped because they were revoked"),
    ("expired", "tasks dropped because they expired"),
    ("dead_lettered", "messages moved to the dead letters"),
)
# A relayed observation is written to the pipe in one write() of at most PIPE_BUF bytes,
# which the kernel keeps whole even when several workers write at once.
_PIPE_BUF: Final = getattr(select, "PIPE_BUF", 512)


def require_prometheus_client() -> None:
    """Fail early, with the install command, if ``prometheus_client`` is missing.

    Raises:
        ConfigurationError: it is not installed.
    """
    if importlib.util.find_spec("prometheus_client") is None:
        raise ConfigurationError(
            "huey's metrics need prometheus-client: pip install 'huey[prometheus]'"
        )


@dataclass(frozen=True, slots=True)
class _EnqueueTime:
    """Header provider: the time a message is queued or scheduled."""

    clock: Clock

    def __call__(self, task: Task[Any]) -> Mapping[str, str]:
        del task
        return {ENQUEUED_AT_HEADER: repr(self.clock.time())}


def record_enqueue_time(huey: Huey[Any]) -> None:
    """Stamp every message ``huey`` queues or schedules with its enqueue time.

    The consumer's queue-wait histogram and ``huey info``'s oldest waiting task read it.
    Calling it again changes nothing.
    """
    huey.engine.events.add_header_provider(_EnqueueTime(huey.engine.ports.clock))


def enqueue_time(task: Task[Any]) -> float | None:
    """When ``task``'s message was enqueued (its header), or ``None`` if it does not say."""
    value = task.headers.get(ENQUEUED_AT_HEADER)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


class _RunStarts(threading.local):
    def __init__(self) -> None:
        # task id -> monotonic time its run started, for the runs open in this thread
        self.by_id: dict[str, float] = {}


class HueyMetrics:
    """The metrics of one application, in a Prometheus registry.

    Create it with :func:`instrument`, which connects it to the application's signals.

    Attributes:
        registry: the Prometheus registry holding the metrics (serve it, or pass your
            own to :func:`instrument`).
    """

    def __init__(self, huey: Huey[Any], registry: CollectorRegistry | None = None) -> None:
        require_prometheus_client()
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry: CollectorRegistry = CollectorRegistry() if registry is None else registry
        self._queue = huey.name
        self._clock = huey.engine.ports.clock
        labels = ("queue", "task")
        self._counters: dict[str, Counter] = {
            kind: Counter(f"huey_tasks_{kind}", text, labels, registry=self.registry)
            for kind, text in _COUNTERS
        }
        self._histograms: dict[str, Histogram] = {
            "run": Histogram(
                "huey_task_run_seconds",
                "time from the start to the end of a task run",
                labels,
                registry=self.registry,
            ),
            "wait": Histogram(
                "huey_task_queue_wait_seconds",
                "time from enqueue (or eta) to the start of a task run",
                labels,
                registry=self.registry,
            ),
        }
        self.registry.register(_StorageGauges(huey))
        self._home_pid = os.getpid()
        self._relay: int | None = None
        self._starts = _RunStarts()

    # --- observations --------------------------------------------------------------------

    def on_signal(self, signal: str, task: Task[Any], *extra: object) -> None:
        """Signal receiver: count the signal's event."""
        del extra
        kind = _COUNTED.get(signal)
        if kind is not None:
            self._observe(kind, task.name, 1.0)

    def run_started(self, task: Task[Any], /) -> None:
        """A run starts: count it, note the time, observe how long it waited."""
        self._observe("started", task.name, 1.0)
        self._starts.by_id[task.id] = self._clock.monotonic()
        enqueued = enqueue_time(task)
        if enqueued is not None:
            since = max(enqueued, task.eta) if task.eta is not None else enqueued
            self._observe("wait", task.name, max(self._clock.time() - since, 0.0))

    def run_ended(self, task: Task[Any], outcome: str, exception: BaseException | None, /) -> None:
        """A run ends: observe how long it took."""
        del outcome, exception
        started = self._starts.by_id.pop(task.id, None)
        if started is not None:
            self._observe("run", task.name, max(self._clock.monotonic() - started, 0.0))

    def _observe(self, kind: str, task_name: str, value: float) -> None:
        if self._relay is not None and os.getpid() != self._home_pid:
            self._send(kind, task_name, value)
        else:
            self.apply(kind, task_name, value)

    def apply(self, kind: str, task_name: str, value: float) -> None:
        """Record one observation: a counter ``kind`` by ``value``, or ``run``/``wait``."""
        histogram = self._histograms.get(kind)
        if histogram is not None:
            histogram.labels(self._queue, task_name).observe(value)
            return
        counter = self._counters.get(kind)
        if counter is not None:
            counter.labels(self._queue, task_name).inc(value)

    # --- forked workers --------------------------------------------------------------------

    def relay_from_forks(self) -> None:
        """Gather the observations of processes forked from now on into this one.

        A forked worker writes each observation to a pipe that a thread of this
        process reads. Call it before forking (the consumer does, for ``-k process``).
        """
        if self._relay is not None:
            return
        read_end, write_end = os.pipe()
        self._relay = write_end
        self._home_pid = os.getpid()

        def close_read_end_in_child() -> None:
            # Only this process reads: a child holding the read end open would, if this
            # process died, fill the pipe and block in write() instead of failing.
            with contextlib.suppress(OSError):
                os.close(read_end)

        os.register_at_fork(after_in_child=close_read_end_in_child)
        thread = threading.Thread(
            target=self._read_relay, args=(read_end,), name="huey-metrics-relay", daemon=True
        )
        thread.start()

    def _send(self, kind: str, task_name: str, value: float) -> None:
        line = json.dumps([kind, task_name, value]).encode() + b"\n"
        if len(line) > _PIPE_BUF or self._relay is None:
            logger.warning("metric of task %.80r not relayed: name too long", task_name)
            return
        try:
            os.write(self._relay, line)
        except OSError:
            logger.warning("metric of task %s not relayed", task_name, exc_info=True)

    def _read_relay(self, read_end: int) -> None:
        pending = b""
        try:
            while chunk := os.read(read_end, 65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._apply_relayed(line)
        finally:
            os.close(read_end)

    def _apply_relayed(self, line: bytes) -> None:
        try:
            kind, task_name, value = json.loads(line)
            self.apply(str(kind), str(task_name), float(value))
        except (ValueError, TypeError):
            logger.warning("unreadable relayed metric %.80r", line)


class _StorageGauges:
    """A collector reading the queue's sizes from the storage at each scrape."""

    def __init__(self, huey: Huey[Any]) -> None:
        self._huey = weakref.ref(huey)

    def collect(self) -> Iterator[Metric]:
        huey = self._huey()
        if huey is None:
            return
        storage = huey.storage
        readings = [
            ("huey_queue_size", "messages waiting in the queue", storage.queue_size),
            ("huey_schedule_size", "messages waiting in the schedule", storage.schedule_size),
        ]
        if isinstance(storage, SupportsLeases):
            leases = storage
            readings.append(
                ("huey_dead_letters", "dead letters", lambda: len(leases.dead_letters(None)))
            )
        for name, text, read in readings:
            try:
                value = read()
            except Exception:  # a scrape must not fail because the storage is unreachable
                logger.warning("cannot read %s from the storage", name, exc_info=True)
                continue
            yield _gauge(name, text, huey.name, value)
        if isinstance(storage, SupportsLeaseCounts):
            try:  # both gauges from one read
                counts = storage.lease_counts(huey.engine.ports.clock.time())
            except Exception:  # as above
                logger.warning("cannot read the leases from the storage", exc_info=True)
                return
            in_flight = "messages leased by workers, lease not expired"
            yield _gauge("huey_leases_in_flight", in_flight, huey.name, counts.in_flight)
            expired = "leases expired, not yet returned to the queue"
            yield _gauge("huey_leases_expired", expired, huey.name, counts.expired)


def _gauge(name: str, text: str, queue: str, value: int) -> Metric:
    from prometheus_client.core import GaugeMetricFamily

    gauge = GaugeMetricFamily(name, text, labels=["queue"])
    gauge.add_metric([queue], float(value))
    return gauge


_instrumented: weakref.WeakKeyDictionary[Huey[Any], HueyMetrics] = weakref.WeakKeyDictionary()
_instrument_lock = threading.Lock()


def instrument(huey: Huey[Any], registry: CollectorRegistry | None = None) -> HueyMetrics:
    """Count ``huey``'s task events into Prometheus metrics; return them.

    Also stamps each message with its enqueue time (:func:`record_enqueue_time`).
    Instrumenting an application twice returns the first metrics.

    Args:
        huey: the application.
        registry: where the metrics go (default: a new registry of their own).

    Raises:
        ConfigurationError: ``prometheus_client`` is not installed, or ``huey`` is
            already instrumented into another registry.
    """
    with _instrument_lock:
        existing = _instrumented.get(huey)
        if existing is not None:
            if registry is not None and registry is not existing.registry:
                raise ConfigurationError(
                    f"{huey.name!r} is already instrumented into another registry"
                )
            return existing
        metrics = HueyMetrics(huey, registry)
        huey.signal(*_COUNTED_SIGNALS)(metrics.on_signal)
        watch_runs(huey, metrics, "huey.contrib.prometheus")
        record_enqueue_time(huey)
        _instrumented[huey] = metrics
        return metrics


class MetricsServer:
    """The HTTP endpoint serving a registry (``GET /metrics``); see :func:`serve`.

    Attributes:
        port: the port it listens on (the one chosen by the system for port 0).
    """

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.port: int = server.server_port

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


def serve(metrics: HueyMetrics, port: int, address: str = "") -> MetricsServer:
    """Serve ``metrics`` over HTTP on ``address:port`` from a background thread.

    Args:
        metrics: what to serve.
        port: the TCP port (0: any free port; see :attr:`MetricsServer.port`).
        address: the interface (default: all).

    Raises:
        ConfigurationError: the port cannot be bound.
    """
    require_prometheus_client()
    from prometheus_client import start_http_server

    try:
        server, thread = start_http_server(
            port, addr=address or "0.0.0.0", registry=metrics.registry
        )
    except OSError as exc:
        raise ConfigurationError(f"cannot serve metrics on port {port}: {exc}") from exc
    logger.info("serving metrics on http://%s:%d/metrics", address or "0.0.0.0", server.server_port)
    return MetricsServer(server, thread)
