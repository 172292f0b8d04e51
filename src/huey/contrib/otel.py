"""OpenTelemetry tracing of a huey application (``pip install huey[otel]``).

Call :func:`instrument` once where the application is defined (the module both the
enqueuing processes and the consumer import)::

    from huey import SqliteHuey
    from huey.contrib.otel import instrument

    huey = SqliteHuey("app")
    instrument(huey)

Then each enqueue opens a short ``PRODUCER`` span, ``huey enqueue <task>``, child of the
span current at the call (for a retry, of the trace the message already carries), and
writes its context into the message's headers with the globally configured propagator
(W3C ``traceparent`` by default). Each run of the task in
a worker opens a ``CONSUMER`` span, ``huey run <task>``, whose parent is that context,
so the run joins the trace of the request that enqueued it. While it runs it is the
current span: what the task traces (database calls, HTTP requests, tasks it enqueues)
nests under it.

Attributes: ``messaging.system`` (``huey``), ``huey.queue``, ``huey.task.name``,
``huey.task.id``, ``huey.task.retries`` (retries left) and, on the run span,
``huey.task.outcome``: ``complete``, ``error``, ``timeout``, ``locked``,
``rate-limited``, ``retry``, ``canceled`` or ``interrupted``. A run that raised gets
the exception recorded and an error status (except a requested retry).

The spans go to the tracer provider given, else to the global one: configure the SDK
(exporter, sampler) as for the rest of the program, in each worker process too when it
is forked.

.. versionadded:: 3.6
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from contextvars import Token
from typing import TYPE_CHECKING, Any, Final

try:
    from opentelemetry import context, propagate, trace
    from opentelemetry.context import Context
except ImportError as _missing:  # pragma: no cover - the extra is installed for the tests
    raise ImportError(
        "huey.contrib.otel needs opentelemetry-api: pip install 'huey[otel]'"
    ) from _missing

from .._task import Task
from ._runs import watch_runs

if TYPE_CHECKING:
    from .._api import Huey

__all__ = ("instrument",)

_TRACER_NAME: Final = "huey"
# Outcomes of a run that ended without the task failing.
_NOT_ERRORS: Final = frozenset({"complete", "retry", "canceled"})


def _attributes(queue: str, task: Task[Any]) -> dict[str, str | int]:
    return {
        "messaging.system": "huey",
        "huey.queue": queue,
        "huey.task.name": task.name,
        "huey.task.id": task.id,
        "huey.task.retries": task.retries,
    }


class _OpenSpans(threading.local):
    def __init__(self) -> None:
        # task id -> the run span and the token that made it current
        self.by_id: dict[str, tuple[trace.Span, Token[Context]]] = {}


class _Tracing:
    """The header provider (enqueue spans) and the run observer (run spans)."""

    def __init__(self, queue: str, tracer: trace.Tracer) -> None:
        self.queue = queue
        self.tracer = tracer
        self.open = _OpenSpans()

    def headers(self, task: Task[Any]) -> Mapping[str, str]:
        carrier: dict[str, str] = {}
        # Outside any span, a message that already carries a context (a retry, queued
        # after its failed run's span ended) stays in the trace it came from.
        outside = not trace.get_current_span().get_span_context().is_valid
        parent = propagate.extract(task.headers) if outside and task.headers else None
        with self.tracer.start_as_current_span(
            f"huey enqueue {task.name}",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes=_attributes(self.queue, task),
        ):
            propagate.inject(carrier)
        return carrier

    def run_started(self, task: Task[Any], /) -> None:
        parent = propagate.extract(task.headers)
        span = self.tracer.start_span(
            f"huey run {task.name}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes=_attributes(self.queue, task),
        )
        token = context.attach(trace.set_span_in_context(span))
        self.open.by_id[task.id] = (span, token)

    def run_ended(self, task: Task[Any], outcome: str, exception: BaseException | None, /) -> None:
        opened = self.open.by_id.pop(task.id, None)
        if opened is None:
            return
        span, token = opened
        span.set_attribute("huey.task.outcome", outcome)
        if outcome not in _NOT_ERRORS:
            if exception is not None:
                span.record_exception(exception)
            span.set_status(trace.Status(trace.StatusCode.ERROR, outcome))
        context.detach(token)
        span.end()


_instrumented: weakref.WeakSet[Huey[Any]] = weakref.WeakSet()
_lock = threading.Lock()


def instrument(huey: Huey[Any], tracer_provider: trace.TracerProvider | None = None) -> None:
    """Trace ``huey``'s enqueues and task runs (see the module's description).

    Instrumenting an application a second time changes nothing.

    Args:
        huey: the application.
        tracer_provider: where the spans go (default: the global tracer provider).
    """
    with _lock:
        if huey in _instrumented:
            return
        _instrumented.add(huey)
    tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=tracer_provider)
    tracing = _Tracing(huey.name, tracer)
    huey.engine.events.add_header_provider(tracing.headers)
    watch_runs(huey, tracing, "huey.contrib.otel")
