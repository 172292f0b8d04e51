"""``huey.consumer_options.ConsumerConfig``: the original's config object, typed and checked."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest

from huey import MemoryHuey
from huey.consumer import ConsumerOptions
from huey.consumer_options import ConsumerConfig, config_defaults, config_keys
from huey.exceptions import ConfigurationError


def test_defaults_are_the_consumer_defaults() -> None:
    """An empty config gives exactly the consumer's defaults, and no logging settings."""
    config = ConsumerConfig()
    assert config.values == dataclasses.asdict(ConsumerOptions())
    assert (config.logfile, config.verbose, config.simple_log) == (None, None, None)
    config.validate()  # kept for the original's callers: nothing left to check


def test_values_build_the_consumer_they_describe() -> None:
    """``create_consumer(**config.values)`` gets every option, normalised once."""
    config = ConsumerConfig(
        workers=3,
        worker_type="process",
        initial_delay=1,
        backoff=2,
        max_delay=4,
        check_worker_health=False,
        scheduler_interval=30,
        periodic=False,
        extra_locks="reports, imports",
        shutdown_timeout=5,
        graceful_signal="TERM",
        verbose=True,
    )
    assert config.extra_locks == ("reports", "imports")
    assert config.flush_locks  # extra locks imply flushing, as on the command line
    assert "verbose" not in config.values
    consumer = MemoryHuey("config").create_consumer(**config.values)
    assert consumer.options == ConsumerOptions(
        workers=3,
        worker_type="process",
        initial_delay=1.0,
        backoff=2.0,
        max_delay=4.0,
        check_worker_health=False,
        scheduler_interval=30,
        periodic=False,
        extra_locks=("reports", "imports"),
        flush_locks=True,
        shutdown_timeout=5.0,
        graceful_signal="TERM",
    )


def test_a_config_is_a_consumer_options() -> None:
    """The consumer's fields are ConsumerOptions' own, so the two never drift apart."""
    config = ConsumerConfig(workers=2)
    assert isinstance(config, ConsumerOptions)
    consumer_fields = [field.name for field in dataclasses.fields(ConsumerOptions)]
    assert list(config.values) == consumer_fields
    assert config_keys == (*consumer_fields, "logfile", "verbose", "simple_log", "json_logs")
    assert dict(config_defaults) == {
        **dataclasses.asdict(ConsumerOptions()),
        "logfile": None,
        "verbose": None,
        "simple_log": None,
        "json_logs": None,
    }


def test_replace_makes_a_checked_copy() -> None:
    """The config is immutable; ``dataclasses.replace`` checks the new values too."""
    config = ConsumerConfig(workers=2, verbose=False)
    attribute = "workers"
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(config, attribute, 3)
    bigger = dataclasses.replace(config, workers=8)
    assert (bigger.workers, bigger.verbose) == (8, False)
    with pytest.raises(ConfigurationError, match="workers"):
        dataclasses.replace(config, workers=0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backoff": 0.5}, "backoff must be >= 1"),
        ({"scheduler_interval": 90}, "scheduler_interval"),
        ({"scheduler_interval": 7}, "divide 60"),
        ({"graceful_signal": "HUP"}, "graceful_signal must be INT or TERM"),
        ({"worker_type": "fibre"}, "worker_type"),
        ({"wrokers": 2}, "unknown ConsumerConfig option.*wrokers.*known: .*logfile"),
        ({"verbose": "yes"}, "verbose must be a bool or None"),
        ({"simple_log": 1}, "simple_log must be a bool or None"),
        ({"logfile": 3}, "logfile must be a str or None"),
    ],
)
def test_bad_values_raise_when_created(options: dict[str, Any], message: str) -> None:
    """What the original's ``validate()`` refused (and misspelled names) fail at creation."""
    with pytest.raises(ConfigurationError, match=message):
        ConsumerConfig(**options)


@pytest.mark.parametrize(
    ("verbose", "level"),
    [(None, logging.INFO), (True, logging.DEBUG), (False, logging.WARNING)],
)
def test_loglevel(verbose: bool | None, level: int) -> None:
    """``verbose`` picks the level as ``-v`` / ``-q`` do."""
    assert ConsumerConfig(verbose=verbose).loglevel == level


def _logged(logger: logging.Logger, handler: logging.Handler, message: str) -> None:
    try:
        logger.info(message)
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_setup_logger_writes_the_consumer_format_to_the_logfile(tmp_path: Path) -> None:
    """``setup_logger`` adds a handler in huey_consumer's format and sets the level."""
    logfile = tmp_path / "consumer.log"
    logger = logging.getLogger("tests.consumer_config.full")
    config = ConsumerConfig(logfile=str(logfile), verbose=True)
    handler = config.setup_logger(logger)
    assert logger.level == logging.DEBUG
    _logged(logger, handler, "hello")
    line = logfile.read_text()
    assert line.startswith("[")
    assert line.endswith("] INFO:tests.consumer_config.full:MainProcess:MainThread:hello\n")


def test_setup_logger_simple_format(tmp_path: Path) -> None:
    """``simple_log`` gives the short ``time message`` lines of ``-S``."""
    logfile = tmp_path / "consumer.log"
    logger = logging.getLogger("tests.consumer_config.simple")
    handler = ConsumerConfig(logfile=str(logfile), simple_log=True).setup_logger(logger)
    assert logger.level == logging.INFO
    _logged(logger, handler, "short")
    time_text, message = logfile.read_text().rstrip("\n").split(" ")
    assert message == "short"
    assert len(time_text.split(":")) == 3


def test_setup_logger_defaults_to_the_root_logger_and_stderr() -> None:
    """Without arguments it configures the root logger, writing to stderr."""
    root = logging.getLogger()
    level = root.level
    handler = ConsumerConfig(verbose=False).setup_logger()
    try:
        attached = handler in root.handlers
        level_set = root.level
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert attached
    assert level_set == logging.WARNING
    assert isinstance(handler, logging.StreamHandler)
    assert not isinstance(handler, logging.FileHandler)
