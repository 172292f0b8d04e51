"""Task messages and the records kept beside them (pure).

Rule: this module imports only the standard library, ``typing_extensions`` and the
pure core. It never reads
a clock or touches a storage.

A :class:`Message` is one invocation of a task function, immutable. Retrying or moving
through a pipeline produces a *new* message with :func:`dataclasses.replace`. Messages
cross the storage boundary as a plain ``dict`` of primitives (the *wire form*, see
:func:`message_to_wire`), so any serializer able to encode the task's own arguments can
carry them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import UnionType
from typing import Final, TypeVar

from typing_extensions import override

from .exceptions import MessageDecodeError

__all__ = (
    "Message",
    "ChordRef",
    "ErrorInfo",
    "Revocation",
    "WIRE_VERSION",
    "message_to_wire",
    "message_from_wire",
    "error_to_wire",
    "error_from_wire",
    "revocation_to_wire",
    "revocation_from_wire",
)

WIRE_VERSION: Final = 1
_ERROR_MARKER: Final = "__huey_error__"
_RESERVED_ERROR_KEYS: Final = frozenset(
    {_ERROR_MARKER, "final", "error", "traceback", "task_id", "retries"}
)


def _empty_kwargs() -> Mapping[str, object]:
    return {}


def _empty_headers() -> Mapping[str, str]:
    return {}


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Message:
    """One invocation of a task.

    Attributes:
        id: unique id; results are stored under it.
        name: the registered task name.
        args: positional arguments.
        kwargs: keyword arguments.
        eta: when the task may run (UTC epoch seconds), ``None`` for now.
        retries: retries left.
        retry_delay: seconds to wait before the next retry.
        retry_backoff: factor applied to ``retry_delay`` after each retry (1 = none).
        priority: higher runs first.
        expires: seconds the task stays runnable once it is due, ``None`` for ever.
        expires_at: absolute expiry (UTC epoch seconds), set when the task is enqueued.
        timeout: seconds the task may run.
        on_complete: the next pipeline stage, run with this task's return value.
        on_error: the handler run with the exception when this task finally fails.
        chord: set on the last stage of a chord member: where its outcome is reported.
        headers: string metadata that travels with the message and is not passed to
            the function (a trace context, the time it was enqueued); filled at enqueue
            time by the header providers (see ``Events.add_header_provider``).
    """

    id: str
    name: str
    args: tuple[object, ...] = ()
    kwargs: Mapping[str, object] = field(default_factory=_empty_kwargs)
    eta: float | None = None
    retries: int = 0
    retry_delay: float = 0.0
    retry_backoff: float = 1.0
    priority: int = 0
    expires: float | None = None
    expires_at: float | None = None
    timeout: float | None = None
    on_complete: Message | None = None
    on_error: Message | None = None
    chord: ChordRef | None = None
    headers: Mapping[str, str] = field(default_factory=_empty_headers)

    @override
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.id, self.name, self.eta) == (other.id, other.name, other.eta)

    @override
    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def revoke_id(self) -> str:
        """Key of this instance's revocation flag in the key/value store."""
        return f"r:{self.id}"


M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChordRef:
    """What a chord member carries (on its last stage) to report its outcome.

    Attributes:
        id: the chord's id, shared by its members; its bookkeeping keys derive from it.
        index: the member's position in the chord (the callback's list is in this order).
        size: how many members the chord has.
        callback: the message enqueued, with the list of outcomes appended to its
            arguments, once every member has reported.
    """

    id: str
    index: int
    size: int
    callback: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorInfo:
    """What is stored as the result of a task that failed.

    Attributes:
        error: ``repr`` of the exception.
        traceback: the formatted traceback.
        task_id: the failed task's id.
        retries: retries it had left.
        final: ``False`` when a retry follows (the retry's outcome will replace this
            error), ``True`` when this is the task's last word.
        extra: further metadata fields (from an overridden
            ``Huey.build_error_result``).
    """

    error: str
    traceback: str
    task_id: str
    retries: int
    final: bool = True
    extra: Mapping[str, object] = field(default_factory=_empty_kwargs, hash=False)

    def as_metadata(self) -> dict[str, object]:
        """The original huey's error metadata mapping (with the ``extra`` fields)."""
        return {
            "error": self.error,
            "traceback": self.traceback,
            "task_id": self.task_id,
            "retries": self.retries,
            **self.extra,
        }

    def with_metadata(self, metadata: Mapping[str, object]) -> ErrorInfo:
        """A copy whose metadata is ``metadata``, over this record's own fields.

        The four standard fields keep their values where ``metadata`` lacks them (or
        gives ``retries`` as something other than an ``int``); other keys become
        ``extra``; ``final`` is this record's and cannot be overridden.
        """
        retries = metadata.get("retries", self.retries)
        return ErrorInfo(
            error=str(metadata.get("error", self.error)),
            traceback=str(metadata.get("traceback", self.traceback)),
            task_id=str(metadata.get("task_id", self.task_id)),
            retries=retries if isinstance(retries, int) else self.retries,
            final=self.final,
            extra={k: v for k, v in metadata.items() if k not in _RESERVED_ERROR_KEYS},
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Revocation:
    """A revocation flag: ``until`` (UTC epoch seconds) or ``None`` for ever; ``once``."""

    until: float | None = None
    once: bool = False


def message_to_wire(message: Message) -> dict[str, object]:
    """The wire form of ``message``: a dict of primitives, nested for pipelines."""
    wire: dict[str, object] = {
        "v": WIRE_VERSION,
        "id": message.id,
        "name": message.name,
        "args": list(message.args),
        "kwargs": dict(message.kwargs),
    }
    # Only the fields that differ from their defaults (a plain message has none).
    if message.eta is not None:
        wire["eta"] = message.eta
    if message.retries:
        wire["retries"] = message.retries
    if message.retry_delay:
        wire["retry_delay"] = message.retry_delay
    if message.retry_backoff != 1.0:
        wire["retry_backoff"] = message.retry_backoff
    if message.priority:
        wire["priority"] = message.priority
    if message.expires is not None:
        wire["expires"] = message.expires
    if message.expires_at is not None:
        wire["expires_at"] = message.expires_at
    if message.timeout is not None:
        wire["timeout"] = message.timeout
    if message.on_complete is not None:
        wire["on_complete"] = message_to_wire(message.on_complete)
    if message.on_error is not None:
        wire["on_error"] = message_to_wire(message.on_error)
    if message.chord is not None:
        wire["chord"] = _chord_to_wire(message.chord)
    if message.headers:  # left out when empty: such messages keep their old wire form
        wire["headers"] = dict(message.headers)
    return wire


def _chord_to_wire(ref: ChordRef) -> dict[str, object]:
    return {
        "id": ref.id,
        "index": ref.index,
        "size": ref.size,
        "callback": message_to_wire(ref.callback),
    }


def _chord_from_wire(obj: object, cls: type[Message]) -> ChordRef:
    if not isinstance(obj, dict):
        raise MessageDecodeError("message field 'chord' must be a dict")
    wire: dict[object, object] = obj  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
    chord_id, index, size = wire.get("id"), wire.get("index"), wire.get("size")
    if not isinstance(chord_id, str) or type(index) is not int or type(size) is not int:
        raise MessageDecodeError("message field 'chord' lacks a valid 'id', 'index' or 'size'")
    if not 0 <= index < size:
        raise MessageDecodeError(f"chord member index {index} is outside a chord of {size}")
    callback = wire.get("callback")
    if callback is None:
        raise MessageDecodeError("message field 'chord' lacks its 'callback'")
    return ChordRef(id=chord_id, index=index, size=size, callback=_message_from_wire(callback, cls))


def _field(wire: Mapping[str, object], key: str, kind: type[object] | UnionType) -> object:
    value = wire.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
        raise MessageDecodeError(f"message field {key!r} has the wrong type: {value!r:.80}")
    return value


def _number(
    wire: Mapping[str, object], key: str, default: float | None, *, minimum: float | None = None
) -> float | None:
    value = _field(wire, key, int | float)
    if value is None:
        return default
    assert isinstance(value, int | float)
    try:
        number = float(value)
    except OverflowError:
        raise MessageDecodeError(f"message field {key!r} is out of range: {value!r:.80}") from None
    if not math.isfinite(number):
        raise MessageDecodeError(f"message field {key!r} is not finite: {value!r}")
    if minimum is not None and number < minimum:
        raise MessageDecodeError(f"message field {key!r} must be >= {minimum}, got {value!r}")
    return number


def message_from_wire(obj: object, cls: type[M]) -> M:
    """Rebuild a message of class ``cls`` from its wire form, validating every field.

    Raises:
        MessageDecodeError: ``obj`` is not a valid wire form.
    """
    try:
        return _message_from_wire(obj, cls)
    except MessageDecodeError:
        raise
    except Exception as exc:
        # Whatever a deserializer produced, a bad message must surface as the one
        # documented error (e.g. pipelines nested too deeply to rebuild).
        raise MessageDecodeError(f"malformed message: {exc!r:.200}") from exc


_PLAIN_FIELDS: Final = frozenset(("v", "id", "name", "args", "kwargs"))
"""The fields of a message that uses no option: the common case, rebuilt on a short path."""


def _plain_message_from_wire(wire: dict[object, object], cls: type[M]) -> M | None:
    """The message, if ``wire`` holds only :data:`_PLAIN_FIELDS`, each of its exact
    type; else ``None`` (the full path then validates it and says what is wrong)."""
    if not wire.keys() <= _PLAIN_FIELDS:
        return None
    version, task_id, name = wire.get("v"), wire.get("id"), wire.get("name")
    args, kwargs = wire.get("args", []), wire.get("kwargs", {})
    if (
        type(version) is not int
        or version != WIRE_VERSION
        or type(task_id) is not str
        or type(name) is not str
        or type(args) is not list
        or type(kwargs) is not dict
    ):
        return None
    clean_kwargs: dict[str, object] = kwargs  # pyright: ignore[reportUnknownVariableType]  # each key is checked next
    if not all(type(key) is str for key in clean_kwargs):
        return None
    return cls(id=task_id, name=name, args=tuple(args), kwargs=clean_kwargs)  # pyright: ignore[reportUnknownArgumentType]  # items are anything the task takes


def _message_from_wire(obj: object, cls: type[M]) -> M:
    if type(obj) is dict:
        plain = _plain_message_from_wire(obj, cls)  # pyright: ignore[reportUnknownArgumentType]  # a decoded dict
        if plain is not None:
            return plain
    if not isinstance(obj, dict):
        raise MessageDecodeError(f"a message must decode to a dict, got {type(obj).__name__}")
    wire: dict[object, object] = obj  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
    fields: dict[str, object] = {}
    for key, value in wire.items():
        if not isinstance(key, str):
            raise MessageDecodeError(f"message field names must be strings, got {key!r:.80}")
        fields[key] = value
    version = fields.get("v")
    if type(version) is not int or version != WIRE_VERSION:
        raise MessageDecodeError(f"unsupported message version {version!r:.80}")
    task_id = _field(fields, "id", str)
    name = _field(fields, "name", str)
    if not isinstance(task_id, str) or not isinstance(name, str):
        raise MessageDecodeError("message lacks its 'id' or 'name'")
    args = fields.get("args", [])
    kwargs = fields.get("kwargs", {})
    if not isinstance(args, list | tuple):
        raise MessageDecodeError("message field 'args' must be a list")
    if not isinstance(kwargs, dict):
        raise MessageDecodeError("message field 'kwargs' must be a dict")
    clean_kwargs: dict[str, object] = {}
    for key, value in kwargs.items():  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
        if not isinstance(key, str):
            raise MessageDecodeError("message keyword argument names must be strings")
        clean_kwargs[key] = value
    retries = _field(fields, "retries", int)
    if isinstance(retries, int) and retries < 0:
        raise MessageDecodeError(f"message field 'retries' must be >= 0, got {retries!r}")
    priority = _field(fields, "priority", int)
    children: dict[str, M | None] = {}
    for key in ("on_complete", "on_error"):
        child = fields.get(key)
        children[key] = None if child is None else _message_from_wire(child, cls)
    # Messages written before chords existed have no "chord" field.
    chord = fields.get("chord")
    headers = _headers_from_wire(fields.get("headers"))
    return cls(
        id=task_id,
        name=name,
        args=tuple(args),  # pyright: ignore[reportUnknownArgumentType]  # isinstance() leaves the item types unknown
        kwargs=clean_kwargs,
        eta=_number(fields, "eta", None),
        retries=retries if isinstance(retries, int) else 0,
        retry_delay=_number(fields, "retry_delay", 0.0, minimum=0.0) or 0.0,
        retry_backoff=_number(fields, "retry_backoff", 1.0, minimum=0.0) or 1.0,
        priority=priority if isinstance(priority, int) else 0,
        expires=_number(fields, "expires", None, minimum=0.0),
        expires_at=_number(fields, "expires_at", None),
        timeout=_number(fields, "timeout", None, minimum=0.0),
        on_complete=children["on_complete"],
        on_error=children["on_error"],
        chord=None if chord is None else _chord_from_wire(chord, cls),
        headers=headers,
    )


def _headers_from_wire(obj: object) -> Mapping[str, str]:
    """The message's headers: absent (older messages) or a dict of strings."""
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise MessageDecodeError("message field 'headers' must be a dict")
    headers: dict[str, str] = {}
    for key, value in obj.items():  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
        if not isinstance(key, str) or not isinstance(value, str):
            raise MessageDecodeError(f"message headers must map strings to strings: {key!r:.80}")
        headers[key] = value
    return headers


def error_to_wire(info: ErrorInfo) -> dict[str, object]:
    """The wire form of a stored task error (a dict tagged with a marker key)."""
    return {_ERROR_MARKER: WIRE_VERSION, **info.as_metadata(), "final": info.final}


def error_from_wire(obj: object) -> ErrorInfo | None:
    """The :class:`ErrorInfo` if ``obj`` is the wire form of one, else ``None``."""
    if not isinstance(obj, dict) or _ERROR_MARKER not in obj:
        return None
    wire: dict[object, object] = obj  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
    retries = wire.get("retries")
    return ErrorInfo(
        error=str(wire.get("error", "")),
        traceback=str(wire.get("traceback", "")),
        task_id=str(wire.get("task_id", "")),
        retries=retries if isinstance(retries, int) else 0,
        # Records written before the field existed were final as far as anyone knew.
        final=wire.get("final", True) is not False,
        extra={
            key: value
            for key, value in wire.items()
            if isinstance(key, str) and key not in _RESERVED_ERROR_KEYS
        },
    )


def revocation_to_wire(revocation: Revocation) -> dict[str, object]:
    """The wire form of a revocation flag."""
    return {"until": revocation.until, "once": revocation.once}


def revocation_from_wire(obj: object) -> Revocation:
    """Rebuild a revocation flag; anything malformed counts as "revoked for ever"."""
    if not isinstance(obj, dict):
        return Revocation()
    wire: dict[object, object] = obj  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
    until = wire.get("until")
    once = wire.get("once")
    seconds: float | None = None
    if isinstance(until, int | float) and not isinstance(until, bool):
        # An int too large for a float is as good as "for ever" (None).
        seconds = float(until) if isinstance(until, float) or abs(until) < 2**1023 else None
    return Revocation(until=seconds, once=once is True)
