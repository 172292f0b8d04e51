"""Where workers run: threads, forked processes or gevent greenlets.

An environment starts a worker body, tells whether it is still alive, bounds a task's
run time (``timeout``) and interrupts running tasks on an immediate shutdown. The stop
flag is a pipe (:class:`PipeFlag`): it survives ``fork()``, is safe to set from a signal
handler and lets an idle worker sleep on it, so a shutdown wakes every worker at once.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import select
import signal
import sys
import threading
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager
from types import FrameType, ModuleType
from typing import Any, Protocol

from typing_extensions import override

from ..constants import WorkerType
from ..exceptions import ConfigurationError, TaskTimeout

__all__ = (
    "Environment",
    "GreenletEnvironment",
    "PipeFlag",
    "ProcessEnvironment",
    "Runner",
    "ThreadEnvironment",
    "WaitReadable",
    "create_environment",
)

logger = logging.getLogger("huey.consumer")


_NO_TIMEOUT: AbstractContextManager[None] = contextlib.nullcontext()
"""What a thread worker wraps each task in (reusable: it holds no state)."""


WaitReadable = Callable[
    [list[int], list[int], list[int], float], tuple[list[int], list[int], list[int]]
]
"""The shape of ``select.select`` as :class:`PipeFlag` calls it."""


class PipeFlag:
    """A one-way boolean flag built on a pipe, shared with forked children.

    ``set`` writes a byte that is never read, so the read end stays readable for ever:
    ``is_set`` and ``wait`` poll it. Writing to a pipe is async-signal-safe, so signal
    handlers may call ``set``. (On Windows, which has neither ``fork`` nor ``select`` on
    pipes, it is a plain thread event.)
    """

    def __init__(self, wait_readable: WaitReadable = select.select) -> None:
        """
        Args:
            wait_readable: ``select.select`` or a function like it, which the flag's
                waits call (greenlet workers pass gevent's, which yields to the hub).
        """
        self._wait_readable = wait_readable
        self._event: threading.Event | None = None
        self._read = self._write = -1
        if sys.platform == "win32":  # pragma: no cover - no Windows CI
            self._event = threading.Event()
        else:
            self._read, self._write = os.pipe()
            os.set_blocking(self._write, False)
        self._set = False

    def set(self) -> None:
        """Raise the flag (idempotent)."""
        if self._event is not None:  # pragma: no cover - Windows
            self._event.set()
        elif not self._set:
            self._set = True
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self._write, b"x")

    def is_set(self) -> bool:
        """Whether the flag is raised (in this process or any related one)."""
        return self.wait(0)

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds or until the flag is raised; whether it is."""
        if self._event is not None:  # pragma: no cover - Windows
            return self._event.wait(max(timeout, 0.0))
        ready, _, _ = self._wait_readable([self._read], [], [], max(timeout, 0.0))
        return bool(ready)

    def close(self) -> None:
        """Release the pipe."""
        for fd in (self._read, self._write):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)


class Runner(Protocol):
    """A started worker."""

    @property
    def name(self) -> str:
        """Human-readable name."""
        ...

    def is_alive(self) -> bool:
        """Whether the worker body is still running."""
        ...

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker to end, at most ``timeout`` seconds."""
        ...


class Environment:
    """How workers are run: threads here, processes and greenlets in the subclasses.

    Attributes:
        enforces_timeouts: whether a task overrunning its ``timeout`` is cut short
            (otherwise the worker only warns, and tasks may call ``check_timeout``).
    """

    enforces_timeouts = False

    def start(self, body: Callable[[], None], name: str) -> Runner:
        """Run ``body`` in a new worker named ``name``."""
        raise NotImplementedError

    def stop_flag(self) -> PipeFlag:
        """A new stop flag whose waits let this environment's other workers run."""
        return PipeFlag()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds or until ``event`` is set; whether it is.

        The consumer's main loop waits here, so that the workers keep running.
        """
        return event.wait(timeout)

    def timeout(self, seconds: float | None) -> AbstractContextManager[None]:
        """Bound the task run inside the ``with`` block to ``seconds`` (inside a worker).

        Threads cannot be interrupted: this one does nothing, and a task checks its
        budget itself (the engine's runner sets the deadline that ``check_timeout`` reads
        around every run, whatever the environment).
        """
        del seconds
        return _NO_TIMEOUT

    def interrupt(self, runners: list[Runner]) -> None:
        """Cut short the tasks running in ``runners`` (immediate shutdown)."""
        del runners

    def prepare_worker(self, on_interrupt_request: Callable[[], None]) -> None:
        """Called first thing inside a new worker (process workers install handlers).

        Args:
            on_interrupt_request: what to do when asked to stop while no task runs.
        """
        del on_interrupt_request


class ThreadEnvironment(Environment):
    """Daemon threads. Timeouts are cooperative (:func:`check_timeout`)."""

    @override
    def start(self, body: Callable[[], None], name: str) -> Runner:
        thread = threading.Thread(target=body, name=name, daemon=True)
        thread.start()
        return thread


class ProcessEnvironment(Environment):
    """Forked child processes; timeouts enforced with ``SIGALRM``.

    On an immediate shutdown the parent sends ``SIGTERM``: a child running a task raises
    ``KeyboardInterrupt`` in it (``SIGNAL_INTERRUPTED``; with leased delivery the message
    goes back to the queue); an idle child just stops. Children ignore ``SIGINT`` and
    ``SIGHUP``, which belong to the parent (a terminal's Ctrl-C reaches the whole group).
    """

    enforces_timeouts = True

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("fork")
        self._busy = False

    @override
    def start(self, body: Callable[[], None], name: str) -> Runner:
        process = self._context.Process(target=body, name=name, daemon=True)
        process.start()
        return process

    @override
    def prepare_worker(self, on_interrupt_request: Callable[[], None]) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

        def on_term(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            on_interrupt_request()
            if self._busy:
                raise KeyboardInterrupt("consumer stopped immediately")

        signal.signal(signal.SIGTERM, on_term)

    @override
    @contextlib.contextmanager
    def timeout(self, seconds: float | None) -> Generator[None, None, None]:
        def on_alarm(signum: int, frame: FrameType | None) -> None:
            del signum, frame
            raise TaskTimeout(f"task timed out after {seconds:g}s")

        self._busy = True
        try:
            if seconds is None:
                yield
                return
            previous = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, seconds)
            try:
                yield
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        finally:
            self._busy = False

    @override
    def interrupt(self, runners: list[Runner]) -> None:
        for runner in runners:
            pid = getattr(runner, "pid", None)
            if isinstance(pid, int) and runner.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)


def _import_gevent() -> ModuleType:
    try:
        return importlib.import_module("gevent")
    except ImportError as exc:
        raise ConfigurationError(
            "worker_type 'greenlet' needs gevent, which is not installed: "
            "pip install gevent (or use -k thread / -k process)"
        ) from exc


_SHORTEST_TURN = 1e-6
"""Seconds a greenlet's stop-flag check waits at least, so that the hub runs its loop."""


class GreenletEnvironment(Environment):
    """gevent greenlets (needs ``gevent``; monkey-patch the app for concurrency).

    Timeouts are enforced with ``gevent.Timeout``; an immediate shutdown raises
    ``KeyboardInterrupt`` in every greenlet. The consumer's own waits (its main loop,
    an idle worker's pause, the stop flag) go through gevent whether or not the process
    is patched: unpatched, they would block the one OS thread, gevent's hub would never
    switch to a worker greenlet, and no task would run. Unpatched, a worker still holds
    the thread through a task and through storage calls, so tasks run one at a time.
    """

    enforces_timeouts = True

    def __init__(self) -> None:
        self._gevent = _import_gevent()
        self._select: WaitReadable = importlib.import_module("gevent.select").select
        monkey = importlib.import_module("gevent.monkey")
        self._threading_patched = bool(monkey.is_module_patched("threading"))
        if not monkey.is_module_patched("socket"):
            logger.warning(
                "greenlet workers without gevent monkey-patching run one task at a time; "
                "call gevent.monkey.patch_all() at the top of the app module"
            )

    @override
    def stop_flag(self) -> PipeFlag:
        return PipeFlag(self._wait_readable)

    def _wait_readable(
        self, read: list[int], write: list[int], error: list[int], timeout: float
    ) -> tuple[list[int], list[int], list[int]]:
        # gevent's select with a zero timeout switches only to greenlets that are ready:
        # the hub runs no timers, and the consumer's main loop, which sleeps on one,
        # would starve while busy workers check the stop flag. A positive timeout makes
        # the hub go round its loop once.
        return self._select(read, write, error, max(timeout, _SHORTEST_TURN))

    @override
    def wait(self, event: threading.Event, timeout: float) -> bool:
        if self._threading_patched:  # the event's wait yields to the hub already
            return event.wait(timeout)
        # An unpatched event's wait would block the hub: sleep in gevent instead (the
        # main loop's tick is short, so a set event is seen soon enough).
        self._gevent.sleep(timeout)
        return event.is_set()

    @override
    def start(self, body: Callable[[], None], name: str) -> Runner:
        greenlet: Any = self._gevent.spawn(body)
        return _GreenletRunner(greenlet, name)

    @override
    @contextlib.contextmanager
    def timeout(self, seconds: float | None) -> Generator[None, None, None]:
        if seconds is None:
            yield
            return
        with self._gevent.Timeout(seconds, TaskTimeout(f"task timed out after {seconds:g}s")):
            yield

    @override
    def interrupt(self, runners: list[Runner]) -> None:
        greenlets = [runner.greenlet for runner in runners if isinstance(runner, _GreenletRunner)]
        self._gevent.killall(greenlets, KeyboardInterrupt, block=False)


class _GreenletRunner:
    def __init__(self, greenlet: Any, name: str) -> None:
        self.greenlet = greenlet
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def is_alive(self) -> bool:
        return not bool(self.greenlet.dead)

    def join(self, timeout: float | None = None) -> None:
        self.greenlet.join(timeout)


def create_environment(kind: WorkerType) -> Environment:
    """The environment for worker type ``kind``.

    Raises:
        ConfigurationError: greenlet workers without gevent installed.
    """
    if kind == "process":
        return ProcessEnvironment()
    if kind == "greenlet":
        return GreenletEnvironment()
    return ThreadEnvironment()
