"""JSON log lines, and the consumer's refusals of a metrics setup it cannot serve."""

from __future__ import annotations

import importlib.util
import json
import logging
import socket
import sys

import pytest

from huey import MemoryHuey
from huey.consumer import Consumer, JsonFormatter
from huey.consumer_options import ConsumerConfig
from huey.exceptions import ConfigurationError

from .harness import OpsApp


def record(message: str, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("huey.consumer.tasks")
    made = logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_record_is_one_json_line_with_its_extra_values() -> None:
    line = JsonFormatter().format(record("executing %s", task_id="abc", size=3))
    assert "\n" not in line
    document = json.loads(line)
    assert document["logger"] == "huey.consumer.tasks"
    assert document["level"] == "INFO"
    assert document["message"] == "executing %s"
    assert (document["task_id"], document["size"]) == ("abc", 3)
    assert document["time"].endswith("+00:00")


def test_the_traceback_goes_under_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logger = logging.getLogger("huey")
        failed = logger.makeRecord("huey", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    document = json.loads(JsonFormatter().format(failed))
    assert "ValueError: boom" in document["exception"]


def test_consumer_config_sets_up_json_lines() -> None:
    target = logging.getLogger("huey.tests.json")
    handler = ConsumerConfig(json_logs=True, simple_log=True).setup_logger(target)
    try:
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        target.removeHandler(handler)


def test_metrics_without_prometheus_client_are_refused(
    huey: MemoryHuey, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def without_prometheus(name: str, package: str | None = None) -> object:
        return None if name == "prometheus_client" else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", without_prometheus)
    with pytest.raises(ConfigurationError, match=r"pip install 'huey\[prometheus\]'"):
        Consumer(huey, metrics_port=9100)


def test_a_taken_metrics_port_stops_the_consumer_at_start_up(sqlite_app: OpsApp) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = sqlite_app.command(
            "opsapp.huey", "--metrics-port", str(port), "--metrics-address", "127.0.0.1"
        )
    assert done.returncode == 2
    assert f"huey_consumer: error: cannot serve metrics on port {port}" in done.stderr
