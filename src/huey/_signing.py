"""SignedSerializer: HMAC-SHA256 over the stored bytes, checked before anything is decoded.

Stored form::

    b"hs1" | len(key_id) (1 byte) | key_id | HMAC-SHA256 (32 bytes) | body

``body`` is exactly what the wrapped serializer wrote (already compressed, when it
compresses), so verification needs no decompression or decoding: bytes that fail it
reach neither. The MAC covers, besides the body, a context naming the format version,
the key id, the queue and the purpose (``message`` or ``value``) the serializer is
bound to (see :class:`huey.protocols.BindableSerializer`): bytes signed for one queue,
or as a result, do not verify as a message of another queue.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Mapping
from typing import Final, overload

from ._limits import DEFAULT_MAX_DECOMPRESSED_SIZE, bounded_repr
from ._pickle import Serializer as PickleSerializer
from .exceptions import SignatureError
from .protocols import BindableSerializer, Serializer, SerializerPurpose

__all__ = ("SignedSerializer",)

_MAGIC: Final = b"hs1"
_MAC_SIZE: Final = 32
_DEFAULT_KEY_ID: Final = "1"
_DEFAULT_SALT: Final = "huey"


def _as_bytes(value: object, what: str) -> bytes:
    """``value`` as bytes (``str`` in UTF-8); untyped callers may pass anything."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes) or not value:
        raise ValueError(f"{what} must be a non-empty str or bytes, got {type(value).__name__}")
    return value


def _length_prefixed(*parts: bytes) -> bytes:
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


class SignedSerializer:
    """Wraps a serializer; signs what it writes and verifies what it reads, first.

    ``SignedSerializer(JSONSerializer(), secret)`` is the safe choice when others can
    write to the storage: bytes without a valid signature are refused with
    :class:`~huey.exceptions.SignatureError` before they are decompressed or decoded.

    Args:
        inner: the serializer whose output is signed (compress there: signing comes
            after compression, verification before decompression).
        secret: the signing secret (keep it out of the storage and the source code).
        key_id: names ``secret`` in every signature (1 to 255 bytes of UTF-8), so that
            secrets can be rotated.
        old_secrets: secrets that still verify, by key id, during a rotation; nothing
            is signed with them.
        salt: mixed into every key (the original huey's ``salt``).

    The original huey's form is accepted too: ``SignedSerializer(secret=..., salt=...,
    compression=..., use_zlib=...)`` (or ``SignedSerializer("secret")``) signs what the
    pickle :class:`~huey.serializer.Serializer` writes with those compression options.
    Its signatures are HMAC-SHA256 in huey's own format, not the original's.

    Raises:
        ValueError: an empty secret, a bad key id, or ``key_id`` also in ``old_secrets``.
        TypeError: no secret, or compression options given with ``inner``.
    """

    @overload
    def __init__(
        self,
        inner: Serializer,
        secret: str | bytes,
        *,
        key_id: str = ...,
        old_secrets: Mapping[str, str | bytes] | None = ...,
        salt: str | bytes = ...,
    ) -> None: ...

    @overload
    def __init__(
        self,
        *,
        secret: str | bytes,
        salt: str | bytes = ...,
        compression: bool = ...,
        compression_level: int = ...,
        use_zlib: bool = ...,
        max_decompressed_size: int | None = ...,
        key_id: str = ...,
        old_secrets: Mapping[str, str | bytes] | None = ...,
    ) -> None: ...

    @overload
    def __init__(
        self,
        secret: str | bytes,
        /,
        *,
        salt: str | bytes = ...,
        compression: bool = ...,
        compression_level: int = ...,
        use_zlib: bool = ...,
        max_decompressed_size: int | None = ...,
        key_id: str = ...,
        old_secrets: Mapping[str, str | bytes] | None = ...,
    ) -> None: ...

    def __init__(
        self,
        inner: Serializer | str | bytes | None = None,
        secret: str | bytes | None = None,
        *,
        key_id: str = _DEFAULT_KEY_ID,
        old_secrets: Mapping[str, str | bytes] | None = None,
        salt: str | bytes | None = None,
        compression: bool = False,
        compression_level: int = 6,
        use_zlib: bool = False,
        max_decompressed_size: int | None = DEFAULT_MAX_DECOMPRESSED_SIZE,
    ) -> None:
        if isinstance(inner, str | bytes):
            # The original huey's positional form: SignedSerializer(secret, salt).
            if secret is not None:
                if salt is not None:
                    raise TypeError("SignedSerializer(secret, salt) got salt twice")
                salt = secret
            inner, secret = None, inner
        pickle_options = (compression, compression_level, use_zlib, max_decompressed_size)
        if inner is None:
            inner = PickleSerializer(
                compression,
                compression_level,
                use_zlib,
                max_decompressed_size=max_decompressed_size,
            )
        elif pickle_options != (False, 6, False, DEFAULT_MAX_DECOMPRESSED_SIZE):
            raise TypeError(
                "compression options configure the wrapped serializer: pass them to it, "
                "not to SignedSerializer"
            )
        if secret is None:
            raise TypeError("SignedSerializer needs a secret")
        self.inner: Serializer = inner
        self.queue: str = ""
        self.purpose: SerializerPurpose = "value"
        salt_bytes = _as_bytes(_DEFAULT_SALT if salt is None else salt, "salt")
        secrets = {key_id: secret, **(old_secrets or {})}
        if old_secrets and key_id in old_secrets:
            raise ValueError(f"key_id {key_id!r} is also in old_secrets")
        self._keys: dict[bytes, bytes] = {}
        for name, value in secrets.items():
            kid = _as_bytes(name, "key_id")
            if len(kid) > 255:
                raise ValueError(f"key_id must be at most 255 bytes, got {len(kid)}")
            derived = hmac.new(
                _as_bytes(value, f"the secret of key id {name!r}"),
                b"huey signing key\x00" + salt_bytes,
                hashlib.sha256,
            )
            self._keys[kid] = derived.digest()
        self._key_id = _as_bytes(key_id, "key_id")
        self._macs: dict[bytes, hmac.HMAC] = {}
        self._prepare()

    @property
    def key_id(self) -> str:
        """The id of the key that signs."""
        return self._key_id.decode("utf-8")

    def _prepare(self) -> None:
        """One HMAC per key, already fed the context; each signature continues a copy."""
        self._macs = {
            kid: hmac.new(key, self._context(kid), hashlib.sha256)
            for kid, key in self._keys.items()
        }

    def _context(self, kid: bytes) -> bytes:
        return _length_prefixed(
            _MAGIC, kid, self.purpose.encode("ascii"), self.queue.encode("utf-8")
        )

    def bind(self, queue: str, purpose: SerializerPurpose, /) -> SignedSerializer:
        """A copy whose signatures cover ``queue`` and ``purpose`` (the wrapped
        serializer is bound too, if it can be)."""
        bound = copy.copy(self)
        bound.queue = queue
        bound.purpose = purpose
        if isinstance(self.inner, BindableSerializer):
            bound.inner = self.inner.bind(queue, purpose)
        bound._prepare()
        return bound

    def serialize(self, data: object, /) -> bytes:
        """What the wrapped serializer writes for ``data``, signed."""
        body = self.inner.serialize(data)
        mac = self._macs[self._key_id].copy()
        mac.update(body)
        return b"".join((_MAGIC, bytes((len(self._key_id),)), self._key_id, mac.digest(), body))

    def verify(self, data: bytes, /) -> bytes:
        """The body of signed ``data``, once its signature is checked (in constant time).

        Raises:
            SignatureError: ``data`` is not signed, is truncated, names an unknown key
                id, or its signature does not match (altered bytes, another secret,
                another queue or purpose).
        """
        if data[: len(_MAGIC)] != _MAGIC or len(data) < len(_MAGIC) + 1:
            raise SignatureError("not signed by a huey SignedSerializer (no signature header)")
        start = len(_MAGIC) + 1
        kid_end = start + data[len(_MAGIC)]
        body_start = kid_end + _MAC_SIZE
        if data[len(_MAGIC)] == 0 or len(data) < body_start:
            raise SignatureError(f"truncated signed data ({len(data)} bytes)")
        kid = data[start:kid_end]
        mac = self._macs.get(kid)
        if mac is None:
            raise SignatureError(f"signed with an unknown key id {bounded_repr(kid)}")
        body = data[body_start:]
        mac = mac.copy()
        mac.update(body)
        if not hmac.compare_digest(mac.digest(), data[kid_end:body_start]):
            raise SignatureError(
                f"bad signature ({len(data)} bytes): altered, signed with another secret, "
                f"or for another queue or purpose than {self.purpose} of {self.queue!r}"
            )
        return body

    def deserialize(self, data: bytes, /) -> object:
        """Verify ``data``, then let the wrapped serializer decompress and decode it.

        Raises:
            SignatureError: the signature check failed; nothing was decoded.
            MessageDecodeError: the wrapped serializer cannot decode the body.
        """
        return self.inner.deserialize(self.verify(data))
