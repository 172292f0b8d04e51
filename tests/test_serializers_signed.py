"""SignedSerializer: verified before anything is decoded, bound to its queue, rotatable."""

from __future__ import annotations

import hashlib
import hmac
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from typing_extensions import override

from huey import Huey, MemoryHuey
from huey.exceptions import (
    MessageDecodeError,
    MessageLimitExceeded,
    SerializedError,
    SignatureError,
)
from huey.protocols import BindableSerializer, Serializer
from huey.serializer import JSONSerializer, SignedSerializer
from huey.serializer import Serializer as PickleSerializer
from huey.storage import MemoryStorage
from huey.testing import MockClock

from .chord_scenarios import SCENARIOS, App


class Recording(JSONSerializer):
    """Records every ``deserialize`` call (to prove refused bytes never reach it)."""

    def __init__(self) -> None:
        super().__init__()
        self.decoded: list[bytes] = []

    @override
    def deserialize(self, data: bytes, /) -> object:
        self.decoded.append(data)
        return super().deserialize(data)


def test_round_trip_and_format() -> None:
    signed = SignedSerializer(JSONSerializer(), "s3cret", key_id="k1")
    data = signed.serialize({"a": (1, 2)})
    assert data.startswith(b"hs1\x02k1")
    assert data.endswith(b'{"a":{"__huey__":"tuple","v":[1,2]}}')
    assert signed.deserialize(data) == {"a": (1, 2)}
    assert signed.key_id == "k1"


def test_the_mac_is_hmac_sha256_over_context_and_exact_body() -> None:
    """Documented construction, recomputed independently."""
    signed = SignedSerializer(JSONSerializer(), b"k", key_id="a", salt="s").bind("q", "message")
    data = signed.serialize([1])
    key = hmac.new(b"k", b"huey signing key\x00s", hashlib.sha256).digest()
    parts = [b"hs1", b"a", b"message", b"q"]
    context = b"".join(len(p).to_bytes(4, "big") + p for p in parts)
    expected = hmac.new(key, context + b"[1]", hashlib.sha256).digest()
    assert data == b"hs1\x01a" + expected + b"[1]"


def _flip(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 1]) + data[index + 1 :]


def test_any_altered_byte_is_refused_before_decoding() -> None:
    inner = Recording()
    signed = SignedSerializer(inner, "secret")
    data = signed.serialize({"x": 1})
    for index in range(len(data)):
        with pytest.raises(MessageDecodeError):
            signed.deserialize(_flip(data, index))
    for cut in range(len(data)):
        with pytest.raises(SignatureError):
            signed.deserialize(data[:cut])
    with pytest.raises(SignatureError):
        signed.deserialize(data + b" ")
    assert inner.decoded == []


@pytest.mark.parametrize(
    "forged",
    [
        b"",
        b"hs1",
        b"hs1\x00",
        pickle.dumps({"a": 1}),
        JSONSerializer().serialize({"a": 1}),
    ],
)
def test_unsigned_bytes_are_a_signature_error(forged: bytes) -> None:
    with pytest.raises(SignatureError):
        SignedSerializer(JSONSerializer(), "secret").deserialize(forged)


def test_another_secret_or_salt_does_not_verify() -> None:
    data = SignedSerializer(JSONSerializer(), "one").serialize(1)
    with pytest.raises(SignatureError, match="bad signature"):
        SignedSerializer(JSONSerializer(), "two").deserialize(data)
    with pytest.raises(SignatureError, match="bad signature"):
        SignedSerializer(JSONSerializer(), "one", salt="other").deserialize(data)


def test_key_rotation() -> None:
    """Old keys verify during a rotation; unknown key ids are refused by name."""
    old = SignedSerializer(JSONSerializer(), "old-secret", key_id="2025")
    new = SignedSerializer(
        JSONSerializer(), "new-secret", key_id="2026", old_secrets={"2025": "old-secret"}
    )
    assert new.deserialize(old.serialize("x")) == "x"
    assert new.serialize("x")[4:8] == b"2026"
    with pytest.raises(SignatureError, match="unknown key id b'2026'"):
        old.deserialize(new.serialize("x"))
    # Same id, other secret: a signature mismatch, not an unknown id.
    with pytest.raises(SignatureError, match="bad signature"):
        SignedSerializer(JSONSerializer(), "x", key_id="2025").deserialize(old.serialize("x"))


def test_binding_separates_queues_and_purposes() -> None:
    signed = SignedSerializer(JSONSerializer(), "secret")
    assert isinstance(signed, BindableSerializer)
    contexts = [signed.bind(q, p) for q in ("a", "b") for p in ("message", "value")]
    contexts.append(signed)
    for writer in contexts:
        data = writer.serialize("x")
        for reader in contexts:
            if reader is writer:
                assert reader.deserialize(data) == "x"
            else:
                with pytest.raises(SignatureError):
                    reader.deserialize(data)
    assert (signed.queue, signed.purpose) == ("", "value")  # binding made copies


def test_a_signed_bomb_still_meets_the_decompression_limit() -> None:
    """Signing does not lift the limit: a key holder's oversized value is refused too."""
    signed = SignedSerializer(JSONSerializer(compression=True, max_decompressed_size=1000), "k")
    data = signed.serialize("a" * 5000)
    with pytest.raises(MessageLimitExceeded):
        signed.deserialize(data)


def test_the_original_constructor_form_signs_pickle() -> None:
    data = b""
    for signed in (
        SignedSerializer(secret="s", salt="pepper", compression=True, use_zlib=True),
        SignedSerializer("s", salt="pepper", compression=True, use_zlib=True),
    ):
        assert isinstance(signed.inner, PickleSerializer)
        assert (signed.inner.compression, signed.inner.use_zlib) == (True, True)
        data = signed.serialize({1, 2})
        assert data[37:38] == b"\x78"  # compressed, then signed
        assert signed.deserialize(data) == {1, 2}
    untyped: Any = SignedSerializer
    positional = untyped("s", "pepper", compression=True, use_zlib=True)
    assert positional.deserialize(data) == {1, 2}
    # The new form with the same secret and salt reads it.
    assert SignedSerializer(PickleSerializer(True, use_zlib=True), "s", salt="pepper").deserialize(
        data
    ) == {1, 2}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: SignedSerializer(JSONSerializer(), ""), ValueError, "secret"),
        (lambda: SignedSerializer(JSONSerializer(), "s", key_id=""), ValueError, "key_id"),
        (lambda: SignedSerializer(JSONSerializer(), "s", key_id="x" * 256), ValueError, "255"),
        (
            lambda: SignedSerializer(JSONSerializer(), "s", key_id="a", old_secrets={"a": "t"}),
            ValueError,
            "also in old_secrets",
        ),
        (lambda: SignedSerializer(JSONSerializer(), None), TypeError, "needs a secret"),  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]  # checked at run time too
        (
            lambda: SignedSerializer(JSONSerializer(), "s", compression=True),  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]  # checked at run time too
            TypeError,
            "wrapped serializer",
        ),
    ],
)
def test_bad_arguments(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_huey_binds_the_serializer_to_its_name_and_keeps_the_one_given() -> None:
    """Messages of one queue do not verify in another sharing the storage and secret."""
    signed = SignedSerializer(JSONSerializer(), "secret")
    shared = MemoryStorage("shared")
    one = Huey("one", storage=shared, serializer=signed)
    two = Huey("two", storage=shared, serializer=signed)
    assert one.serializer is signed

    @one.task(name="job")
    def job_one(x: int) -> int:
        return x

    @two.task(name="job")
    def job_two(x: int) -> int:
        return x

    job_one(1)
    data = shared.dequeue()
    assert data is not None
    assert one.engine.decode_task(data).args == (1,)
    with pytest.raises(SignatureError):
        two.engine.decode_task(data)


def test_a_stored_value_cannot_be_moved_into_the_queue() -> None:
    """A result crafted to look like a message is refused as one (purpose binding)."""
    huey = MemoryHuey("app", serializer=SignedSerializer(JSONSerializer(), "secret"))

    @huey.task()
    def echo(value: dict[str, object]) -> dict[str, object]:
        return value

    wire: dict[str, object] = {"v": 1, "id": "evil", "name": echo.name, "args": [{}]}
    huey.put("crafted", wire)
    stored = huey.storage.peek_data("crafted")
    assert isinstance(stored, bytes)
    with pytest.raises(SignatureError):
        huey.engine.decode_task(stored)


def test_every_stored_value_is_signed() -> None:
    """Results, errors, revocation flags and ``put`` values all carry a signature."""
    huey = MemoryHuey("app", serializer=SignedSerializer(JSONSerializer(), "secret"))

    @huey.task()
    def fails() -> None:
        raise ValueError("no")

    @huey.task()
    def works() -> int:
        return 1

    works.revoke()
    huey.put("k", 1)
    fails()
    works()
    huey.immediate = False  # back on the MemoryStorage given at construction
    storage = huey.storage
    fails()
    works()
    while (data := storage.dequeue()) is not None:
        huey.execute(huey.engine.decode_task(data))
    assert isinstance(storage, MemoryStorage)
    values = [storage.peek_data(key) for key in storage.result_items()]
    assert values
    assert all(isinstance(v, bytes) and v.startswith(b"hs1") for v in values)


def test_a_plain_serializer_is_used_unbound() -> None:
    plain: Serializer = JSONSerializer()
    huey = MemoryHuey("app", serializer=plain)
    assert huey.engine.codec.messages is plain
    assert huey.engine.codec.values is plain


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
def test_chords_pipelines_and_error_handlers_work_on_signed_json(
    scenario: Callable[[App], None],
) -> None:
    """Everything huey itself puts in messages and values (chord outcomes, Error,
    SKIPPED, pipeline results) is carried by the safe serializer."""
    clock = MockClock()
    huey = Huey(
        "chords",
        storage=MemoryStorage("chords"),
        clock=clock,
        serializer=SignedSerializer(JSONSerializer(), "secret"),
    )
    scenario(App(huey, clock))


def test_an_error_handler_receives_the_exception_as_text() -> None:
    huey = MemoryHuey("app", serializer=SignedSerializer(JSONSerializer(), "secret"))
    seen: list[Exception] = []

    @huey.task()
    def fails() -> None:
        raise KeyError("gone")

    @huey.task()
    def handler(exc: Exception) -> None:
        seen.append(exc)

    huey.enqueue(fails.s().error(handler))
    while (data := huey.storage.dequeue()) is not None:
        huey.execute(huey.engine.decode_task(data))
    [received] = seen
    assert isinstance(received, SerializedError)
    assert received.metadata["type"] == "builtins.KeyError"
    assert received.metadata["error"] == "KeyError('gone')"


def test_a_producer_reading_a_forged_result_gets_a_signature_error() -> None:
    """Results are verified like messages: a forged one raises, nothing is decoded."""
    huey = MemoryHuey("app", serializer=SignedSerializer(JSONSerializer(), "secret"))

    @huey.task()
    def job() -> int:
        return 1

    result = job()
    huey.storage.put_data(result.id, JSONSerializer().serialize(666))
    with pytest.raises(SignatureError):
        result.get()
    unsigned_item = JSONSerializer().serialize({"v": 1, "id": "x", "name": job.name})
    huey.storage.enqueue(unsigned_item)
    assert [task.id for task in huey.pending()] == [result.id]  # the forged item is skipped
