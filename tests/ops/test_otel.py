"""OpenTelemetry tracing, checked with the SDK's in-memory span exporter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind, StatusCode

from huey import CancelExecution, MemoryHuey, Task
from huey._delivery import process_next
from huey.contrib.otel import instrument


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider
    tracer_provider.shutdown()


def ctx(span: ReadableSpan) -> SpanContext:
    context = span.get_span_context()
    assert context is not None
    return context


def spans_named(exporter: InMemorySpanExporter, prefix: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name.startswith(prefix)]


def test_the_run_span_continues_the_enqueuing_trace(
    huey: MemoryHuey, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    instrument(huey, provider)

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    tracer = provider.get_tracer("the-web-app")
    with tracer.start_as_current_span("request") as request:
        result = add(1, 2)
    (pending,) = huey.pending()
    assert "traceparent" in pending.headers
    process_next(huey)

    (enqueue,) = spans_named(exporter, "huey enqueue")
    (run,) = spans_named(exporter, "huey run")
    assert enqueue.name == f"huey enqueue {add.name}"
    assert enqueue.kind is SpanKind.PRODUCER
    assert enqueue.parent is not None
    assert enqueue.parent.span_id == request.get_span_context().span_id
    assert run.kind is SpanKind.CONSUMER
    assert run.parent is not None
    assert run.parent.span_id == ctx(enqueue).span_id
    assert ctx(run).trace_id == request.get_span_context().trace_id
    assert dict(run.attributes or {}) == {
        "messaging.system": "huey",
        "huey.queue": "test-huey",
        "huey.task.name": add.name,
        "huey.task.id": result.id,
        "huey.task.retries": 0,
        "huey.task.outcome": "complete",
    }
    assert run.status.status_code is StatusCode.UNSET


def test_a_failure_is_recorded_and_the_retry_joins_the_trace(
    huey: MemoryHuey, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    instrument(huey, provider)

    @huey.task(retries=1)
    def broken() -> None:
        raise ValueError("no")

    broken()
    process_next(huey)
    process_next(huey)  # the retry
    first, second = spans_named(exporter, "huey run")
    for span, retries in ((first, 1), (second, 0)):
        assert span.attributes is not None
        assert span.attributes["huey.task.outcome"] == "error"
        assert span.attributes["huey.task.retries"] == retries
        assert span.status.status_code is StatusCode.ERROR
        assert [event.name for event in span.events] == ["exception"]
    assert ctx(first).trace_id == ctx(second).trace_id


def test_what_a_task_does_nests_under_its_run_span(
    huey: MemoryHuey, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    instrument(huey, provider)

    @huey.task()
    def child() -> None:
        pass

    @huey.task()
    def parent() -> None:
        with trace.get_tracer("app", tracer_provider=provider).start_as_current_span("inner"):
            child()

    parent()
    process_next(huey)
    process_next(huey)
    (run_parent,) = spans_named(exporter, f"huey run {parent.name}")
    (inner,) = spans_named(exporter, "inner")
    (run_child,) = spans_named(exporter, f"huey run {child.name}")
    assert inner.parent is not None
    assert inner.parent.span_id == ctx(run_parent).span_id
    assert ctx(run_child).trace_id == ctx(run_parent).trace_id
    # After the run the worker's context is back to none.
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_a_cancelled_run_ends_its_span(
    huey: MemoryHuey, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    instrument(huey, provider)

    @huey.pre_execute()
    def refuse(task: Task[object]) -> None:
        raise CancelExecution()

    @huey.task()
    def noop() -> None:
        pass

    noop()
    process_next(huey)
    (run,) = spans_named(exporter, "huey run")
    assert run.attributes is not None
    assert run.attributes["huey.task.outcome"] == "canceled"


def test_instrumenting_twice_traces_once(
    huey: MemoryHuey, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    instrument(huey, provider)
    instrument(huey, provider)

    @huey.task()
    def noop() -> None:
        pass

    noop()
    process_next(huey)
    assert len(exporter.get_finished_spans()) == 2
