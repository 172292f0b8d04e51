"""Consumer options: defaults of the original huey and their validation."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias, TypedDict

from ..constants import WorkerType
from ..exceptions import ConfigurationError

__all__ = ("ConsumerOptions", "ConsumerKwargs", "GracefulSignal", "check_options")

GracefulSignal: TypeAlias = Literal["INT", "TERM"]
"""The signal that stops the consumer gracefully; the other one stops it at once."""

_WORKER_ALIASES: Final[dict[str, WorkerType]] = {
    "thread": "thread",
    "process": "process",
    "greenlet": "greenlet",
    "gevent": "greenlet",
}


class ConsumerKwargs(TypedDict, total=False):
    """The keyword options of :class:`~huey.consumer.Consumer` (``huey.create_consumer``)."""

    workers: int
    periodic: bool
    initial_delay: float
    backoff: float
    max_delay: float
    scheduler_interval: int
    worker_type: str
    check_worker_health: bool
    health_check_interval: float
    flush_locks: bool
    extra_locks: str | list[str] | tuple[str, ...] | None
    max_tasks: int | None
    shutdown_timeout: float | None
    graceful_signal: str
    metrics_port: int | None
    metrics_address: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerOptions:
    """Validated consumer settings (defaults are the original huey's).

    Attributes:
        workers: number of workers.
        periodic: run periodic tasks.
        initial_delay: first polling pause (seconds) of an idle worker.
        backoff: factor applied to the polling pause after each empty poll.
        max_delay: longest polling pause.
        scheduler_interval: seconds between scheduler iterations (1-60, divides 60).
        worker_type: ``thread``, ``process`` or ``greenlet``.
        check_worker_health: restart dead workers.
        health_check_interval: seconds between health checks.
        flush_locks: release the task locks at start-up.
        extra_locks: more lock names released at start-up.
        max_tasks: recycle a worker after this many tasks.
        shutdown_timeout: longest graceful wait for running tasks (``None``: no limit).
        graceful_signal: the signal that stops gracefully.
        metrics_port: serve Prometheus metrics on this port (``None``: do not; 0: any
            free port). Needs ``huey[prometheus]``; see :mod:`huey.contrib.prometheus`.
        metrics_address: the interface the metrics are served on (default: all).
    """

    workers: int = 1
    periodic: bool = True
    initial_delay: float = 0.1
    backoff: float = 1.15
    max_delay: float = 10.0
    scheduler_interval: int = 1
    worker_type: WorkerType = "thread"
    check_worker_health: bool = True
    health_check_interval: float = 10.0
    flush_locks: bool = False
    extra_locks: tuple[str, ...] = field(default=())
    max_tasks: int | None = None
    shutdown_timeout: float | None = None
    graceful_signal: GracefulSignal = "INT"
    metrics_port: int | None = None
    metrics_address: str = ""


def _number(name: str, value: object, *, minimum: float, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{name} must be a number, got {value!r}")
    if value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise ConfigurationError(f"{name} must be {relation} {minimum:g}, got {value!r}")
    return float(value)


def _integer(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value!r}")
    return value


def _locks(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(name.strip() for name in value.split(",") if name.strip())
    if isinstance(value, list | tuple):
        names: list[str] = []
        for item in value:  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
            if not isinstance(item, str) or not item:
                raise ConfigurationError(f"extra_locks must hold lock names, got {item!r}")
            names.append(item)
        return tuple(names)
    raise ConfigurationError(f"extra_locks must be a comma-separated string, got {value!r}")


def check_options(**options: object) -> ConsumerOptions:
    """Validate consumer options; unknown names and bad values raise at once.

    Raises:
        ConfigurationError: an option is unknown or has a bad value (the message names it).
    """
    known = set(ConsumerOptions.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigurationError(
            f"unknown consumer option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    defaults = ConsumerOptions()

    def get(name: str) -> object:
        return options.get(name, getattr(defaults, name))

    worker_type = get("worker_type")
    if not isinstance(worker_type, str) or worker_type not in _WORKER_ALIASES:
        raise ConfigurationError(
            f"worker_type must be one of thread, process, greenlet; got {worker_type!r}"
        )
    kind = _WORKER_ALIASES[worker_type]
    if kind == "process" and sys.platform == "win32":
        raise ConfigurationError("process workers need fork(), which Windows lacks")
    interval = _integer("scheduler_interval", get("scheduler_interval"), minimum=1)
    if interval > 60 or 60 % interval:
        raise ConfigurationError(
            f"scheduler_interval must be between 1 and 60 and divide 60, got {interval}"
        )
    initial_delay = _number("initial_delay", get("initial_delay"), minimum=0, strict=True)
    max_delay = _number("max_delay", get("max_delay"), minimum=0, strict=True)
    if max_delay < initial_delay:
        raise ConfigurationError(
            f"max_delay ({max_delay:g}) must not be below initial_delay ({initial_delay:g})"
        )
    check_health = bool(get("check_worker_health"))
    max_tasks_value = get("max_tasks")
    max_tasks = (
        None if max_tasks_value is None else _integer("max_tasks", max_tasks_value, minimum=1)
    )
    if max_tasks is not None and not check_health:
        raise ConfigurationError(
            "max_tasks needs the health check (workers are recycled by it); "
            "drop --disable-health-check or --max-tasks"
        )
    timeout_value = get("shutdown_timeout")
    shutdown_timeout = (
        None
        if timeout_value is None
        else _number("shutdown_timeout", timeout_value, minimum=0, strict=True)
    )
    graceful = get("graceful_signal")
    signal_name = graceful.upper().removeprefix("SIG") if isinstance(graceful, str) else None
    if signal_name not in ("INT", "TERM"):
        raise ConfigurationError(f"graceful_signal must be INT or TERM, got {graceful!r}")
    graceful_signal: GracefulSignal = "INT" if signal_name == "INT" else "TERM"
    extra_locks = _locks(get("extra_locks"))
    port_value = get("metrics_port")
    metrics_port = None if port_value is None else _integer("metrics_port", port_value, minimum=0)
    if metrics_port is not None and metrics_port > 65535:
        raise ConfigurationError(f"metrics_port must be a TCP port (0-65535), got {metrics_port}")
    metrics_address = get("metrics_address")
    if not isinstance(metrics_address, str):
        raise ConfigurationError(f"metrics_address must be a string, got {metrics_address!r}")
    return ConsumerOptions(
        workers=_integer("workers", get("workers"), minimum=1),
        periodic=bool(get("periodic")),
        initial_delay=initial_delay,
        backoff=_number("backoff", get("backoff"), minimum=1),
        max_delay=max_delay,
        scheduler_interval=interval,
        worker_type=kind,
        check_worker_health=check_health,
        health_check_interval=_number(
            "health_check_interval", get("health_check_interval"), minimum=0, strict=True
        ),
        flush_locks=bool(get("flush_locks")) or bool(extra_locks),
        extra_locks=extra_locks,
        max_tasks=max_tasks,
        shutdown_timeout=shutdown_timeout,
        graceful_signal=graceful_signal,
        metrics_port=metrics_port,
        metrics_address=metrics_address,
    )
