"""Unit tests for ``huey._messages``: the wire form of messages, errors and revocations."""

from __future__ import annotations

import contextlib
import dataclasses
import pickle
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typing_extensions import override

from huey._messages import (
    WIRE_VERSION,
    ErrorInfo,
    Message,
    Revocation,
    error_from_wire,
    error_to_wire,
    message_from_wire,
    message_to_wire,
    revocation_from_wire,
    revocation_to_wire,
)
from huey._task import Task
from huey.exceptions import HueyException, MessageDecodeError


def snapshot(message: Message | None) -> object:
    """Every field of ``message``, recursively (``Message.__eq__`` compares ids only)."""
    if message is None:
        return None
    result: dict[str, object] = {}
    for field in dataclasses.fields(message):
        value = getattr(message, field.name)
        if isinstance(value, Message):
            result[field.name] = snapshot(value)
        elif isinstance(value, Mapping):
            result[field.name] = dict(value)  # pyright: ignore[reportUnknownArgumentType]  # isinstance() leaves the item types unknown
        else:
            result[field.name] = value
    return result


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.binary(max_size=8),
)
_argument = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
_non_negative = st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1e9)


@st.composite
def _leaf_messages(draw: st.DrawFn) -> Message:
    return Message(
        id=draw(st.uuids().map(str)),
        name=draw(st.text(min_size=1, max_size=20)),
        args=tuple(draw(st.lists(_argument, max_size=4))),
        kwargs=draw(st.dictionaries(st.text(max_size=6), _argument, max_size=4)),
        eta=draw(st.none() | _finite),
        retries=draw(st.integers(min_value=0, max_value=100)),
        retry_delay=draw(_non_negative),
        retry_backoff=draw(st.floats(min_value=1.0, max_value=10.0)),
        priority=draw(st.integers(min_value=-(2**31), max_value=2**31)),
        expires=draw(st.none() | _non_negative),
        expires_at=draw(st.none() | _finite),
        timeout=draw(st.none() | _non_negative),
    )


def _chain(head: Message, on_complete: Message | None, on_error: Message | None) -> Message:
    return dataclasses.replace(head, on_complete=on_complete, on_error=on_error)


def _extend(inner: st.SearchStrategy[Message]) -> st.SearchStrategy[Message]:
    return st.builds(_chain, _leaf_messages(), st.none() | inner, st.none() | inner)


messages: st.SearchStrategy[Message] = st.recursive(_leaf_messages(), _extend, max_leaves=5)


@given(messages)
def test_wire_round_trip(message: Message) -> None:
    """Every message survives to_wire -> from_wire, nested pipelines included."""
    wire = message_to_wire(message)
    decoded = message_from_wire(wire, Message)
    assert snapshot(decoded) == snapshot(message)
    assert message_to_wire(decoded) == wire


@given(messages)
def test_wire_round_trip_through_pickle(message: Message) -> None:
    """The wire form is made of primitives that pickle round-trips."""
    wire = message_to_wire(message)
    assert message_from_wire(pickle.loads(pickle.dumps(wire)), Message) is not None
    assert pickle.loads(pickle.dumps(wire)) == wire


def test_wire_form_is_versioned_and_minimal() -> None:
    """Default fields are left out; the version is always present."""
    wire = message_to_wire(Message(id="a", name="n"))
    assert wire == {"v": WIRE_VERSION, "id": "a", "name": "n", "args": [], "kwargs": {}}


def test_from_wire_builds_the_requested_class() -> None:
    """Decoding into ``Task`` gives a ``Task``, for the children too."""
    message = Message(id="a", name="n", on_complete=Message(id="b", name="m"))
    decoded = message_from_wire(message_to_wire(message), Task)
    assert type(decoded) is Task
    assert type(decoded.on_complete) is Task


def test_message_decode_error_is_a_huey_exception() -> None:
    """Callers can catch decode failures as HueyException."""
    assert issubclass(MessageDecodeError, HueyException)


_VALID: dict[object, object] = {"v": WIRE_VERSION, "id": "a", "name": "n"}


@pytest.mark.parametrize(
    "wire",
    [
        None,
        [],
        "message",
        b"bytes",
        42,
        {},
        {"id": "a", "name": "n"},  # no version
        {**_VALID, "v": 2},
        {**_VALID, "v": "1"},
        {**_VALID, "v": True},
        {**_VALID, "v": 1.0},
        {**_VALID, "id": 5},
        {**_VALID, "name": None},
        {"v": 1, "name": "n"},
        {**_VALID, "args": "abc"},
        {**_VALID, "args": {"a": 1}},
        {**_VALID, "kwargs": [1, 2]},
        {**_VALID, "kwargs": {1: "x"}},
        {**_VALID, "eta": "soon"},
        {**_VALID, "eta": float("nan")},
        {**_VALID, "eta": float("inf")},
        {**_VALID, "eta": 10**400},
        {**_VALID, "eta": True},
        {**_VALID, "retries": -1},
        {**_VALID, "retries": 1.5},
        {**_VALID, "retries": "3"},
        {**_VALID, "retry_delay": -1},
        {**_VALID, "expires": -1},
        {**_VALID, "timeout": -0.5},
        {**_VALID, "priority": 1.5},
        {**_VALID, "priority": False},
        {**_VALID, "on_complete": 5},
        {**_VALID, "on_complete": {"v": 1}},
        {**_VALID, "on_error": {**_VALID, "retries": -3}},
        {**_VALID, 7: "non-string key"},
    ],
    ids=repr,
)
def test_malformed_wire_forms_are_rejected(wire: object) -> None:
    """Each malformed wire form raises MessageDecodeError."""
    with pytest.raises(MessageDecodeError):
        message_from_wire(wire, Message)


def test_deeply_nested_wire_form_is_rejected_cleanly() -> None:
    """A pipeline nested deeper than the interpreter can rebuild is a decode error."""
    head: dict[object, object] = dict(_VALID)
    current = head
    for _ in range(20_000):
        child: dict[object, object] = dict(_VALID)
        current["on_complete"] = child
        current = child
    with pytest.raises(MessageDecodeError):
        message_from_wire(head, Message)


class _Hostile:
    """An object whose comparisons and conversions all fail."""

    @override
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing")

    @override
    def __hash__(self) -> int:
        return 1

    @override
    def __str__(self) -> str:
        raise RuntimeError("no str")

    @override
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize("key", ["v", "id", "eta", "kwargs", "on_complete"])
def test_hostile_values_are_rejected_cleanly(key: str) -> None:
    """Objects that raise on use still produce MessageDecodeError."""
    with pytest.raises(MessageDecodeError):
        message_from_wire({**_VALID, key: _Hostile()}, Message)
    with pytest.raises(MessageDecodeError):
        message_from_wire({**_VALID, _Hostile(): 1}, Message)


_junk = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=5),
        st.binary(max_size=5),
        st.sampled_from([1, "v", "id", "name", "args", "kwargs", "on_complete"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    [
                        "v",
                        "id",
                        "name",
                        "args",
                        "kwargs",
                        "eta",
                        "retries",
                        "retry_delay",
                        "retry_backoff",
                        "priority",
                        "expires",
                        "expires_at",
                        "timeout",
                        "on_complete",
                        "on_error",
                    ]
                ),
                st.integers(),
                st.text(max_size=3),
            ),
            inner,
            max_size=6,
        ),
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(_junk)
def test_fuzz_random_values_only_raise_decode_errors(junk: object) -> None:
    """Random values either decode or raise MessageDecodeError, never anything else."""
    with contextlib.suppress(MessageDecodeError):
        message_from_wire(junk, Message)


@settings(max_examples=300)
@given(
    messages,
    st.sampled_from(
        [
            "v",
            "id",
            "name",
            "args",
            "kwargs",
            "eta",
            "retries",
            "retry_delay",
            "retry_backoff",
            "priority",
            "expires",
            "expires_at",
            "timeout",
            "on_complete",
            "on_error",
        ]
    ),
    _junk,
)
def test_fuzz_corrupted_fields_only_raise_decode_errors(
    message: Message, key: str, junk: object
) -> None:
    """A valid wire form with one field replaced by junk decodes or raises MessageDecodeError."""
    wire = message_to_wire(message)
    wire[key] = junk
    try:
        decoded = message_from_wire(wire, Message)
    except MessageDecodeError:
        return
    assert isinstance(decoded, Message)


# --- errors and revocations --------------------------------------------------------


def test_error_wire_round_trip() -> None:
    """A stored error comes back as the same ErrorInfo."""
    info = ErrorInfo(error="ValueError('x')", traceback="tb", task_id="a", retries=2)
    assert error_from_wire(error_to_wire(info)) == info
    assert info.as_metadata() == {
        "error": "ValueError('x')",
        "traceback": "tb",
        "task_id": "a",
        "retries": 2,
    }


def test_error_extra_fields_round_trip() -> None:
    """Extra metadata (from an overridden ``build_error_result``) is stored and read back."""
    base = ErrorInfo(error="E()", traceback="tb", task_id="a", retries=1, final=False)
    info = base.with_metadata({"error": "custom", "host": "w1", "codes": [1, 2]})
    assert info == ErrorInfo(
        error="custom",
        traceback="tb",
        task_id="a",
        retries=1,
        final=False,
        extra={"host": "w1", "codes": [1, 2]},
    )
    assert error_from_wire(error_to_wire(info)) == info
    assert info.as_metadata() == {
        "error": "custom",
        "traceback": "tb",
        "task_id": "a",
        "retries": 1,
        "host": "w1",
        "codes": [1, 2],
    }
    assert hash(info) == hash(dataclasses.replace(info, extra={}))


def test_error_with_metadata_cannot_override_final_or_type_of_retries() -> None:
    """``final`` stays the record's; a ``retries`` that is not an int keeps the default."""
    base = ErrorInfo(error="E()", traceback="tb", task_id="a", retries=3, final=True)
    info = base.with_metadata({"final": False, "retries": "many", "__huey_error__": 9})
    assert info == base


@pytest.mark.parametrize("value", [None, 3, "error", {"error": "x"}, [1], {}])
def test_error_from_wire_ignores_ordinary_values(value: object) -> None:
    """Ordinary task results (even dicts with an 'error' key) are not errors."""
    assert error_from_wire(value) is None


@pytest.mark.parametrize(
    "revocation", [Revocation(), Revocation(once=True), Revocation(until=12.5, once=False)]
)
def test_revocation_wire_round_trip(revocation: Revocation) -> None:
    """Revocation flags round-trip through their wire form."""
    assert revocation_from_wire(revocation_to_wire(revocation)) == revocation


@pytest.mark.parametrize(
    "value", [None, "x", [1], {"until": "tomorrow"}, {"until": True}, {"until": 10**400}]
)
def test_malformed_revocation_counts_as_revoked_forever(value: object) -> None:
    """A malformed revocation flag decodes to "revoked for ever", never an exception."""
    assert revocation_from_wire(value) == Revocation()


class _Name(str):
    """A str subclass, as a custom deserializer might produce."""


def test_plain_and_unusual_wire_forms_decode_alike() -> None:
    """A message with only the basic fields decodes on the short path; one whose fields
    are of accepted but inexact types (a tuple of args, a str subclass) on the full
    path; both give the same message."""
    plain = message_from_wire(
        {"v": WIRE_VERSION, "id": "a", "name": "n", "args": [1], "kwargs": {"k": 2}}, Message
    )
    unusual = message_from_wire(
        {"v": WIRE_VERSION, "id": _Name("a"), "name": "n", "args": (1,), "kwargs": {"k": 2}},
        Message,
    )
    assert plain == unusual == Message(id="a", name="n", args=(1,), kwargs={"k": 2})
