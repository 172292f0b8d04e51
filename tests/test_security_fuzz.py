"""Fuzzing the deserializers that read untrusted bytes (JSON, signed): only huey's errors.

Random, truncated, bit-flipped and oversized inputs must be decoded or refused with
:class:`~huey.exceptions.MessageDecodeError` (or a subclass), never with another
exception, a hang or a huge allocation. The example counts are small so ``make test``
stays fast; ``make fuzz`` runs many more (``HUEY_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import os
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huey import MemoryHuey
from huey._messages import Message
from huey.exceptions import MessageDecodeError, UnknownTaskError
from huey.protocols import Serializer
from huey.serializer import JSONSerializer, SignedSerializer

WIRE_KEYS = sorted({"v", *(field.name for field in dataclasses.fields(Message))})
EXAMPLES = int(os.environ.get("HUEY_FUZZ_EXAMPLES", "150"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 150,  # reproducible in make test; exploring in make fuzz
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SERIALIZERS: dict[str, Callable[[], Serializer]] = {
    "json": JSONSerializer,
    "orjson": lambda: JSONSerializer(backend="orjson"),
    "json-gzip": lambda: JSONSerializer(compression=True, max_decompressed_size=100_000),
    "json-zlib": lambda: JSONSerializer(
        compression=True, use_zlib=True, max_decompressed_size=100_000
    ),
    "signed": lambda: SignedSerializer(JSONSerializer(compression=True), "fuzz").bind(
        "q", "message"
    ),
}

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)  # NaN != NaN; its round trip has its own test
    | st.text(max_size=20)
    | st.binary(max_size=20)
    | st.decimals(allow_nan=False)
    | st.datetimes(timezones=st.sampled_from([None, UTC]))
    | st.timedeltas(min_value=-timedelta(days=999), max_value=timedelta(days=999))
    | st.uuids()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


def _decodes_or_refuses(serializer: Serializer, data: bytes) -> None:
    with contextlib.suppress(MessageDecodeError):
        serializer.deserialize(data)


@pytest.mark.parametrize("name", SERIALIZERS)
@fuzz
@given(data=st.binary(max_size=300))
def test_random_bytes(name: str, data: bytes) -> None:
    _decodes_or_refuses(SERIALIZERS[name](), data)


@pytest.mark.parametrize("name", SERIALIZERS)
@fuzz
@given(
    value=values, cut=st.integers(min_value=0), flips=st.lists(st.integers(0, 2**20), max_size=3)
)
def test_truncated_and_bit_flipped_values(
    name: str, value: object, cut: int, flips: list[int]
) -> None:
    serializer = SERIALIZERS[name]()
    data = serializer.serialize(value)
    assert serializer.deserialize(data) == value
    _decodes_or_refuses(serializer, data[: cut % (len(data) + 1)])
    mutated = bytearray(data)
    for bit in flips:
        mutated[(bit // 8) % len(mutated)] ^= 1 << (bit % 8)
    _decodes_or_refuses(serializer, bytes(mutated))


@pytest.mark.parametrize("name", ["json-gzip", "json-zlib"])
@fuzz
@given(size=st.integers(100_001, 5_000_000), fill=st.binary(min_size=1, max_size=3))
def test_oversized_compressed_input_is_refused(name: str, size: int, fill: bytes) -> None:
    """Anything inflating past the limit is refused (a bomb is never inflated in full)."""
    raw = (b'"' + fill * size)[: size + 1]
    data = zlib.compress(raw) if name == "json-zlib" else gzip.compress(raw)
    with pytest.raises(MessageDecodeError):
        SERIALIZERS[name]().deserialize(data)


@fuzz
@given(
    wire=st.dictionaries(st.sampled_from(WIRE_KEYS), values, max_size=8),
    version=st.sampled_from([1, 1, 2, "1"]),
)
def test_a_message_decodes_to_a_task_or_to_a_documented_error(
    wire: dict[str, Any], version: object
) -> None:
    """Well-formed JSON of the wrong shape is a MessageDecodeError (or an unknown task)."""
    huey = MemoryHuey("fuzz", serializer=JSONSerializer())
    data = JSONSerializer().serialize({**wire, "v": version})
    with contextlib.suppress(MessageDecodeError, UnknownTaskError):
        huey.engine.decode_task(data)


def test_the_fuzz_strategies_cover_the_extra_types() -> None:
    """A guard against the strategies drifting away from what the serializer carries."""
    serializer = JSONSerializer()
    sample = {"when": datetime(2020, 1, 1, tzinfo=UTC), "n": Decimal("1.5"), "t": (b"x",)}
    assert serializer.deserialize(serializer.serialize(sample)) == sample
