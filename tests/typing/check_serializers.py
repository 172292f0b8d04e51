"""Typing contract: the serializers, their protocols and the JSON-safe argument types.

Expected-error lines carry ``# type: ignore[code]  # pyright: ignore[rule]`` (see
check_tasks.py); ``rejected_*`` functions are never called.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import assert_type

from huey import MemoryHuey, Result
from huey.exceptions import MessageLimitExceeded, SignatureError
from huey.protocols import BindableSerializer, Serializer
from huey.serializer import JSONSerializer, JSONValue, SignedSerializer
from huey.serializer import Serializer as PickleSerializer


@dataclass(frozen=True)
class Point:
    x: float
    y: float


huey = MemoryHuey("typing-serializers", immediate=True, serializer=JSONSerializer(types=[Point]))


@huey.task()
def store(payload: JSONValue) -> JSONValue:
    return payload


@huey.task()
def move(point: Point, by: JSONValue) -> Point:
    return point


def check_serializers_satisfy_the_protocols() -> None:
    """Every shipped serializer is a ``Serializer``; the signed one also binds."""
    serializers: list[Serializer] = [
        PickleSerializer(compression=True, max_decompressed_size=1 << 20),
        JSONSerializer(backend="orjson", compression=True, max_depth=50),
        SignedSerializer(JSONSerializer(), "secret", key_id="k2", old_secrets={"k1": b"old"}),
        SignedSerializer(secret="secret", salt="pepper", compression=True, use_zlib=True),
        SignedSerializer("secret"),
    ]
    for serializer in serializers:
        assert_type(serializer.deserialize(serializer.serialize([1])), object)
    signed = SignedSerializer(JSONSerializer(), "secret")
    assert_type(signed.bind("queue", "message"), SignedSerializer)
    assert_type(_bind_for_values(signed), Serializer)
    assert_type(signed.verify(signed.serialize(1)), bytes)
    assert_type(signed.inner, Serializer)
    assert_type(signed.key_id, str)


def _bind_for_values(serializer: BindableSerializer) -> Serializer:
    return serializer.bind("queue", "value")


def check_json_safe_arguments() -> None:
    """``JSONValue`` parameters take what JSONSerializer carries, containers included."""
    counts: dict[str, int] = {"a": 1}
    result = store({"when": datetime(2026, 1, 1, tzinfo=UTC), "n": Decimal(1), "t": (1, "x")})
    assert_type(result, Result[JSONValue])
    store(counts)
    store([b"raw", None, 1.5])
    moved = move(Point(1, 2), by=[1, 2])
    assert_type(moved, Result[Point])
    assert moved() == Point(1, 2)
    assert store(counts)() == {"a": 1}


def check_error_types() -> None:
    """The limit error says which limit; both new errors are decode errors."""
    error = MessageLimitExceeded("too big", option="max_depth", limit=3)
    assert_type(error.option, str)
    assert_type(error.limit, int)
    assert isinstance(SignatureError("x"), Exception)


def rejected_serializers() -> None:
    """Arguments and values the signatures refuse (never called)."""
    store(object())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    store({1, 2})  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    JSONSerializer(types=[int])  # type: ignore[list-item]  # pyright: ignore[reportArgumentType]
    JSONSerializer(backend="yaml")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    SignedSerializer(JSONSerializer())  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType]
    SignedSerializer(JSONSerializer(), "k", compression=True)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    SignedSerializer(JSONSerializer(), "k").bind("queue", "results")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    _bindable: BindableSerializer = JSONSerializer()  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
