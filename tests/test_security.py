"""Security behaviour end to end: errors at enqueue, limits, dead letters, warnings, logs."""

from __future__ import annotations

import base64
import gzip
import logging
import os
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import override

from huey import Huey, MemoryHuey, SqliteHuey
from huey import _delivery as delivery
from huey.consumer import Consumer
from huey.exceptions import (
    MessageLimitExceeded,
    SignatureError,
    TaskException,
    TaskSerializationError,
)
from huey.serializer import JSONSerializer, Serializer, SignedSerializer
from huey.storage import MemoryStorage

# --- the enqueue-time error names the argument ------------------------------------


class Opaque:
    """Something JSONSerializer does not carry."""


def _json_app(immediate: bool = False) -> MemoryHuey:
    return MemoryHuey("app", serializer=JSONSerializer(), immediate=immediate)


@pytest.mark.parametrize("immediate", [False, True])
def test_an_argument_json_cannot_carry_is_a_type_error_naming_it(immediate: bool) -> None:
    huey = _json_app(immediate)

    @huey.task()
    def job(a: int, b: object, *, c: object = None) -> None:
        pass

    with pytest.raises(TypeError, match=r"positional argument 1 \(<.*Opaque.*\) of task .*job"):
        job(1, Opaque())
    with pytest.raises(TaskSerializationError, match=r"keyword argument 'c' .* of task .*job"):
        job(1, 2, c={"deep": [Opaque()]})
    assert huey.pending_count() == 0


def test_the_error_names_the_pipeline_stage_at_fault() -> None:
    huey = _json_app()

    @huey.task()
    def first(a: int) -> int:
        return a

    @huey.task()
    def second(a: int, extra: object) -> None:
        pass

    with pytest.raises(TypeError, match=r"positional argument 0 \(.*\) of task .*second"):
        huey.enqueue(first.s(1).then(second, Opaque()))
    assert huey.pending_count() == 0


def test_the_original_error_is_chained() -> None:
    huey = _json_app()

    @huey.task()
    def job(a: object) -> None:
        pass

    with pytest.raises(TaskSerializationError) as info:
        job(Opaque())
    assert isinstance(info.value.__cause__, TypeError)
    assert "JSONSerializer cannot carry" in str(info.value)


# --- limits ------------------------------------------------------------------------


def test_max_message_size_is_checked_again_before_decoding() -> None:
    """A message over the limit (written by someone else) is dead-lettered, not decoded."""
    huey = Huey("app", storage=MemoryStorage("app"), max_message_size=200)

    @huey.task()
    def job(a: str) -> None:
        pass

    job("x")
    big = huey.serialize_task(job.s("x")) + b"\x00" * 500
    huey.storage.enqueue(big)
    assert delivery.process_next(huey).status == "completed"
    report = delivery.process_next(huey)
    assert report.status == "dead-lettered"
    assert "max_message_size=200" in report.reason


@pytest.mark.parametrize("use_zlib", [False, True])
def test_the_pickle_serializer_refuses_a_decompression_bomb(use_zlib: bool) -> None:
    serializer = Serializer(compression=True, use_zlib=use_zlib, max_decompressed_size=10_000)
    data = serializer.serialize(b"\x00" * 20_000)
    assert len(data) < 1000
    with pytest.raises(MessageLimitExceeded, match="max_decompressed_size=10000"):
        serializer.deserialize(data)
    assert Serializer(compression=True, use_zlib=use_zlib).deserialize(data) == b"\x00" * 20_000


def _peak_allocation(action: Callable[[], object], error: type[Exception]) -> int:
    """The most memory allocated at once while ``action`` raises ``error``."""
    tracemalloc.start()
    try:
        with pytest.raises(error):
            action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


BOMB = gzip.compress(b"\x00" * 200_000_000, 9)
"""200 MB of zeros in about 200 KB."""


def test_decompression_stops_at_the_limit_without_inflating_the_rest() -> None:
    """The bomb is refused having allocated about the limit, not 200 MB."""
    serializer = Serializer(compression=True, max_decompressed_size=1_000_000)
    assert _peak_allocation(lambda: serializer.deserialize(BOMB), MessageLimitExceeded) < 3_000_000


def test_the_signature_is_checked_before_decompression() -> None:
    """A forged bomb costs a MAC over its compressed bytes, whatever the limit."""
    signed = SignedSerializer(JSONSerializer(compression=True, max_decompressed_size=None), "k")
    forged = b"hs1\x011" + b"\x00" * 32 + BOMB
    assert _peak_allocation(lambda: signed.deserialize(forged), SignatureError) < 3 * len(BOMB)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (gzip.compress(b"x") + b"extra", "follow the end"),
        (gzip.compress(b"x" * 100)[:-10], "truncated"),
        (b"\x1f\x8b" + b"\x00" * 20, "corrupt"),
    ],
)
def test_broken_compressed_data_is_a_decode_error(data: bytes, message: str) -> None:
    from huey.exceptions import MessageDecodeError

    with pytest.raises(MessageDecodeError, match=message):
        Serializer(compression=True).deserialize(data)


# --- a real consumer on SQLite keeps running past hostile messages ------------------


def test_consumer_dead_letters_hostile_messages_and_keeps_running(tmp_path: Path) -> None:
    secret = "consumer-test-secret"
    huey = SqliteHuey(
        "secure",
        filename=str(tmp_path / "q.db"),
        serializer=SignedSerializer(
            JSONSerializer(compression=True, max_decompressed_size=100_000), secret
        ),
        max_message_size=50_000,
    )

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    wire: dict[str, object] = {"v": 1, "id": "x", "name": add.name, "args": [1, 2]}
    messages = huey.engine.codec.messages
    # A key holder's runaway message: 2 MB of text, a few KB compressed.
    bomb = messages.serialize({**wire, "id": "bomb", "args": ["a" * 2_000_000, 1]})
    # Nested deeper than the consumer's max_depth (written by a laxer serializer).
    deep_writer = SignedSerializer(JSONSerializer(max_depth=10_000), secret).bind(
        "secure", "message"
    )
    nested: object = 1
    for _ in range(300):
        nested = [nested]
    deep = deep_writer.serialize({**wire, "id": "deep", "args": [nested, 1]})
    forged = b"hs1\x011" + b"\x00" * 32 + b'{"v":1}'
    noise = base64.b64encode(os.urandom(60_000)).decode()  # does not compress below 50 KB
    oversized = messages.serialize({**wire, "id": "big", "args": [noise, 1]})
    moved = SignedSerializer(JSONSerializer(), secret).bind("other", "message").serialize(wire)
    for data in (bomb, deep, forged, oversized, moved):
        huey.storage.enqueue(data)
    result = add(2, 3)

    consumer = Consumer(huey, workers=1, initial_delay=0.01, max_delay=0.05, periodic=False)
    consumer.start()
    try:
        assert result.get(blocking=True, timeout=20) == 5
        deadline = time.monotonic() + 20
        while len(huey.dead_letters()) < 5:
            assert time.monotonic() < deadline, huey.dead_letters()
            time.sleep(0.02)
    finally:
        consumer.stop(graceful=True)
    reasons = sorted(letter.reason for letter in huey.dead_letters())
    assert len(reasons) == 5
    for expected in (
        "max_decompressed_size=100000",
        "max_depth=200",
        "bad signature",
        "max_message_size=50000",
    ):
        assert sum(expected in reason for reason in reasons) >= 1, (expected, reasons)
    assert sum("bad signature" in reason for reason in reasons) == 2  # forged, moved
    assert sorted(letter.data for letter in huey.dead_letters()) == sorted(
        [bomb, deep, forged, oversized, moved]
    )


# --- the pickle warning -------------------------------------------------------------


def _started_warnings(huey: Huey, caplog: pytest.LogCaptureFixture) -> list[str]:
    consumer = Consumer(huey, workers=1, periodic=False)
    with caplog.at_level(logging.WARNING, logger="huey.consumer"):
        consumer.start()
        consumer.stop()
    return [r.getMessage() for r in caplog.records if "pickle" in r.getMessage()]


def test_the_consumer_warns_once_about_pickle(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    huey = SqliteHuey("w", filename=str(tmp_path / "q.db"))
    warnings = _started_warnings(huey, caplog)
    assert len(warnings) == 1
    assert "can run code" in warnings[0]
    assert "SignedSerializer" in warnings[0]


class CustomFormat(Serializer):
    """The original's extension point: another format behind the same class."""

    @override
    def _deserialize(self, data: bytes) -> object:
        return data.decode()


@pytest.mark.parametrize(
    "serializer",
    [
        JSONSerializer(),
        SignedSerializer(JSONSerializer(), "k"),
        SignedSerializer(secret="k"),  # signed pickle: only key holders can write
        CustomFormat(),
    ],
    ids=["json", "signed-json", "signed-pickle", "override"],
)
def test_a_safe_serializer_removes_the_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, serializer: Any
) -> None:
    huey = SqliteHuey("w", filename=str(tmp_path / "q.db"), serializer=serializer)
    assert _started_warnings(huey, caplog) == []


def test_no_pickle_warning_for_an_in_process_storage(caplog: pytest.LogCaptureFixture) -> None:
    assert _started_warnings(MemoryHuey("w"), caplog) == []


# --- logs and stored errors ----------------------------------------------------------


def test_a_tasks_repr_is_bounded() -> None:
    huey = MemoryHuey("app")

    @huey.task()
    def job(a: object, b: object) -> None:
        pass

    deep: object = 0
    for _ in range(100_000):
        deep = [deep]
    text = repr(job.s("x" * 1_000_000, deep))
    assert len(text) < 400
    assert text.startswith(f"Task({job.name}: ")


def test_stored_errors_are_read_as_text_only() -> None:
    """Whatever a stored error record holds, reading it builds strings, never objects."""
    huey = MemoryHuey("app", serializer=JSONSerializer())
    record = {
        "__huey_error__": 1,
        "error": {"__huey__": "exception", "v": {"type": "os.system", "error": "rm -rf /"}},
        "traceback": ["not", "text"],
        "task_id": 5,
        "retries": "x",
    }
    huey.put("forged", record)
    with pytest.raises(TaskException) as info:
        huey.result("forged")
    metadata = info.value.metadata
    assert all(isinstance(metadata[key], str) for key in ("error", "traceback", "task_id"))
    assert metadata["retries"] == 0
