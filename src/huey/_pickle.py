"""The pickle serializer, huey's default (see :mod:`huey.serializer`)."""

from __future__ import annotations

import pickle

from ._compression import compress, decompress, is_compressed
from ._limits import DEFAULT_MAX_DECOMPRESSED_SIZE, check_limit
from .exceptions import MessageDecodeError

__all__ = ("Serializer",)


class Serializer:
    """Pickle serializer with optional compression (the default).

    Reading runs code chosen by whoever wrote the bytes: use it only when nobody else
    can write to the storage (see :doc:`/security`).

    Args:
        compression: compress what is written.
        compression_level: 0 (fastest) to 9 (smallest).
        use_zlib: compress with zlib instead of gzip.
        pickle_protocol: the pickle protocol to write.
        max_decompressed_size: bytes a compressed value may inflate to; larger ones are
            refused (:class:`~huey.exceptions.MessageLimitExceeded`) without inflating
            them. ``None``: no limit.
    """

    def __init__(
        self,
        compression: bool = False,
        compression_level: int = 6,
        use_zlib: bool = False,
        pickle_protocol: int = pickle.HIGHEST_PROTOCOL,
        *,
        max_decompressed_size: int | None = DEFAULT_MAX_DECOMPRESSED_SIZE,
    ) -> None:
        if not 0 <= compression_level <= 9:
            raise ValueError(f"compression_level must be 0..9, got {compression_level!r}")
        self.compression = compression
        self.compression_level = compression_level
        self.use_zlib = use_zlib
        self.pickle_protocol = pickle_protocol
        self.max_decompressed_size: int | None = check_limit(
            max_decompressed_size, "max_decompressed_size"
        )

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
        return compress(raw, self.compression_level, self.use_zlib)

    def deserialize(self, data: bytes) -> object:
        """Decompress if compressed, then decode.

        Raises:
            MessageLimitExceeded: the data would inflate past ``max_decompressed_size``.
            MessageDecodeError: the bytes cannot be decoded.
        """
        if self.compression and is_compressed(data):
            data = decompress(data, self.max_decompressed_size)
        try:
            return self._deserialize(data)
        except MessageDecodeError:
            raise
        except Exception as exc:
            raise MessageDecodeError(f"cannot decode {len(data)} bytes: {exc!r:.200}") from exc
