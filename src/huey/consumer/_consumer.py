"""The consumer: starts workers and the scheduler, watches them, stops them."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from typing_extensions import Unpack

from .._delivery import release, uses_leases
from ..exceptions import ConfigurationError
from ..protocols import SupportsClose, SupportsDurabilityReport
from ..serializer import Serializer as PickleSerializer
from ..signals import SIGNAL_INTERRUPTED
from ..storage import BlackHoleStorage, MemoryStorage
from ._environment import Environment, PipeFlag, Runner, create_environment
from ._options import ConsumerKwargs, ConsumerOptions, check_options
from ._signals import SignalState, install_handlers
from ._worker import Scheduler, Worker

if TYPE_CHECKING:
    from .._api import Huey
    from ..contrib.prometheus import MetricsServer

__all__ = ("Consumer", "pickle_warning", "process_local_warning")

logger = logging.getLogger("huey.consumer")

_MAIN_LOOP_TICK = 0.1
_IMMEDIATE_JOIN_SECONDS = 5.0


class _Slot:
    """A worker body and the runner currently executing it."""

    def __init__(self, body: Worker | Scheduler, runner: Runner) -> None:
        self.body = body
        self.runner = runner


class Consumer:
    """Runs the tasks of a :class:`~huey.Huey`: workers, a scheduler, health checks.

    Satisfies :class:`huey.protocols.Consumer`. The options and their defaults are the
    original huey's (see :doc:`/consumer`).

    Args:
        huey: the application whose tasks are run.
        options: ``workers``, ``periodic``, ``initial_delay``, ``backoff``,
            ``max_delay``, ``scheduler_interval``, ``worker_type``,
            ``check_worker_health``, ``health_check_interval``, ``flush_locks``,
            ``extra_locks``, ``max_tasks``, ``shutdown_timeout``, ``graceful_signal``,
            ``metrics_port``, ``metrics_address``.

    Raises:
        ConfigurationError: an option is invalid, the huey is in immediate mode,
            greenlet workers are asked for without gevent installed, or metrics without
            prometheus-client.
    """

    def __init__(self, huey: Huey[Any], **options: Unpack[ConsumerKwargs]) -> None:
        self.options: ConsumerOptions = check_options(**options)
        if huey.immediate:
            raise ConfigurationError(
                "the consumer cannot run a Huey in immediate mode (tasks already run when "
                "enqueued); set immediate=False"
            )
        if self.options.metrics_port is not None:
            from ..contrib.prometheus import require_prometheus_client

            require_prometheus_client()
        self.huey = huey
        self.environment: Environment = create_environment(self.options.worker_type)
        self.stop_flag: PipeFlag = self.environment.stop_flag()
        self.signals: SignalState = SignalState()
        self.workers: list[_Slot] = []
        self.scheduler: _Slot | None = None
        self._started = False
        self._stopped = False
        self._worker_serial = 0
        self._next_health_check = 0.0
        self.metrics_server: MetricsServer | None = None

    # --- start ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers and the scheduler without blocking.

        Raises:
            ConfigurationError: already started.
        """
        if self._started:
            raise ConfigurationError("this consumer was already started; create a new one")
        self._started = True
        options = self.options
        if options.metrics_port is not None:
            self.metrics_server = self._serve_metrics(options.metrics_port)
        tasks = sorted(self.huey.engine.registry)
        logger.info(
            "huey consumer %s: %d %s worker(s), periodic %s, scheduler every %ds, "
            "delivery %s; tasks: %s",
            self.huey.name,
            options.workers,
            options.worker_type,
            "on" if options.periodic else "off",
            options.scheduler_interval,
            self._delivery_text(),
            ", ".join(tasks) or "(none)",
        )
        storage = self.huey.storage
        local_only = process_local_warning(storage, options.worker_type)
        if local_only:
            logger.warning("%s", local_only)
        unsafe_reads = pickle_warning(self.huey.serializer, storage)
        if unsafe_reads:
            logger.warning("%s", unsafe_reads)
        if options.flush_locks:
            released = self.huey.flush_locks(*options.extra_locks)
            logger.info("released locks: %s", ", ".join(sorted(released)) or "(none held)")
        if isinstance(storage, SupportsDurabilityReport):
            warning = storage.persistence_warning()
            if warning:
                logger.warning("%s", warning)
        if options.worker_type == "process" and isinstance(storage, SupportsClose):
            # Children must not share the parent's connections: each opens its own.
            storage.close()
        self.scheduler = self._start_scheduler()
        self.workers = [self._start_worker() for _ in range(options.workers)]
        self._next_health_check = time.monotonic() + options.health_check_interval

    def _serve_metrics(self, port: int) -> MetricsServer:
        """Count the tasks' events and serve them on ``port`` (before any worker forks)."""
        from ..contrib.prometheus import instrument, serve

        metrics = instrument(self.huey)
        if self.options.worker_type == "process":
            metrics.relay_from_forks()
        return serve(metrics, port, self.options.metrics_address)

    def _delivery_text(self) -> str:
        """The delivery mode in effect, which may not be the one asked for."""
        engine = self.huey.engine
        if uses_leases(self.huey):
            return f"at-least-once (leases of {engine.settings.lease_timeout:g}s)"
        if engine.settings.delivery == "at-most-once":
            return "at-most-once (as configured)"
        return (
            f"at-most-once: at-least-once was asked for, but {type(self.huey.storage).__name__} "
            "has no leases, so a task whose worker dies while running it is lost"
        )

    def _start_worker(self) -> _Slot:
        self._worker_serial += 1
        name = f"worker-{self._worker_serial}"
        worker = Worker(self.huey, self.options, self.environment, self.stop_flag, name)
        return _Slot(worker, self.environment.start(worker.run, name))

    def _start_scheduler(self) -> _Slot:
        scheduler = Scheduler(self.huey, self.options, self.stop_flag)
        environment = self.environment

        def body() -> None:
            scheduler.run_in(environment)

        return _Slot(scheduler, environment.start(body, "scheduler"))

    # --- run -------------------------------------------------------------------------

    def run(self) -> None:
        """Start, then supervise until a signal (or :meth:`stop`) ends the consumer.

        SIGINT stops gracefully and SIGTERM immediately (swapped with
        ``graceful_signal="TERM"``); a second graceful signal forces an immediate stop;
        SIGHUP stops gracefully and starts the same command again.
        """
        in_main_thread = threading.current_thread() is threading.main_thread()
        restore = (
            install_handlers(self.signals, self.options.graceful_signal) if in_main_thread else None
        )
        try:
            self.start()
            while self.signals.request is None and not self._stopped:
                self.environment.wait(self.signals.wake, _MAIN_LOOP_TICK)
                if self.options.check_worker_health and time.monotonic() >= self._next_health_check:
                    self.check_health()
            request = self.signals.request
            if request is not None and not self._stopped:
                logger.info("stop requested (%s)", request)
                self.stop(graceful=request != "immediate")
        finally:
            if restore is not None:
                restore()
        if self.signals.request == "restart" and not self.signals.forced():
            self._restart()

    def _restart(self) -> None:
        logger.info("restarting: %s", " ".join(sys.orig_argv))
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])

    def check_health(self) -> None:
        """Replace dead workers (and a dead scheduler) with fresh ones."""
        self._next_health_check = time.monotonic() + self.options.health_check_interval
        if self._stopped or self.stop_flag.is_set():
            return
        for index, slot in enumerate(self.workers):
            if slot.runner.is_alive():
                continue
            body = slot.body
            recycled = isinstance(body, Worker) and body.recycled
            exitcode = getattr(slot.runner, "exitcode", None)
            if recycled or exitcode == 0:
                logger.info("%s ended (recycled); starting a new worker", slot.runner.name)
            else:
                logger.error(
                    "%s died (exit code %s); starting a new worker", slot.runner.name, exitcode
                )
            self.workers[index] = self._start_worker()
        if self.scheduler is not None and not self.scheduler.runner.is_alive():
            logger.error("the scheduler died; starting a new one")
            self.scheduler = self._start_scheduler()

    # --- stop --------------------------------------------------------------------------

    def stop(self, graceful: bool = False) -> None:
        """Stop the workers and the scheduler.

        Args:
            graceful: wait for running tasks to finish (at most ``shutdown_timeout``
                seconds, or until a second stop signal); otherwise interrupt them
                (``SIGNAL_INTERRUPTED``; with leased delivery their messages return to
                the queue).
        """
        if self._stopped:
            return
        self._stopped = True
        self.stop_flag.set()
        slots = [*self.workers, *([self.scheduler] if self.scheduler else [])]
        if graceful:
            logger.info("stopping gracefully: waiting for running tasks")
            deadline = (
                None
                if self.options.shutdown_timeout is None
                else time.monotonic() + self.options.shutdown_timeout
            )
            while any(slot.runner.is_alive() for slot in slots):
                if self.signals.forced():
                    logger.warning("second stop request: interrupting running tasks")
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    logger.warning(
                        "shutdown timeout (%gs) reached: interrupting running tasks",
                        self.options.shutdown_timeout,
                    )
                    break
                for slot in slots:
                    slot.runner.join(_MAIN_LOOP_TICK)
                    if self.signals.forced():
                        break
        alive = [slot for slot in slots if slot.runner.is_alive()]
        if alive:
            self._interrupt(alive)
        storage = self.huey.storage
        if isinstance(storage, SupportsClose) and self.options.worker_type != "thread":
            storage.close()
        if self.metrics_server is not None:
            self.metrics_server.close()
        logger.info("consumer stopped")

    def _interrupt(self, alive: list[_Slot]) -> None:
        self.environment.interrupt([slot.runner for slot in alive])
        if self.options.worker_type == "thread":
            # Threads cannot be interrupted: report their tasks and give the messages
            # back; the daemon threads end with the process.
            for slot in alive:
                body = slot.body
                received = body.in_flight if isinstance(body, Worker) else None
                if received is None:
                    continue
                returned = release(self.huey, received)
                logger.warning(
                    "interrupted task %s (%s)%s",
                    received.task.name,
                    received.task.id,
                    "; its message is back in the queue" if returned else "",
                )
                self.huey.engine.events.emit(SIGNAL_INTERRUPTED, received.task)
            return
        deadline = time.monotonic() + _IMMEDIATE_JOIN_SECONDS
        for slot in alive:
            slot.runner.join(max(deadline - time.monotonic(), 0.0))
            if slot.runner.is_alive():
                logger.error("%s did not stop; killing it", slot.runner.name)
                kill = getattr(slot.runner, "kill", None)
                if callable(kill):
                    kill()


def pickle_warning(serializer: object, storage: object) -> str | None:
    """What unpickling means here, when ``serializer`` unpickles what others could write."""
    if isinstance(storage, MemoryStorage | BlackHoleStorage):
        return None  # nobody outside this process writes to it
    # A subclass that overrides _deserialize (the original's extension point) may not
    # unpickle at all: only the pickle serializer as shipped is known to.
    if not isinstance(serializer, PickleSerializer):
        return None
    subclasses = type(serializer).__mro__[: type(serializer).__mro__.index(PickleSerializer)]
    if any("_deserialize" in vars(cls) for cls in subclasses):
        return None
    return (
        "this consumer reads its tasks with pickle (the default serializer): anyone who "
        "can write to the storage can run code in it. Restrict who can write to the "
        "storage, or use huey.serializer.SignedSerializer(JSONSerializer(), secret) "
        "(see the Security page of the docs)"
    )


def process_local_warning(storage: object, worker_type: str) -> str | None:
    """Why a consumer on ``storage`` cannot see other processes' tasks, if it cannot."""
    # By storage type, not Huey class: Huey(storage=MemoryStorage(...)) is the same trap.
    if isinstance(storage, BlackHoleStorage):
        return "BlackHoleStorage discards every task it is given: this consumer will never run one"
    if not isinstance(storage, MemoryStorage):
        return None
    text = (
        "MemoryStorage keeps its queue in this process's memory: this consumer only runs "
        "tasks enqueued by this very process, never those of other programs; use "
        "SqliteHuey, FileHuey or RedisHuey to share a queue between processes"
    )
    if worker_type == "process":
        text += (
            ". With process workers it is worse: each worker gets its own copy of the queue "
            "at start-up, so a task enqueued before the start runs once per worker and tasks "
            "enqueued later never run"
        )
    return text
