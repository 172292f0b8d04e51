"""JSONSerializer: what it carries exactly, what it refuses (and where), its limits."""

from __future__ import annotations

import enum
import gzip
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, NamedTuple, cast

import pytest

from huey.exceptions import MessageDecodeError, MessageLimitExceeded, SerializedError
from huey.serializer import JSONSerializer
from huey.utils import SKIPPED, Error


@dataclass(frozen=True)
class Point:
    x: int
    y: int
    label: str = ""


@dataclass(frozen=True)
class Box:
    corner: Point
    tags: tuple[str, ...]


@dataclass
class Mutable:
    x: int


class Color(enum.Enum):
    RED = 1


class Pair(NamedTuple):
    """A tuple subclass: refused, not written as a plain tuple."""

    a: int
    b: int


ANYTHING: Any = object()

BACKENDS = ["json", "orjson"]

EXACT_VALUES: list[object] = [
    None,
    True,
    0,
    -(2**63),
    2**64 - 1,
    2**200,
    -(2**200),
    1.5,
    math.inf,
    -math.inf,
    "text é \u2603",
    [1, [2, [3]]],
    (1, (2, "x"), []),
    (),
    {"a": {"b": (1,)}},
    {1: "int key", (1, 2): "tuple key", None: 0},
    {"__huey__": "a user key that looks like the tag"},
    datetime(2026, 1, 2, 3, 4, 5, 6),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    date(1999, 12, 31),
    time(23, 59, 59, 999999),
    timedelta(days=-3, seconds=5, microseconds=7),
    Decimal("1.10"),
    Decimal("-0E+3"),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    b"\x00\xff" * 10,
    b"",
    Point(1, 2, "p"),
    Box(Point(0, 0), ("a", "b")),
    Error({"error": "ValueError('x')", "task_id": "t", "retries": 0}),
    SKIPPED,
]


@pytest.fixture(params=BACKENDS)
def serializer(request: pytest.FixtureRequest) -> JSONSerializer:
    return JSONSerializer(types=[Point, Box], backend=request.param)


@pytest.mark.parametrize("value", EXACT_VALUES, ids=repr)
def test_values_come_back_equal_and_of_the_same_type(
    serializer: JSONSerializer, value: object
) -> None:
    """Every carried value is read back equal, with the same type at every level."""
    back = serializer.deserialize(serializer.serialize(value))
    assert back == value
    assert _types(back) == _types(value)


def _types(value: object) -> object:
    """``value``'s type and, for containers, its items' types, recursively."""
    if isinstance(value, list | tuple):
        items = cast("list[object] | tuple[object, ...]", value)
        return (type(items), [_types(item) for item in items])
    if isinstance(value, dict):
        mapping = cast("dict[object, object]", value)
        return (dict, [(_types(k), _types(v)) for k, v in mapping.items()])
    return type(value)


def test_lone_surrogates_need_the_standard_backend() -> None:
    """orjson refuses strings that are not valid UTF-8; the standard library keeps them."""
    text = "half a pair: \ud800"
    assert JSONSerializer().deserialize(JSONSerializer().serialize(text)) == text
    with pytest.raises(TypeError, match="surrogates"):
        JSONSerializer(backend="orjson").serialize(text)
    with pytest.raises(MessageDecodeError, match="surrogate"):
        JSONSerializer(backend="orjson").deserialize(JSONSerializer().serialize(text))


def test_nan_comes_back_as_nan(serializer: JSONSerializer) -> None:
    back = serializer.deserialize(serializer.serialize(math.nan))
    assert isinstance(back, float)
    assert math.isnan(back)


def test_both_backends_read_what_the_other_wrote() -> None:
    """The backends differ in speed only: the bytes mean the same."""
    plain = JSONSerializer(types=[Point])
    fast = JSONSerializer(types=[Point], backend="orjson")
    value = {"p": Point(1, 2), "big": 2**80, "t": (1, 2), "when": date(2020, 1, 1)}
    assert fast.deserialize(plain.serialize(value)) == value
    assert plain.deserialize(fast.serialize(value)) == value


def test_the_bytes_are_json(serializer: JSONSerializer) -> None:
    assert json.loads(serializer.serialize({"a": [1, "b"]})) == {"a": [1, "b"]}


def test_exceptions_are_read_back_as_text(
    serializer: JSONSerializer,
) -> None:
    """An error handler's exception argument arrives as text: no class is rebuilt by name."""
    back = serializer.deserialize(serializer.serialize(KeyError("missing")))
    assert isinstance(back, SerializedError)
    assert (str(back), back.type_name) == ("'missing'", "builtins.KeyError")
    assert back.metadata == {
        "error": "KeyError('missing')",
        "type": "builtins.KeyError",
        "message": "'missing'",
    }


@pytest.mark.parametrize(
    ("value", "what", "where"),
    [
        (object(), "builtins.object", "the top level"),
        ([1, {1, 2}], "builtins.set", "[1]"),
        ({"a": [0, Color.RED]}, "Color", "['a'][1]"),
        ((Pair(1, 2),), "Pair", "[0]"),
        ({"k": Mutable(1)}, "Mutable", "['k']"),
        ({"p": Point(1, ANYTHING)}, "builtins.object", "['p']['y']"),
        ({1: object()}, "builtins.object", "[0][1]"),
    ],
)
def test_values_it_cannot_carry_are_a_type_error_saying_where(
    serializer: JSONSerializer, value: object, what: str, where: str
) -> None:
    """Subclasses (enums, namedtuples) and unregistered types are refused, not degraded."""
    with pytest.raises(TypeError, match="JSONSerializer cannot carry") as info:
        serializer.serialize(value)
    assert what in str(info.value)
    assert f"at {where};" in str(info.value)


def test_only_frozen_dataclasses_register() -> None:
    with pytest.raises(TypeError, match="frozen"):
        JSONSerializer(types=[Mutable])  # frozenness is checked at run time only
    with pytest.raises(TypeError, match="takes dataclasses"):
        JSONSerializer(types=[int])  # type: ignore[list-item]  # pyright: ignore[reportArgumentType]  # checked at run time too
    with pytest.raises(ValueError, match="two types"):
        JSONSerializer(types=[Point, Point])
    assert JSONSerializer(types=[Point]).types == (Error, Point)


def test_a_reader_without_the_registration_refuses_the_type() -> None:
    data = JSONSerializer(types=[Point]).serialize(Point(1, 2))
    with pytest.raises(MessageDecodeError, match="not registered"):
        JSONSerializer().deserialize(data)


@pytest.mark.parametrize(
    "text",
    [
        b'{"__huey__": "nope", "v": 1}',
        b'{"__huey__": "tuple", "v": 1}',
        b'{"__huey__": "dict", "v": [[1]]}',
        b'{"__huey__": "dict", "v": [[[1], 2]]}',  # an unhashable key
        b'{"__huey__": "datetime", "v": "yesterday"}',
        b'{"__huey__": "datetime", "v": 5}',
        b'{"__huey__": "timedelta", "v": [1, 2]}',
        b'{"__huey__": "timedelta", "v": [1, 2, true]}',
        b'{"__huey__": "timedelta", "v": [1e300, 0, 0]}',
        b'{"__huey__": "timedelta", "v": [999999999999, 0, 0]}',
        b'{"__huey__": "bytes", "v": "***"}',
        b'{"__huey__": "float", "v": "1.5"}',
        b'{"__huey__": "int", "v": "12x"}',
        b'{"__huey__": "decimal", "v": "abc"}',
        b'{"__huey__": "uuid", "v": "abc"}',
        b'{"__huey__": "exception", "v": 3}',
        b'{"__huey__": "dataclass", "type": "os.system", "v": {}}',
        b'{"__huey__": "dataclass", "type": "huey.utils.Error", "v": {"nope": 1}}',
        b'{"__huey__": "dataclass", "type": "huey.utils.Error", "v": 1}',
        b"[1, 2",
        b"\xff\xfe",
        b"",
        b"NaNx",
    ],
)
def test_malformed_input_is_a_decode_error(serializer: JSONSerializer, text: bytes) -> None:
    with pytest.raises(MessageDecodeError):
        serializer.deserialize(text)


def test_nesting_is_limited_when_writing_and_when_reading() -> None:
    shallow = JSONSerializer(max_depth=3)
    assert shallow.deserialize(shallow.serialize([[[1]]])) == [[[1]]]
    with pytest.raises(TypeError, match="deeper than max_depth=3"):
        shallow.serialize([[[[1]]]])
    with pytest.raises(MessageLimitExceeded) as info:
        shallow.deserialize(b"[[[[1]]]]")
    assert (info.value.option, info.value.limit) == ("max_depth", 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nesting_past_the_parser_recursion_limit_is_refused(backend: Any) -> None:
    """100,000 nested arrays (200 KB) raise the library's error, not RecursionError."""
    with pytest.raises(MessageDecodeError):
        JSONSerializer(backend=backend).deserialize(b"[" * 100_000 + b"]" * 100_000)


def test_a_cycle_is_refused_at_the_depth_limit() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(TypeError, match="max_depth"):
        JSONSerializer().serialize(loop)


@pytest.mark.parametrize("use_zlib", [False, True])
def test_compression_round_trips_and_reads_uncompressed_data(use_zlib: bool) -> None:
    packed = JSONSerializer(compression=True, use_zlib=use_zlib)
    value = {"text": "a" * 1000}
    data = packed.serialize(value)
    assert len(data) < 200
    assert packed.deserialize(data) == value
    assert packed.deserialize(JSONSerializer().serialize(value)) == value


def test_a_decompression_bomb_is_refused_at_the_limit() -> None:
    bomb = gzip.compress(b"[" + b" " * 10_000_000 + b"]")
    serializer = JSONSerializer(compression=True, max_decompressed_size=1_000_000)
    with pytest.raises(MessageLimitExceeded) as info:
        serializer.deserialize(bomb)
    assert (info.value.option, info.value.limit) == ("max_decompressed_size", 1_000_000)


def test_orjson_backend_needs_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from huey.exceptions import ConfigurationError

    monkeypatch.setitem(sys.modules, "orjson", None)
    with pytest.raises(ConfigurationError, match=r"huey\[orjson\]"):
        JSONSerializer(backend="orjson")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "yaml"}, "backend"),
        ({"max_depth": 0}, "max_depth"),
        ({"max_decompressed_size": -1}, "max_decompressed_size"),
        ({"compression_level": 10}, "compression_level"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        JSONSerializer(**options)
