"""Message headers: their wire form, and the providers that fill them at enqueue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from huey import MemoryHuey, Task
from huey._messages import Message, message_from_wire, message_to_wire
from huey.exceptions import MessageDecodeError
from huey.testing import MockClock


def test_empty_headers_are_left_off_the_wire() -> None:
    wire = message_to_wire(Message(id="1", name="t"))
    assert "headers" not in wire
    assert message_from_wire(wire, Message).headers == {}


def test_headers_round_trip() -> None:
    message = Message(id="1", name="t", headers={"traceparent": "00-ab-cd-01"})
    wire = message_to_wire(message)
    assert wire["headers"] == {"traceparent": "00-ab-cd-01"}
    assert message_from_wire(wire, Message).headers == {"traceparent": "00-ab-cd-01"}


@pytest.mark.parametrize("headers", [["a"], {"a": 1}, {1: "a"}])
def test_malformed_headers_are_refused(headers: object) -> None:
    wire = {**message_to_wire(Message(id="1", name="t")), "headers": headers}
    with pytest.raises(MessageDecodeError, match="headers"):
        message_from_wire(wire, Message)


def test_providers_stamp_queued_and_scheduled_messages(huey: MemoryHuey, clock: MockClock) -> None:
    @huey.task()
    def noop() -> None:
        pass

    seen: list[str] = []

    def provider(task: Task[Any]) -> Mapping[str, str]:
        seen.append(task.id)
        return {"who": task.name, "when": repr(clock.time())}

    huey.engine.events.add_header_provider(provider)
    huey.engine.events.add_header_provider(provider)  # once is enough
    queued = noop()
    scheduled = noop.schedule(delay=60)
    assert seen == [queued.id, scheduled.id]
    (pending,) = huey.pending()
    assert pending.headers == {"who": noop.name, "when": repr(clock.time())}
    assert huey.scheduled()[0].headers["who"] == noop.name


def test_a_failing_provider_is_logged_and_the_task_still_queued(
    huey: MemoryHuey, caplog: pytest.LogCaptureFixture
) -> None:
    @huey.task()
    def noop() -> None:
        pass

    def broken(task: Task[Any]) -> Mapping[str, str]:
        raise RuntimeError("no headers today")

    huey.engine.events.add_header_provider(broken)
    noop()
    assert huey.pending_count() == 1
    assert "header provider" in caplog.text
    assert "no headers today" in caplog.text
