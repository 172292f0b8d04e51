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
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

from typing_extensions import override

from ._version import __version__
from .consumer._options import ConsumerKwargs
from .exceptions import ConfigurationError, StorageError
from .protocols import SupportsConnectionCheck

__all__ = ("build_parser", "load_huey", "main")

PROG = "huey_consumer"
USAGE_ERROR = 2


class UsageError(Exception):
    """A bad command line; the message is printed as one line.

    Args:
        message: the line to print.
        cause: the exception behind it, whose traceback ``-v`` prints.
    """

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit status 2."""

    @override
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


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
    parser = _Parser(
        prog=PROG,
        description="Run the huey consumer for the Huey instance at IMPORT_PATH.",
    )
    parser.add_argument(
        "import_path", metavar="IMPORT_PATH", help="the Huey instance, e.g. myapp.tasks.huey"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s (huey) {__version__}")
    logs = parser.add_argument_group("logging")
    logs.add_argument("-l", "--logfile", metavar="FILE", help="log to FILE (default: stderr)")
    level = logs.add_mutually_exclusive_group()
    level.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log debug messages (default: info); show the traceback of a failed import",
    )
    level.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    logs.add_argument(
        "-S", "--simple", action="store_true", help="short log lines: time and message"
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
    return parser


def load_huey(path: str) -> object:
    """Import the object named by ``path`` (``module.attr`` or ``module:attr``).

    The current directory is searched too, as the original consumer does.

    Raises:
        UsageError: the module cannot be imported or lacks the attribute.
    """
    if ":" in path:
        module_name, _, attribute = path.partition(":")
    else:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise UsageError(
            f"import path {path!r} must name an object in a module, e.g. myapp.tasks.huey"
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if _names_the_module(exc, module_name):
            # No cause: its traceback would only show the import machinery.
            raise UsageError(f"cannot import {module_name!r} from {path!r}: {exc}") from None
        # A module that the application imports is missing, not the application itself.
        raise UsageError(_import_failed(module_name, exc), cause=exc) from None
    except Exception as exc:
        raise UsageError(_import_failed(module_name, exc), cause=exc) from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise UsageError(f"module {module_name!r} has no attribute {attribute!r}") from None


def _names_the_module(exc: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``exc`` says ``module_name`` itself (or a package above it) does not exist."""
    missing = exc.name or ""
    return module_name == missing or module_name.startswith(f"{missing}.")


def _import_failed(module_name: str, exc: BaseException) -> str:
    return f"importing {module_name!r} failed: {type(exc).__name__}: {exc}".replace("\n", " ")


def _application_traceback(exc: BaseException) -> str:
    """The traceback of ``exc``, starting at the application's first frame.

    The frames of this module and of the import machinery above it say nothing about
    what went wrong in the application, so they are left out.
    """
    machinery = {__file__, importlib.__file__}
    tb = exc.__traceback__
    while tb is not None and (
        tb.tb_frame.f_code.co_filename in machinery
        or tb.tb_frame.f_code.co_filename.startswith("<frozen importlib")
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _configure_logging(args: argparse.Namespace) -> Callable[[], None]:
    """Send every logger's records to stderr (or ``--logfile``); return the undo.

    The handler and the level go on the root logger, so the application's loggers are
    shown like huey's. Levels set on particular loggers (``huey.consumer.tasks``, the
    application's own) are left alone, so they still hide what they hide.
    """
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    if args.simple:
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


def _consumer_options(args: argparse.Namespace) -> ConsumerKwargs:
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
    }


def main(argv: list[str] | None = None) -> int:
    """Run the consumer; return the exit status (2 for a bad command line).

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
    """
    from ._api import Huey
    from .consumer import Consumer

    try:
        args = build_parser().parse_args(argv)
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
        target = load_huey(args.import_path)
        if not isinstance(target, Huey):
            raise UsageError(
                f"{args.import_path!r} is a {type(target).__name__}, not a huey.Huey instance"
            )
        huey: Huey[Any] = target  # pyright: ignore[reportUnknownVariableType] - any results mode
        try:
            consumer = Consumer(huey, **_consumer_options(args))
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
                sys.stderr.write(_application_traceback(exc.cause))
            else:
                hint = " (-v shows the traceback)"
        sys.stderr.write(f"{PROG}: error: {exc}{hint}\n")
        return USAGE_ERROR
    try:
        consumer.run()
    finally:
        unconfigure_logging()
    return 0


if __name__ == "__main__":
    sys.exit(main())
