"""Serializers: how messages and results become bytes.

:class:`Serializer` keeps the original huey's behaviour and extension points: pickle,
optional gzip or zlib compression, and ``_serialize`` / ``_deserialize`` to override for
another format. Anything with ``serialize``/``deserialize`` methods satisfies the
:class:`huey.protocols.Serializer` protocol and can be passed as ``Huey(serializer=...)``.

.. warning::
    Unpickling runs code chosen by whoever wrote the bytes. Anyone able to write to your
    storage can run code in your consumers. Protect the storage accordingly.
"""

from __future__ import annotations

import gzip
import pickle
import zlib

from .exceptions import MessageDecodeError

__all__ = ("Serializer",)

_GZIP_MAGIC = b"\x1f\x8b"
_ZLIB_FIRST_BYTE = b"\x78"  # deflate with a 32 KiB window, what zlib.compress writes


class Serializer:
    """Pickle serializer with optional compression.

    Args:
        compression: compress what is written.
        compression_level: 0 (fastest) to 9 (smallest).
        use_zlib: compress with zlib instead of gzip.
        pickle_protocol: the pickle protocol to write.
    """

    def __init__(
        self,
        compression: bool = False,
        compression_level: int = 6,
        use_zlib: bool = False,
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
    ) -> None:
        if not 0 <= compression_level <= 9:
            raise ValueError(f"compression_level must be 0..9, got {compression_level!r}")
        self.compression = compression
        self.compression_level = compression_level
        self.use_zlib = use_zlib
        self.pickle_protocol = pickle_protocol

    def _serialize(self, data: object) -> bytes:
        """Encode ``data`` (override for another format)."""
        return pickle.dumps(data, self.pickle_protocol)

    def _deserialize(self, data: bytes) -> object:
        """Decode what ``_serialize`` produced (override for another format)."""
        return pickle.loads(data)

    def serialize(self, data: object) -> bytes:
        """Encode and, if configured, compress ``data``."""
        raw = self._serialize(data)
        if not self.compression:
            return raw
        if self.use_zlib:
            return zlib.compress(raw, self.compression_level)
        return gzip.compress(raw, self.compression_level, mtime=0)

    def deserialize(self, data: bytes) -> object:
        """Decompress if compressed, then decode.

        Raises:
            MessageDecodeError: the bytes cannot be decoded.
        """
        try:
            # Data written before compression was turned on stays readable: only
            # decompress what carries a gzip or zlib header.
            if self.compression and data[:2] == _GZIP_MAGIC:
                data = gzip.decompress(data)
            elif self.compression and data[:1] == _ZLIB_FIRST_BYTE:
                data = zlib.decompress(data)
            return self._deserialize(data)
        except MessageDecodeError:
            raise
        except Exception as exc:
            raise MessageDecodeError(f"cannot decode {len(data)} bytes: {exc!r}") from exc
