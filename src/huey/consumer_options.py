"""The original huey's ``huey.consumer_options`` module: :class:`ConsumerConfig`.

Code that runs the consumer itself (a management command, a supervisor script) builds a
:class:`ConsumerConfig` from its settings, sets up logging with it and passes its
:attr:`~ConsumerConfig.values` to :meth:`Huey.create_consumer() <huey.Huey.create_consumer>`::

    from huey.consumer_options import ConsumerConfig

    config = ConsumerConfig(workers=4, worker_type="process", verbose=True)
    config.setup_logger()
    huey.create_consumer(**config.values).run()

The consumer's options and their checks are :class:`huey.consumer.ConsumerOptions` and
:func:`huey.consumer.check_options`; :class:`ConsumerConfig` adds the four logging
settings of the command line (``logfile``, ``verbose``, ``simple_log``, ``json_logs``).

Differences from the original: the options are checked when the config is created
(``validate()`` is kept and has nothing left to do), a bad value or an unknown option
name raises :class:`~huey.exceptions.ConfigurationError` (not ``ValueError``, and
unknown names are no longer ignored), and the optparse ``OptionParserHandler`` is not
provided: the command line is :func:`huey.__main__.build_parser` (argparse).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from typing import Final, cast

from typing_extensions import Unpack

from .consumer import ConsumerKwargs, ConsumerOptions, JsonFormatter, check_options
from .exceptions import ConfigurationError

__all__ = ("ConsumerConfig", "ConsumerConfigKwargs", "config_defaults", "config_keys")

_CONSUMER_OPTIONS: Final = tuple(option.name for option in fields(ConsumerOptions))
_LOGGING_OPTIONS: Final = ("logfile", "verbose", "simple_log", "json_logs")

# The log line formats of ``huey_consumer`` (default and ``-S``/``--simple``).
_LOG_FORMAT: Final = (
    "[%(asctime)s] %(levelname)s:%(name)s:%(processName)s:%(threadName)s:%(message)s"
)
_SIMPLE_FORMAT: Final = "%(asctime)s %(message)s"
_SIMPLE_DATE_FORMAT: Final = "%H:%M:%S"


class ConsumerConfigKwargs(ConsumerKwargs, total=False):
    """The keyword arguments of :class:`ConsumerConfig`: the consumer's options and logging.

    Attributes:
        logfile: log to this file (default: stderr).
        verbose: ``True``: debug messages; ``False``: warnings and errors only;
            ``None`` (default): info.
        simple_log: short log lines, time and message.
        json_logs: one JSON object per log line (:class:`huey.consumer.JsonFormatter`).
    """

    logfile: str | None
    verbose: bool | None
    simple_log: bool | None
    json_logs: bool | None


def _check_optional(name: str, value: object, kind: type[str] | type[bool]) -> None:
    """Refuse a logging setting of the wrong type (from untyped settings, say)."""
    if value is not None and not isinstance(value, kind):
        raise ConfigurationError(f"{name} must be a {kind.__name__} or None, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True, init=False)
class ConsumerConfig(ConsumerOptions):
    """The consumer's options plus its logging settings, checked when created.

    Takes the keyword options of :class:`~huey.consumer.Consumer` (``workers``,
    ``worker_type``, ``initial_delay``, ... with the same defaults) and ``logfile``,
    ``verbose``, ``simple_log``, ``json_logs``. It is immutable:
    ``dataclasses.replace(config, workers=8)`` makes a changed copy.

    Example::

        config = ConsumerConfig(workers=2, extra_locks="reports,imports", verbose=False)
        config.setup_logger(logging.getLogger("huey"))
        consumer = huey.create_consumer(**config.values)

    Attributes:
        logfile: the log file (``None``: stderr).
        verbose: ``True`` debug, ``False`` warnings and errors, ``None`` info.
        simple_log: short log lines.
        json_logs: JSON log lines (wins over ``simple_log``).

    Raises:
        ConfigurationError: an unknown option name or a bad value (the message names it).
    """

    logfile: str | None = None
    verbose: bool | None = None
    simple_log: bool | None = None
    json_logs: bool | None = None

    def __init__(self, **options: Unpack[ConsumerConfigKwargs]) -> None:
        unknown = sorted(set(options).difference(_CONSUMER_OPTIONS, _LOGGING_OPTIONS))
        if unknown:
            known = ", ".join(sorted((*_CONSUMER_OPTIONS, *_LOGGING_OPTIONS)))
            raise ConfigurationError(
                f"unknown ConsumerConfig option(s) {', '.join(unknown)}; known: {known}"
            )
        logfile = options.pop("logfile", None)
        verbose = options.pop("verbose", None)
        simple_log = options.pop("simple_log", None)
        json_logs = options.pop("json_logs", None)
        _check_optional("logfile", logfile, str)
        _check_optional("verbose", verbose, bool)
        _check_optional("simple_log", simple_log, bool)
        _check_optional("json_logs", json_logs, bool)
        checked = check_options(**options)
        for name in _CONSUMER_OPTIONS:
            object.__setattr__(self, name, getattr(checked, name))
        object.__setattr__(self, "logfile", logfile)
        object.__setattr__(self, "verbose", verbose)
        object.__setattr__(self, "simple_log", simple_log)
        object.__setattr__(self, "json_logs", json_logs)

    def validate(self) -> None:
        """Kept for the original's callers: the options were checked on creation."""

    @property
    def values(self) -> ConsumerKwargs:
        """The consumer's options (without the logging ones), for ``create_consumer(**...)``."""
        return cast(ConsumerKwargs, {name: getattr(self, name) for name in _CONSUMER_OPTIONS})

    @property
    def loglevel(self) -> int:
        """``logging.DEBUG`` if ``verbose``, ``WARNING`` if ``verbose is False``, else ``INFO``."""
        if self.verbose is None:
            return logging.INFO
        return logging.DEBUG if self.verbose else logging.WARNING

    def setup_logger(self, logger: logging.Logger | None = None) -> logging.Handler:
        """Send ``logger``'s records (default: the root logger's) where the config says.

        Adds a handler writing to ``logfile`` (or stderr) in ``huey_consumer``'s format
        (the short one with ``simple_log``, JSON with ``json_logs``) and sets the logger's level to
        :attr:`loglevel`.

        Args:
            logger: the logger to configure (``logging.getLogger("huey")`` for huey's own
                messages only).

        Returns:
            The handler added (remove it with ``logger.removeHandler()`` when done).
        """
        target = logger if logger is not None else logging.getLogger()
        handler: logging.Handler = (
            logging.FileHandler(self.logfile) if self.logfile else logging.StreamHandler()
        )
        if self.json_logs:
            handler.setFormatter(JsonFormatter())
        elif self.simple_log:
            handler.setFormatter(logging.Formatter(_SIMPLE_FORMAT, _SIMPLE_DATE_FORMAT))
        else:
            handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        target.addHandler(handler)
        target.setLevel(self.loglevel)
        return handler


config_defaults: Final[tuple[tuple[str, object], ...]] = tuple(
    (option.name, getattr(ConsumerConfig(), option.name)) for option in fields(ConsumerConfig)
)
"""Every option of :class:`ConsumerConfig` with its default, as ``(name, default)`` pairs."""

config_keys: Final[tuple[str, ...]] = tuple(name for name, _ in config_defaults)
"""The option names of :class:`ConsumerConfig`."""
