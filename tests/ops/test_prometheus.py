"""The Prometheus metrics, observed in-process with a mock clock and scraped over HTTP.

The consumer-served endpoint with process workers is in ``test_ops_integration.py``.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from typing_extensions import override

from huey import Huey, MemoryHuey
from huey._delivery import process_next
from huey.consumer import Consumer
from huey.contrib.prometheus import HueyMetrics, MetricsServer, instrument, serve
from huey.exceptions import ConfigurationError, StorageError
from huey.protocols import LeaseCounts, SupportsLeases, SupportsScheduleTransfer
from huey.storage import MemoryStorage
from huey.testing import MockClock


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of ``http://127.0.0.1:PORT/metrics``, by name and labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def served(huey: MemoryHuey) -> Iterator[tuple[HueyMetrics, MetricsServer]]:
    metrics = instrument(huey)
    server = serve(metrics, 0, "127.0.0.1")
    yield metrics, server
    server.close()


def test_counters_histograms_and_gauges(
    huey: MemoryHuey, clock: MockClock, served: tuple[HueyMetrics, MetricsServer]
) -> None:
    @huey.task()
    def work(seconds: float) -> None:
        clock.advance(seconds)

    @huey.task(retries=1)
    def broken() -> None:
        raise ValueError("no")

    work(2.0)
    broken()
    work.schedule((0,), delay=3600)
    clock.advance(5.0)  # both wait 5s in the queue
    for _ in range(3):  # work, broken, broken's retry
        process_next(huey)
    work.revoke()
    work(1.0)
    process_next(huey)

    samples = scrape(served[1].port)
    name = (("queue", "test-huey"), ("task", work.name))
    bad = (("queue", "test-huey"), ("task", broken.name))
    assert samples[("huey_tasks_enqueued_total", name)] == 2
    assert samples[("huey_tasks_enqueued_total", bad)] == 2  # with its retry
    assert samples[("huey_tasks_started_total", name)] == 1
    assert samples[("huey_tasks_succeeded_total", name)] == 1
    assert samples[("huey_tasks_started_total", bad)] == 2
    assert samples[("huey_tasks_failed_total", bad)] == 2
    assert samples[("huey_tasks_retried_total", bad)] == 1
    assert samples[("huey_tasks_revoked_total", name)] == 1
    assert samples[("huey_task_run_seconds_sum", name)] == 2.0
    assert samples[("huey_task_run_seconds_count", name)] == 1
    assert samples[("huey_task_queue_wait_seconds_sum", name)] == 5.0
    assert samples[("huey_task_queue_wait_seconds_count", bad)] == 2
    queue = (("queue", "test-huey"),)
    assert samples[("huey_queue_size", queue)] == 0
    assert samples[("huey_schedule_size", queue)] == 1
    assert samples[("huey_dead_letters", queue)] == 0
    assert samples[("huey_leases_in_flight", queue)] == 0
    assert samples[("huey_leases_expired", queue)] == 0


def test_the_lease_gauges_count_in_flight_and_expired(
    huey: MemoryHuey, clock: MockClock, served: tuple[HueyMetrics, MetricsServer]
) -> None:
    storage = huey.storage
    assert isinstance(storage, SupportsLeases)
    for item in (b"a", b"b", b"c"):
        storage.enqueue(item)
    storage.reserve(clock.time(), 10.0)
    storage.reserve(clock.time(), 60.0)
    clock.advance(30.0)  # the first lease expired
    samples = scrape(served[1].port)
    queue = (("queue", "test-huey"),)
    assert samples[("huey_queue_size", queue)] == 1
    assert samples[("huey_leases_in_flight", queue)] == 1
    assert samples[("huey_leases_expired", queue)] == 1


class _LeaseCountsFail(MemoryStorage):
    @override
    def lease_counts(self, now: float, /) -> LeaseCounts:
        raise StorageError("the server is gone")


def test_a_failed_lease_count_leaves_the_other_gauges(caplog: pytest.LogCaptureFixture) -> None:
    huey = Huey("failing-leases", storage=_LeaseCountsFail())
    metrics = instrument(huey)
    server = serve(metrics, 0, "127.0.0.1")
    try:
        samples = scrape(server.port)
    finally:
        server.close()
    names = {name for name, _ in samples}
    assert {"huey_queue_size", "huey_dead_letters"} <= names
    assert not {"huey_leases_in_flight", "huey_leases_expired"} & names
    assert "cannot read the leases from the storage" in caplog.text


def test_a_scheduled_task_waits_from_its_eta(
    huey: MemoryHuey, clock: MockClock, served: tuple[HueyMetrics, MetricsServer]
) -> None:
    @huey.task()
    def later() -> None:
        pass

    later.schedule(delay=60)
    clock.advance(61)
    storage = huey.storage
    assert isinstance(storage, SupportsScheduleTransfer)
    storage.move_due(clock.time(), lambda data: None)  # as the consumer's scheduler does
    clock.advance(3)
    process_next(huey)
    samples = scrape(served[1].port)
    labels = (("queue", "test-huey"), ("task", later.name))
    assert samples[("huey_task_queue_wait_seconds_sum", labels)] == 4.0


def test_instrumenting_twice_counts_once(huey: MemoryHuey) -> None:
    first = instrument(huey)
    assert instrument(huey) is first
    with pytest.raises(ConfigurationError, match="already instrumented"):
        instrument(huey, CollectorRegistry())


def test_a_taken_port_is_a_configuration_error(
    huey: MemoryHuey, served: tuple[HueyMetrics, MetricsServer]
) -> None:
    metrics, server = served
    with pytest.raises(ConfigurationError, match=f"cannot serve metrics on port {server.port}"):
        serve(metrics, server.port, "127.0.0.1")


@pytest.mark.parametrize("port", [-1, 65536, "9100", True])
def test_the_metrics_port_is_checked(huey: MemoryHuey, port: object) -> None:
    with pytest.raises(ConfigurationError, match="metrics_port"):
        Consumer(huey, metrics_port=port)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # bad values on purpose
