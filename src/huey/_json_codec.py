"""JSONSerializer: JSON values plus a small registry of types, and nothing that runs code.

The value is first turned into a tree of plain JSON values, tagging the few extra types
it carries as ``{"__huey__": kind, "v": payload}``; a JSON library then writes the tree.
Reading reverses the two steps. Reading never imports anything by name: a tagged
value is rebuilt only by this module (for the built-in extra types) or by a frozen
dataclass that the application registered. Both walks are bounded by ``max_depth``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Final, Literal, Protocol, TypeAlias, cast
from uuid import UUID

from ._compression import compress, decompress, is_compressed
from ._limits import DEFAULT_MAX_DECOMPRESSED_SIZE, DEFAULT_MAX_DEPTH, bounded_repr, check_limit
from .exceptions import (
    ConfigurationError,
    MessageDecodeError,
    MessageLimitExceeded,
    SerializedError,
)
from .utils import SKIPPED, Error

__all__ = ("DataclassType", "JSONBackend", "JSONSerializer", "JSONValue")

JSONValue: TypeAlias = (
    str
    | int
    | float
    | bool
    | Sequence["JSONValue"]
    | Mapping[str, "JSONValue"]
    | datetime
    | date
    | time
    | timedelta
    | Decimal
    | UUID
    | bytes
    | None
)
"""What :class:`JSONSerializer` carries, as a type for task signatures
(``def task(payload: JSONValue) -> JSONValue``), so the type checker refuses what the
serializer would refuse at the call.

``Sequence`` and ``Mapping`` keep it usable with ``list[int]`` or ``dict[str, str]``
arguments; the serializer itself takes exactly ``list``, ``tuple`` and ``dict``
(non-string keys too), and also registered frozen dataclasses: write
``JSONValue | MyDataclass`` for those.
"""

JSONBackend: TypeAlias = Literal["json", "orjson"]
"""The library that reads and writes the JSON text: the standard library's ``json`` or
``orjson`` (faster; ``pip install huey[orjson]``). Both write the same bytes' meaning,
so either reads what the other wrote."""

_TAG: Final = "__huey__"
# orjson writes integers of 64 bits at most; larger ones are tagged (by both backends,
# so the bytes mean the same whichever backend wrote them).
_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**64 - 1
_EXTRA_TYPES: Final[dict[type, str]] = {
    datetime: "datetime",
    date: "date",
    time: "time",
    timedelta: "timedelta",
    Decimal: "decimal",
    UUID: "uuid",
    bytes: "bytes",
}
_NON_FINITE: Final = frozenset({"nan", "inf", "-inf"})
_CARRIED: Final = (
    "JSON values (str, int, float, bool, None, list, dict), tuples, datetime, date, time, "
    "timedelta, Decimal, UUID, bytes, huey's Error and SKIPPED, exceptions (read back as "
    "SerializedError), and the frozen dataclasses registered with JSONSerializer(types=...)"
)


class DataclassType(Protocol):
    """**Protocol:** a dataclass (what ``JSONSerializer(types=...)`` registers)."""

    # Field[Any]: the field types differ per dataclass; only the names are used.
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Registered:
    cls: type[DataclassType]
    name: str
    fields: tuple[str, ...]


class _Unencodable(TypeError):
    """A value :class:`JSONSerializer` cannot carry; ``path`` is filled in on the way out."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what
        self.path: list[str] = []  # innermost first

    def describe(self) -> str:
        where = "".join(reversed(self.path)) or "the top level"
        return f"JSONSerializer cannot carry {self.what} at {where}; it carries {_CARRIED}"


class JSONSerializer:
    """Serializer that writes JSON and reads it back without running foreign code.

    Args:
        types: frozen dataclasses to carry besides the built-in types; each is written
            with its init fields and rebuilt by calling the class (registered by
            ``module.QualName``; readers must register the same classes).
        backend: ``"json"`` (the standard library, the default) or ``"orjson"``.
        compression: compress what is written (gzip, or zlib with ``use_zlib``).
        compression_level: 0 (fastest) to 9 (smallest).
        use_zlib: compress with zlib instead of gzip.
        max_decompressed_size: bytes a compressed value may inflate to (``None``: no
            limit); larger values are refused without inflating them.
        max_depth: how deeply lists, dicts, tuples and dataclasses may nest, checked
            when writing (a ``TypeError`` at enqueue) and when reading.

    Raises:
        TypeError: a registered type is not a frozen dataclass.
        ValueError: a type registered twice under one name, or a bad limit.
        ConfigurationError: ``backend="orjson"`` without orjson installed.
    """

    def __init__(
        self,
        *,
        types: Iterable[type[DataclassType]] = (),
        backend: JSONBackend = "json",
        compression: bool = False,
        compression_level: int = 6,
        use_zlib: bool = False,
        max_decompressed_size: int | None = DEFAULT_MAX_DECOMPRESSED_SIZE,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        if not 0 <= compression_level <= 9:
            raise ValueError(f"compression_level must be 0..9, got {compression_level!r}")
        self.backend: JSONBackend = backend
        self.compression = compression
        self.compression_level = compression_level
        self.use_zlib = use_zlib
        self.max_decompressed_size: int | None = check_limit(
            max_decompressed_size, "max_decompressed_size"
        )
        depth = check_limit(max_depth, "max_depth")
        assert depth is not None  # check_limit returns None only for None
        self.max_depth: int = depth
        self._by_type: dict[type, _Registered] = {}
        self._by_name: dict[str, _Registered] = {}
        # A chord's callback receives Error objects: always carried.
        registered: list[type[DataclassType]] = [Error, *types]
        for cls in registered:
            self._register(cls)
        self._dumps, self._loads = _backend(backend)

    @property
    def types(self) -> tuple[type[DataclassType], ...]:
        """The registered dataclasses (:class:`huey.utils.Error` first, always)."""
        return tuple(entry.cls for entry in self._by_type.values())

    def _register(self, cls: object) -> None:
        """Register ``cls`` (an ``object``: untyped callers may pass anything)."""
        params = getattr(cls, "__dataclass_params__", None)
        if not isinstance(cls, type) or not dataclasses.is_dataclass(cls) or params is None:
            raise TypeError(f"JSONSerializer(types=...) takes dataclasses, got {cls!r:.80}")
        if not getattr(params, "frozen", False):
            raise TypeError(
                f"{cls.__qualname__} must be a frozen dataclass (@dataclass(frozen=True)) "
                "to be carried by JSONSerializer"
            )
        name = f"{cls.__module__}.{cls.__qualname__}"
        if name in self._by_name:
            raise ValueError(f"two types registered under the name {name!r}")
        fields = tuple(f.name for f in dataclasses.fields(cls) if f.init)
        entry = _Registered(cls=cls, name=name, fields=fields)
        self._by_type[cls] = entry
        self._by_name[name] = entry

    # --- writing -------------------------------------------------------------------

    def serialize(self, data: object, /) -> bytes:
        """Encode ``data`` (and compress it, if configured).

        Raises:
            TypeError: ``data`` holds a value of a type not carried, or nests deeper
                than ``max_depth``; the message says where.
        """
        try:
            tree = self._encode(data, 0)
        except _Unencodable as exc:
            raise TypeError(exc.describe()) from None
        except RecursionError:  # a max_depth set beyond what the stack allows
            raise TypeError("JSONSerializer cannot carry a value nested this deeply") from None
        raw = self._dumps(tree)
        if not self.compression:
            return raw
        return compress(raw, self.compression_level, self.use_zlib)

    def _encode(self, value: object, depth: int) -> object:
        kind = type(value)
        if kind is str or kind is bool or value is None:
            return value
        if kind is int:
            assert isinstance(value, int)
            return value if _INT_MIN <= value <= _INT_MAX else {_TAG: "int", "v": str(value)}
        if kind is float:
            assert isinstance(value, float)
            return value if math.isfinite(value) else {_TAG: "float", "v": repr(value)}
        if depth >= self.max_depth:
            raise _Unencodable(f"a {kind.__name__} nested deeper than max_depth={self.max_depth}")
        if kind is list:
            assert isinstance(value, list)
            return self._encode_items(enumerate(value), depth)  # pyright: ignore[reportUnknownArgumentType]  # isinstance() leaves the item type unknown
        if kind is dict:
            assert isinstance(value, dict)
            mapping: dict[object, object] = value  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item types unknown
            if _TAG not in mapping and all(type(key) is str for key in mapping):
                return self._encode_mapping(cast("dict[str, object]", mapping), depth)
            pairs = [[key, item] for key, item in mapping.items()]
            return {_TAG: "dict", "v": self._encode_items(enumerate(pairs), depth)}
        if kind is tuple:
            assert isinstance(value, tuple)
            return {_TAG: "tuple", "v": self._encode_items(enumerate(value), depth)}  # pyright: ignore[reportUnknownArgumentType]  # isinstance() leaves the item type unknown
        tag = _EXTRA_TYPES.get(kind)
        if tag is not None:
            return {_TAG: tag, "v": _extra_payload(value)}
        entry = self._by_type.get(kind)
        if entry is not None:
            fields = {name: getattr(value, name) for name in entry.fields}
            return {_TAG: "dataclass", "type": entry.name, "v": self._encode_mapping(fields, depth)}
        if value is SKIPPED:
            return {_TAG: "skipped"}
        if isinstance(value, BaseException):
            # An error handler's argument. Only text is kept: reading never rebuilds an
            # exception class named by the bytes.
            return {_TAG: "exception", "v": _exception_metadata(value)}
        raise _Unencodable(f"a {kind.__module__}.{kind.__qualname__} object")

    def _encode_items(self, items: Iterable[tuple[int, object]], depth: int) -> list[object]:
        out: list[object] = []
        for index, item in items:
            try:
                out.append(self._encode(item, depth + 1))
            except _Unencodable as exc:
                exc.path.append(f"[{index}]")
                raise
        return out

    def _encode_mapping(self, mapping: dict[str, object], depth: int) -> dict[str, object]:
        out: dict[str, object] = {}
        for key, item in mapping.items():
            try:
                out[key] = self._encode(item, depth + 1)
            except _Unencodable as exc:
                exc.path.append(f"[{bounded_repr(key)}]")
                raise
        return out

    # --- reading -------------------------------------------------------------------

    def deserialize(self, data: bytes, /) -> object:
        """Decode bytes written by :meth:`serialize` (decompressing them if needed).

        Raises:
            MessageLimitExceeded: the data inflates past ``max_decompressed_size`` or
                nests deeper than ``max_depth``.
            MessageDecodeError: anything else wrong with the bytes.
        """
        if self.compression and is_compressed(data):
            data = decompress(data, self.max_decompressed_size)
        try:
            tree = self._loads(data)
        except RecursionError:
            raise self._too_deep() from None
        except Exception as exc:
            raise MessageDecodeError(f"not valid JSON ({len(data)} bytes): {exc!r:.200}") from None
        try:
            return self._decode(tree, 0)
        except MessageDecodeError:
            raise
        except RecursionError:
            raise self._too_deep() from None
        except Exception as exc:
            raise MessageDecodeError(f"malformed tagged value: {exc!r:.200}") from None

    def _too_deep(self) -> MessageLimitExceeded:
        return MessageLimitExceeded(
            f"value nests deeper than max_depth={self.max_depth}",
            option="max_depth",
            limit=self.max_depth,
        )

    def _decode(self, value: object, depth: int) -> object:
        kind = type(value)
        if kind is list:
            if depth >= self.max_depth:
                raise self._too_deep()
            return [self._decode(item, depth + 1) for item in _list(value, "list")]
        if kind is dict:
            if depth >= self.max_depth:
                raise self._too_deep()
            assert isinstance(value, dict)
            mapping: dict[str, object] = value  # pyright: ignore[reportUnknownVariableType]  # JSON objects have str keys
            if _TAG in mapping:
                return self._revive(mapping, depth)
            return {key: self._decode(item, depth + 1) for key, item in mapping.items()}
        return value

    def _revive(self, tagged: dict[str, object], depth: int) -> object:
        """The value a tagged JSON object stands for (only the kinds this module writes)."""
        tag, payload = tagged[_TAG], tagged.get("v")
        if tag == "tuple":
            return tuple(self._decode(item, depth + 1) for item in _list(payload, "tuple"))
        if tag == "dict":
            pairs = [_pair(item) for item in _list(payload, "dict")]
            return {
                self._decode(key, depth + 1): self._decode(item, depth + 1) for key, item in pairs
            }
        if tag == "dataclass":
            name = tagged.get("type")
            entry = self._by_name.get(name) if isinstance(name, str) else None
            if entry is None:
                raise MessageDecodeError(
                    f"dataclass {bounded_repr(name)} is not registered with this "
                    "JSONSerializer (types=...)"
                )
            if not isinstance(payload, dict):
                raise MessageDecodeError(f"tagged {entry.name} lacks its fields")
            fields: dict[str, object] = payload  # pyright: ignore[reportUnknownVariableType]  # JSON objects have str keys
            return entry.cls(**{key: self._decode(item, depth + 1) for key, item in fields.items()})
        if tag == "skipped":
            return SKIPPED
        if tag == "exception":
            if not isinstance(payload, dict):
                raise MessageDecodeError("tagged exception lacks its metadata")
            metadata: dict[str, object] = payload  # pyright: ignore[reportUnknownVariableType]  # JSON objects have str keys
            return SerializedError({key: str(item) for key, item in metadata.items()})
        return _revive_scalar(tag, payload)


def _list(payload: object, what: str) -> list[object]:
    if not isinstance(payload, list):
        raise MessageDecodeError(f"tagged {what} must hold a list")
    return payload  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item type unknown


def _pair(item: object) -> tuple[object, object]:
    if not isinstance(item, list) or len(item) != 2:  # pyright: ignore[reportUnknownArgumentType]  # isinstance() leaves the item type unknown
        raise MessageDecodeError("tagged dict must hold [key, value] pairs")
    return item[0], item[1]  # pyright: ignore[reportUnknownVariableType]  # isinstance() leaves the item type unknown


def _exception_metadata(exc: BaseException) -> dict[str, str]:
    kind = type(exc)
    try:
        message = str(exc)[:1000]
    except Exception:  # a broken __str__ must not stop the error handler's enqueue
        message = ""
    return {
        "error": bounded_repr(exc),
        "type": f"{kind.__module__}.{kind.__qualname__}",
        "message": message,
    }


def _extra_payload(value: object) -> object:
    """The JSON payload of a value of one of ``_EXTRA_TYPES`` (its exact type)."""
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, timedelta):
        return [value.days, value.seconds, value.microseconds]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)  # Decimal, UUID


def _revive_scalar(tag: object, payload: object) -> object:
    if tag == "timedelta":
        items = _list(payload, "timedelta")
        ints = [part for part in items if isinstance(part, int) and not isinstance(part, bool)]
        if len(ints) != 3 or len(items) != 3:
            raise MessageDecodeError("tagged timedelta must hold [days, seconds, microseconds]")
        return timedelta(days=ints[0], seconds=ints[1], microseconds=ints[2])
    if not isinstance(payload, str):
        raise MessageDecodeError(f"tagged value {bounded_repr(tag)} must hold a string")
    parser = _SCALAR_PARSERS.get(tag) if isinstance(tag, str) else None
    if parser is None:
        raise MessageDecodeError(f"unknown tag {bounded_repr(tag)}")
    return parser(payload)


def _parse_float(text: str) -> float:
    if text not in _NON_FINITE:
        raise MessageDecodeError(f"tagged float must be nan, inf or -inf, got {text!r:.40}")
    return float(text)


def _parse_bytes(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise MessageDecodeError(f"tagged bytes are not valid base64: {exc}") from None


_SCALAR_PARSERS: Final[dict[str, Callable[[str], object]]] = {
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "decimal": Decimal,
    "uuid": UUID,
    "bytes": _parse_bytes,
    "float": _parse_float,
    "int": int,
}


def _backend(
    backend: JSONBackend,
) -> tuple[Callable[[object], bytes], Callable[[bytes], object]]:
    """The ``(dumps, loads)`` pair of ``backend``."""
    if backend == "json":
        # The tree is built afresh by _encode: no cycles to check; ASCII output keeps
        # lone surrogates in strings writable.
        encoder = json.JSONEncoder(
            ensure_ascii=True, allow_nan=False, check_circular=False, separators=(",", ":")
        )
        decoder = json.JSONDecoder()

        def dumps(tree: object) -> bytes:
            return encoder.encode(tree).encode("ascii")

        def loads(data: bytes) -> object:
            return decoder.decode(data.decode("utf-8"))

        return dumps, loads
    if backend == "orjson":
        try:
            import orjson
        except ImportError:
            raise ConfigurationError(
                'JSONSerializer(backend="orjson") needs orjson: pip install huey[orjson]'
            ) from None
        return orjson.dumps, orjson.loads
    raise ValueError(f"backend must be 'json' or 'orjson', got {backend!r:.80}")
