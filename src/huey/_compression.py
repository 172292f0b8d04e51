"""gzip / zlib compression of stored values, inflated under a size limit.

Inflating is the costly step of reading a compressed value: a few MB of crafted
deflate data can expand a thousandfold. :func:`decompress` stops as soon as the output
would pass the limit, so a "zip bomb" is refused without allocating what it would
inflate to.
"""

from __future__ import annotations

import gzip
import zlib
from typing import Final

from .exceptions import MessageDecodeError, MessageLimitExceeded

__all__ = ("compress", "decompress", "is_compressed")

_GZIP_MAGIC: Final = b"\x1f\x8b"
_ZLIB_FIRST_BYTE: Final = b"\x78"  # deflate with a 32 KiB window, what zlib.compress writes
# zlib's window-bits value that accepts both a gzip and a zlib header (and only those).
_GZIP_OR_ZLIB: Final = 32 + zlib.MAX_WBITS


def compress(data: bytes, level: int, use_zlib: bool) -> bytes:
    """``data`` compressed with zlib or (by default) gzip, with no timestamp in the header."""
    if use_zlib:
        return zlib.compress(data, level)
    return gzip.compress(data, level, mtime=0)


def is_compressed(data: bytes) -> bool:
    """Whether ``data`` starts with a gzip or zlib header.

    Serializers decompress only such data, so values written before compression was
    turned on stay readable (neither pickle nor JSON can start with these bytes).
    """
    return data[:2] == _GZIP_MAGIC or data[:1] == _ZLIB_FIRST_BYTE


def decompress(data: bytes, limit: int | None) -> bytes:
    """Inflate one gzip member or zlib stream, refusing to produce more than ``limit`` bytes.

    Raises:
        MessageLimitExceeded: the data would inflate past ``limit``; at most
            ``limit + 1`` bytes were produced before stopping.
        MessageDecodeError: the data is not one complete gzip member or zlib stream.
    """
    inflater = zlib.decompressobj(_GZIP_OR_ZLIB)
    try:
        # One byte past the limit tells "exactly the limit" from "more than the limit".
        out = inflater.decompress(data, 0 if limit is None else limit + 1)
    except zlib.error as exc:
        raise MessageDecodeError(f"corrupt compressed data: {exc}") from None
    if limit is not None and len(out) > limit:
        raise MessageLimitExceeded(
            f"{len(data)} compressed bytes inflate past max_decompressed_size={limit}",
            option="max_decompressed_size",
            limit=limit,
        )
    if not inflater.eof:
        raise MessageDecodeError(f"truncated compressed data ({len(data)} bytes)")
    if inflater.unused_data:
        raise MessageDecodeError(
            f"{len(inflater.unused_data)} bytes follow the end of the compressed data"
        )
    return out
