"""OS signal handling for the consumer's main process.

Handlers only record what was asked for and wake the main loop; the main loop does the
work (a signal handler may run between any two bytecodes, so it must not take locks).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Literal, TypeAlias

from ._options import GracefulSignal

__all__ = ("Request", "SignalState", "install_handlers")

Request: TypeAlias = Literal["graceful", "immediate", "restart"]
"""What a signal asks of the consumer."""


@dataclass(slots=True)
class SignalState:
    """What the signals received so far ask for.

    Attributes:
        request: the strongest request so far (``None``: keep running).
        wake: set whenever a request arrives, to wake the consumer's main loop.
    """

    request: Request | None = None
    wake: threading.Event = field(default_factory=threading.Event)

    def receive(self, asked: Request) -> None:
        """Record a request: a second stop request while stopping forces an immediate stop."""
        if self.request is None:
            self.request = asked
        elif asked == "immediate" or self.request in ("graceful", "restart"):
            # A second SIGINT (or any immediate signal) while stopping: stop now.
            self.request = "immediate"
        self.wake.set()

    def forced(self) -> bool:
        """Whether an immediate stop was asked for."""
        return self.request == "immediate"


def _mapping(graceful_signal: GracefulSignal) -> dict[signal.Signals, Request]:
    graceful, immediate = (
        (signal.SIGINT, signal.SIGTERM)
        if graceful_signal == "INT"
        else (signal.SIGTERM, signal.SIGINT)
    )
    mapping: dict[signal.Signals, Request] = {graceful: "graceful", immediate: "immediate"}
    hangup = getattr(signal, "SIGHUP", None)  # absent on Windows
    if isinstance(hangup, signal.Signals):
        mapping[hangup] = "restart"
    return mapping


def install_handlers(state: SignalState, graceful_signal: GracefulSignal) -> Callable[[], None]:
    """Install SIGINT/SIGTERM/SIGHUP handlers feeding ``state``; return an undo function.

    Must be called from the main thread.
    """
    previous: dict[signal.Signals, object] = {}
    for signum, request in _mapping(graceful_signal).items():

        def handler(number: int, frame: FrameType | None, request: Request = request) -> None:
            del number, frame
            state.receive(request)

        previous[signum] = signal.signal(signum, handler)

    def restore() -> None:
        for signum, old in previous.items():
            if callable(old) or isinstance(old, int):
                signal.signal(signum, old)

    return restore
