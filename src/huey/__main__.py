"""``huey_consumer`` / ``python -m huey``: run the consumer for a Huey application.

Usage::

    huey_consumer myapp.tasks.huey -w 4 -k process

The import path names a :class:`~huey.Huey` instance as ``module.attribute`` (or
``module:attribute``). Every flag of the original ``huey_consumer`` is accepted with the
same default. A bad command line (import path, attribute, object, flag value) prints one
line on stderr and exits with status 2; with ``-v``, an application module that fails to
import also gets its traceback printed. ``huey_consumer --version`` prints the version.

Logging goes to the root logger, so the application's own INFO lines are shown next to
huey's (``-q``: warnings and errors only; ``-v``: debug).

The ``huey`` script is this same entry point: ``huey myapp.tasks.huey -w 4`` runs the
consumer, and an operations command first (``huey info myapp.tasks.huey``, also
``python -m huey info ...``) runs that command instead (see :mod:`huey._cli`).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from ._commandline import (
    USAGE_ERROR,
    OneLineErrorParser,
    UsageError,
    application_traceback,
    load_application,
    load_huey,
    whole_number,
)
from ._version import __version__
from .consumer import JsonFormatter
from .consumer._options import ConsumerKwargs
from .exceptions import ConfigurationError, StorageError
from .protocols import SupportsConnectionCheck

__all__ = ("add_consumer_arguments", "build_parser", "consumer_options", "load_huey", "main")

PROG = "huey_consumer"


_positive_int = whole_number(1)
_port = whole_number(0, 65535)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}") from None
    if not 1 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser (flags and defaults of the original ``huey_consumer``)."""
    from ._cli import COMMANDS

    parser = OneLineErrorParser(
        prog=PROG,
        description="Run the huey consumer for the Huey instance at IMPORT_PATH.",
        epilog=(
            "To inspect or repair the queue instead: huey COMMAND IMPORT_PATH, with COMMAND "
            f"one of {', '.join(sorted(COMMANDS))} (huey COMMAND --help)."
        ),
    )
    parser.add_argument(
        "import_path", metavar="IMPORT_PATH", help="the Huey instance, e.g. myapp.tasks.huey"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s (huey) {__version__}")
    add_consumer_arguments(parser)
    return parser


def add_consumer_arguments(
    parser: argparse.ArgumentParser, *, verbose_flags: tuple[str, ...] = ("-v", "--verbose")
) -> None:
    """Add the consumer's flags (all but the import path and ``--version``) to ``parser``.

    Django's ``manage.py run_huey`` shares them this way; :func:`consumer_options` turns
    the parsed flags into the consumer's options.

    Args:
        parser: the parser to extend.
        verbose_flags: the flags of the debug-logging switch (``run_huey`` uses
            ``-V``/``--huey-verbose``, since Django's ``-v`` is its verbosity); its
            destination is ``verbose`` whatever they are.
    """
    logs = parser.add_argument_group("logging")
    logs.add_argument("-l", "--logfile", metavar="FILE", help="log to FILE (default: stderr)")
    level = logs.add_mutually_exclusive_group()
    level.add_argument(
        *verbose_flags,
        dest="verbose",
        action="store_true",
        help="log debug messages (default: info); show the traceback of a failed import",
    )
    level.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    logs.add_argument(
        "-S", "--simple", action="store_true", help="short log lines: time and message"
    )
    logs.add_argument(
        "--json-logs", action="store_true", help="one JSON object per log line (wins over -S)"
    )
    workers = parser.add_argument_group("workers")
    workers.add_argument(
        "-w", "--workers", type=_positive_int, default=1, help="number of workers (default 1)"
    )
    workers.add_argument(
        "-k",
        "--worker-type",
        choices=("thread", "process", "greenlet", "gevent"),
        default="thread",
        help="thread, process or greenlet (default thread)",
    )
    workers.add_argument(
        "-d",
        "--delay",
        type=_seconds,
        default=0.1,
        help="first polling pause of an idle worker, seconds (default 0.1)",
    )
    workers.add_argument(
        "-m",
        "--max-delay",
        type=_seconds,
        default=10.0,
        help="longest polling pause, seconds (default 10)",
    )
    workers.add_argument(
        "-b",
        "--backoff",
        type=_factor,
        default=1.15,
        help="polling pause growth factor, >= 1 (default 1.15)",
    )
    workers.add_argument(
        "-c",
        "--health-check-interval",
        type=_seconds,
        default=10.0,
        help="seconds between worker health checks (default 10)",
    )
    workers.add_argument(
        "-C",
        "--disable-health-check",
        action="store_true",
        help="do not restart dead workers",
    )
    workers.add_argument(
        "-M",
        "--max-tasks",
        type=_positive_int,
        default=None,
        help="recycle a worker after this many tasks",
    )
    locks = parser.add_argument_group("locks")
    locks.add_argument(
        "-f", "--flush-locks", action="store_true", help="release task locks at start-up"
    )
    locks.add_argument(
        "-L",
        "--extra-locks",
        metavar="NAMES",
        help="comma-separated lock names to release at start-up (implies -f)",
    )
    stopping = parser.add_argument_group("shutdown")
    stopping.add_argument(
        "-t",
        "--shutdown-timeout",
        type=_seconds,
        default=None,
        help="longest wait for running tasks on a graceful stop (default: no limit)",
    )
    stopping.add_argument(
        "-g",
        "--graceful-signal",
        type=str.upper,
        choices=("INT", "TERM"),
        default="INT",
        help="signal that stops gracefully; the other stops at once (default INT)",
    )
    metrics = parser.add_argument_group("metrics (needs huey[prometheus])")
    metrics.add_argument(
        "--metrics-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics on http://ADDRESS:PORT/metrics",
    )
    metrics.add_argument(
        "--metrics-address",
        default="",
        metavar="ADDRESS",
        help="the interface to serve metrics on (default: all)",
    )
    scheduling = parser.add_argument_group("scheduler")
    scheduling.add_argument(
        "-s",
        "--scheduler-interval",
        type=_positive_int,
        default=1,
        help="seconds between scheduler runs, 1-60 dividing 60 (default 1)",
    )
    scheduling.add_argument(
        "-n", "--no-periodic", action="store_true", help="do not enqueue periodic tasks"
    )


def _configure_logging(args: argparse.Namespace) -> Callable[[], None]:
    """Send every logger's records to stderr (or ``--logfile``); return the undo.

    The handler and the level go on the root logger, so the application's loggers are
    shown like huey's. Levels set on particular loggers (``huey.consumer.tasks``, the
    application's own) are left alone, so they still hide what they hide.
    """
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    formatter: logging.Formatter
    if args.json_logs:
        formatter = JsonFormatter()
    elif args.simple:
        formatter = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
    else:
        formatter = logging.Formatter(
            "[%(asctime)s] %(levelname)s:%(name)s:%(processName)s:%(threadName)s:%(message)s"
        )
    handler: logging.Handler = (
        logging.FileHandler(args.logfile) if args.logfile else logging.StreamHandler()
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(level)
    root.addHandler(handler)

    def undo() -> None:
        root.removeHandler(handler)
        root.setLevel(previous_level)
        handler.close()

    return undo


def consumer_options(args: argparse.Namespace) -> ConsumerKwargs:
    """The consumer's options from flags parsed with :func:`add_consumer_arguments`."""
    return {
        "workers": args.workers,
        "worker_type": args.worker_type,
        "initial_delay": args.delay,
        "max_delay": args.max_delay,
        "backoff": args.backoff,
        "health_check_interval": args.health_check_interval,
        "check_worker_health": not args.disable_health_check,
        "flush_locks": args.flush_locks or bool(args.extra_locks),
        "extra_locks": args.extra_locks,
        "max_tasks": args.max_tasks,
        "shutdown_timeout": args.shutdown_timeout,
        "graceful_signal": args.graceful_signal,
        "scheduler_interval": args.scheduler_interval,
        "periodic": not args.no_periodic,
        "metrics_port": args.metrics_port,
        "metrics_address": args.metrics_address,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the consumer; return the exit status (2 for a bad command line).

    Given an operations command first (``info``, ``pending``, ... see :mod:`huey._cli`),
    runs that command instead and returns its status.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
    """
    from ._cli import COMMANDS, run_command
    from .consumer import Consumer

    arguments = sys.argv[1:] if argv is None else argv
    if arguments and arguments[0] in COMMANDS:
        return run_command(arguments)
    try:
        args = build_parser().parse_args(arguments)
        if args.logfile:
            try:
                with open(args.logfile, "a"):
                    pass
            except OSError as exc:
                raise UsageError(f"cannot write the log file {args.logfile!r}: {exc}") from None
    except UsageError as exc:
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return USAGE_ERROR
    # Before the import: what the application logs while it loads is shown too, and a
    # logging.basicConfig() call in it finds the root configured and leaves it be.
    unconfigure_logging = _configure_logging(args)
    try:
        huey = load_application(args.import_path)
        try:
            consumer = Consumer(huey, **consumer_options(args))
        except ConfigurationError as exc:
            raise UsageError(str(exc)) from None
        storage = huey.storage
        if isinstance(storage, SupportsConnectionCheck):
            try:
                storage.check_connection()
            except StorageError as exc:
                raise UsageError(str(exc).replace("\n", " ")) from None
    except UsageError as exc:
        unconfigure_logging()
        hint = ""
        if exc.cause is not None:
            if args.verbose:
                sys.stderr.write(application_traceback(exc.cause))
            else:
                hint = " (-v shows the traceback)"
        sys.stderr.write(f"{PROG}: error: {exc}{hint}\n")
        return USAGE_ERROR
    try:
        consumer.run()
    except ConfigurationError as exc:  # raised at start-up: the metrics port is taken
        sys.stderr.write(f"{PROG}: error: {exc}\n")
        return USAGE_ERROR
    finally:
        unconfigure_logging()
    return 0


if __name__ == "__main__":
    sys.exit(main())
