"""``manage.py run_huey``: the consumer of ``huey.contrib.djhuey.HUEY``.

It takes every flag of ``huey_consumer`` (the same parser code adds them) except that
debug logging is ``-V``/``--huey-verbose``, Django's ``-v`` being its verbosity. A flag
not given takes its value from ``settings.HUEY["consumer"]``, then the consumer's
default. ``tasks`` modules of the installed apps are imported first (``-A`` /
``--disable-autoload`` turns that off). Signals are the consumer's own (SIGINT stops
gracefully, SIGTERM at once, SIGHUP restarts); a bad flag, a refused option or an
unreachable storage exits with status 2, as ``huey_consumer`` does.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections
from django.utils.module_loading import autodiscover_modules, import_string
from typing_extensions import override

from huey.__main__ import add_consumer_arguments, consumer_options
from huey.consumer import Consumer
from huey.consumer_options import ConsumerConfig
from huey.contrib.djhuey import HUEY, consumer_defaults
from huey.exceptions import ConfigurationError, StorageError
from huey.protocols import SupportsConnectionCheck

__all__ = ("USAGE_ERROR", "Command", "flag_defaults")

USAGE_ERROR = 2
"""The exit status of a bad flag, option or storage, as ``huey_consumer``'s."""

_TASKS_BACKEND = "huey.contrib.djhuey.tasks_backend.HueyBackend"


def flag_defaults(config: ConsumerConfig) -> dict[str, object]:
    """The parser defaults (by destination) that give the options of ``config``.

    The inverse of :func:`huey.__main__.consumer_options` plus the logging flags.
    """
    return {
        "workers": config.workers,
        "worker_type": config.worker_type,
        "delay": config.initial_delay,
        "max_delay": config.max_delay,
        "backoff": config.backoff,
        "health_check_interval": config.health_check_interval,
        "disable_health_check": not config.check_worker_health,
        "max_tasks": config.max_tasks,
        "flush_locks": config.flush_locks,
        "extra_locks": ",".join(config.extra_locks) or None,
        "shutdown_timeout": config.shutdown_timeout,
        "graceful_signal": config.graceful_signal,
        "scheduler_interval": config.scheduler_interval,
        "no_periodic": not config.periodic,
        "logfile": config.logfile,
        "verbose": config.verbose is True,
        "quiet": config.verbose is False,
        "simple": bool(config.simple_log),
    }


class Command(BaseCommand):
    """Run the huey consumer for this project."""

    help = "Run the huey consumer of settings.HUEY (flags as huey_consumer; -V for debug logs)."

    @override
    def add_arguments(self, parser: CommandParser) -> None:
        """The consumer's flags, ``-A``, and defaults from ``settings.HUEY["consumer"]``."""
        add_consumer_arguments(parser, verbose_flags=("-V", "--huey-verbose"))
        parser.add_argument(
            "-A",
            "--disable-autoload",
            action="store_true",
            help="do not import the tasks modules of the installed apps",
        )
        parser.set_defaults(**flag_defaults(consumer_defaults()))

    @override
    def handle(self, *args: Any, **options: Any) -> None:
        """Import the tasks, check the options and the storage, run the consumer."""
        flags = argparse.Namespace(**options)
        if not flags.disable_autoload:
            autodiscover_modules("tasks")
        _load_tasks_backends()
        try:
            config = ConsumerConfig(
                **consumer_options(flags),
                logfile=flags.logfile,
                verbose=True if flags.verbose else False if flags.quiet else None,
                simple_log=flags.simple,
            )
            consumer = Consumer(HUEY, **config.values)
        except ConfigurationError as exc:
            raise CommandError(str(exc), returncode=USAGE_ERROR) from None
        storage = HUEY.storage
        if isinstance(storage, SupportsConnectionCheck):
            try:
                storage.check_connection()
            except StorageError as exc:
                message = str(exc).replace("\n", " ")
                raise CommandError(message, returncode=USAGE_ERROR) from None
        handler = _configure_logging(config)
        # Forked workers must not share the sockets the start-up opened (checks, tasks
        # modules); each opens its own connections when it needs them.
        connections.close_all()
        try:
            consumer.run()
        finally:
            if handler is not None:
                logging.getLogger().removeHandler(handler)
                handler.close()


def _load_tasks_backends() -> None:
    """Import :class:`HueyBackend` if ``settings.TASKS`` uses it, registering its task."""
    backends: object = getattr(settings, "TASKS", None)
    if not isinstance(backends, Mapping):
        return
    for backend in cast(Mapping[str, object], backends).values():
        named: Mapping[str, object] = (
            cast(Mapping[str, object], backend) if isinstance(backend, Mapping) else {}
        )
        if named.get("BACKEND") == _TASKS_BACKEND:
            import_string(_TASKS_BACKEND)
            return


def _configure_logging(config: ConsumerConfig) -> logging.Handler | None:
    """Log like ``huey_consumer``, unless the project's ``LOGGING`` already routes huey's.

    Returns:
        The handler added to the root logger, or ``None`` when the project's own
        logging configuration (a handler on the root or the ``huey`` logger) is kept.
    """
    if logging.getLogger().handlers or logging.getLogger("huey").handlers:
        return None
    return config.setup_logger()
