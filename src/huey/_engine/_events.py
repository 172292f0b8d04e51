"""Signals and hooks: the application's receivers, and the code that calls them.

A receiver or hook that raises is logged and does not stop the task or the others,
except that :class:`~huey.CancelExecution` from a pre-execute hook cancels the task.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Literal, TypeAlias

from .._task import Task
from ..exceptions import CancelExecution
from ..signals import ALL_SIGNALS, SIGNAL_ERROR, Signal

__all__ = ("Events", "HeaderProvider", "HookKind", "Receiver")

logger = logging.getLogger("huey")

Receiver: TypeAlias = Callable[..., object]
"""A signal receiver, called as ``receiver(signal, task, *extra)``."""

HookKind: TypeAlias = Literal["pre_execute", "post_execute", "startup", "shutdown"]
"""When a hook runs: before or after each task, or when each worker starts or stops."""

HeaderProvider: TypeAlias = Callable[[Task[Any]], Mapping[str, str]]
"""Gives headers for a task about to be queued or scheduled (merged over its own)."""


class Events:
    """The signal receivers and hooks of one application."""

    def __init__(self) -> None:
        self.receivers: dict[Signal, list[Receiver]] = {signal: [] for signal in ALL_SIGNALS}
        self.hooks: dict[HookKind, dict[str, Callable[..., object]]] = {
            "pre_execute": {},
            "post_execute": {},
            "startup": {},
            "shutdown": {},
        }
        self.header_providers: list[HeaderProvider] = []

    # --- signals -----------------------------------------------------------------------

    def check(self, signals: tuple[Signal, ...]) -> tuple[Signal, ...]:
        """``signals`` (all signals when empty), if every name is a signal.

        Raises:
            ValueError: a name is not a signal (untyped callers).
        """
        chosen = signals or ALL_SIGNALS
        unknown = [signal for signal in chosen if signal not in self.receivers]
        if unknown:
            raise ValueError(f"unknown signals: {unknown}")
        return chosen

    def connect(self, receiver: Receiver, signals: tuple[Signal, ...]) -> None:
        """Connect ``receiver`` to ``signals`` (to all signals when empty).

        Raises:
            ValueError: a name is not a signal.
            TypeError: ``receiver`` cannot be called the way these signals call it.
        """
        chosen = self.check(signals)
        _check_receiver(receiver, chosen)
        for signal in chosen:
            if receiver not in self.receivers[signal]:
                self.receivers[signal].append(receiver)

    def disconnect(self, receiver: Receiver, signals: tuple[Signal, ...]) -> None:
        """Disconnect ``receiver`` from ``signals`` (from all when empty)."""
        for signal in signals or ALL_SIGNALS:
            if receiver in self.receivers[signal]:
                self.receivers[signal].remove(receiver)

    def emit(self, signal: Signal, task: Task[Any], *extra: object) -> None:
        """Call every receiver of ``signal`` as ``receiver(signal, task, *extra)``."""
        receivers = self.receivers[signal]
        if not receivers:  # the usual case: no copy to make
            return
        for receiver in list(receivers):
            try:
                receiver(signal, task, *extra)
            except Exception:
                logger.exception("signal receiver %s failed on %s", _name_of(receiver), signal)

    # --- headers -----------------------------------------------------------------------

    def add_header_provider(self, provider: HeaderProvider) -> None:
        """Call ``provider(task)`` each time a task is queued or scheduled.

        The headers it returns are merged over the task's own and travel with its
        message (:attr:`Message.headers <huey._messages.Message.headers>`); the
        operations integrations (:mod:`huey.contrib.otel`, :mod:`huey.contrib.prometheus`)
        carry a trace context and the enqueue time this way.
        """
        if provider not in self.header_providers:
            self.header_providers.append(provider)

    def stamp(self, task: Task[Any]) -> Task[Any]:
        """``task`` with the headers of every provider (itself when there is none).

        A provider that raises is logged and skipped: headers are metadata, and the
        task is queued without them rather than lost.
        """
        if not self.header_providers:
            return task
        headers = dict(task.headers)
        for provider in list(self.header_providers):
            try:
                headers.update(provider(task))
            except Exception:
                logger.exception("header provider %s failed on %s", _name_of(provider), task.id)
        return replace(task, headers=headers)

    # --- hooks -------------------------------------------------------------------------

    def add_hook(self, kind: HookKind, hook: Callable[..., object], name: str | None) -> None:
        """Register ``hook`` under ``name`` (default: the function's name)."""
        self.hooks[kind][name or str(getattr(hook, "__name__", repr(hook)))] = hook

    def remove_hook(self, kind: HookKind, name_or_fn: str | Callable[..., object]) -> bool:
        """Remove a hook by name or function; whether it was found."""
        hooks = self.hooks[kind]
        if isinstance(name_or_fn, str):
            return hooks.pop(name_or_fn, None) is not None
        for key, fn in list(hooks.items()):
            if fn is name_or_fn:
                del hooks[key]
                return True
        return False

    def run_pre_execute(self, task: Task[Any]) -> None:
        """Run the pre-execute hooks.

        Raises:
            CancelExecution: a hook cancelled the task.
        """
        for name, hook in list(self.hooks["pre_execute"].items()):
            try:
                hook(task)
            except CancelExecution:
                logger.info("task %s cancelled by pre-execute hook %s", task.id, name)
                raise
            except Exception:
                logger.exception("pre-execute hook %s failed", name)

    def run_post_execute(self, task: Task[Any], value: object, exc: BaseException | None) -> None:
        """Run the post-execute hooks with what the task returned or raised."""
        for name, hook in list(self.hooks["post_execute"].items()):
            try:
                hook(task, value, exc)
            except Exception:
                logger.exception("post-execute hook %s failed", name)

    def run_lifecycle(self, kind: Literal["startup", "shutdown"]) -> None:
        """Run the startup or shutdown hooks (each consumer worker does)."""
        for name, hook in list(self.hooks[kind].items()):
            try:
                hook()
            except Exception:
                logger.exception("%s hook %s failed", kind, name)


def _name_of(fn: Callable[..., object]) -> str:
    module = getattr(fn, "__module__", None)
    name = getattr(fn, "__qualname__", None) or repr(fn)
    return f"{module}.{name}" if module else str(name)


def _check_receiver(receiver: Receiver, signals: tuple[Signal, ...]) -> None:
    """Refuse at connection a receiver that every emission would fail to call.

    Receivers are called as ``receiver(signal, task)``, and for ``error`` as
    ``receiver(signal, task, exception)``.
    """
    if not callable(receiver):
        raise TypeError(f"a signal receiver must be callable, got {receiver!r}")
    try:
        signature = inspect.signature(receiver)
    except (TypeError, ValueError):  # not introspectable: it will tell when called
        return
    calls: list[tuple[str, ...]] = [("signal", "task")]
    if SIGNAL_ERROR in signals:
        calls.append(("signal", "task", "exception"))
    for call in calls:
        try:
            signature.bind(*call)
        except TypeError as exc:
            raise TypeError(
                f"signal receiver {_name_of(receiver)}{signature} cannot be called as "
                f"receiver({', '.join(call)}) ({exc}); accept (signal, task, *args)"
            ) from None
