"""Typing contract of the operations API: message headers, metrics, tracing, JSON logs.

Expected-error lines carry ``# type: ignore[code]  # pyright: ignore[rule]`` (see
check_tasks.py); ``rejected_*`` functions are never called.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, assert_type

from prometheus_client import CollectorRegistry

from huey import MemoryHuey, Task
from huey.consumer import Consumer, JsonFormatter
from huey.consumer_options import ConsumerConfig
from huey.contrib import otel, prometheus

huey = MemoryHuey("typing-operations", immediate=True)


@huey.task()
def ping() -> str:
    return "pong"


def check_headers_and_providers() -> None:
    """A task's headers are a mapping of strings; providers return one."""
    result = ping()
    assert_type(result.task.headers, Mapping[str, str])

    def provider(task: Task[Any]) -> Mapping[str, str]:
        return {"tenant": task.name}

    huey.engine.events.add_header_provider(provider)


def check_metrics() -> None:
    """``instrument`` gives the metrics, with their registry; ``serve`` a server."""
    metrics = prometheus.instrument(huey)
    assert_type(metrics, prometheus.HueyMetrics)
    assert_type(metrics.registry, CollectorRegistry)
    assert_type(prometheus.enqueue_time(ping.s()), float | None)
    header: str = prometheus.ENQUEUED_AT_HEADER
    assert header == "huey-enqueued-at"


def check_tracing_and_logs() -> None:
    """``otel.instrument`` returns nothing; the JSON formatter is a logging formatter."""
    assert_type(otel.instrument(huey), None)
    formatter: logging.Formatter = JsonFormatter()
    assert_type(ConsumerConfig(json_logs=True, metrics_port=9100).json_logs, bool | None)
    assert_type(ConsumerConfig(metrics_port=0).metrics_port, int | None)
    del formatter


def rejected_bad_operations_options() -> None:
    """Options of the wrong type are refused by the checkers."""
    Consumer(huey, metrics_port="9100")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    ConsumerConfig(json_logs="yes")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

    def bad_provider(task: Task[Any]) -> Mapping[str, int]:
        return {"n": 1}

    huey.engine.events.add_header_provider(bad_provider)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    prometheus.serve(prometheus.instrument(huey), "9100")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
