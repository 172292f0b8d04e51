"""The hot paths pack their Redis commands themselves: byte for byte what redis-py sends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

import pytest
import redis

from huey.storage.redis import (
    _pack_command,  # pyright: ignore[reportPrivateUsage]  # the encoder under test
    _pack_evalsha,  # pyright: ignore[reportPrivateUsage]  # likewise
)

_Arg = str | bytes | int | float


def _redis_py(*args: _Arg) -> bytes:
    connection = cast("Callable[[], Any]", redis.Connection)()  # redis-py is untyped here
    pack = cast("Callable[..., Sequence[bytes]]", connection.pack_command)
    return b"".join(pack(*args))


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("token", b"\x00\xffbinary|data\r\n"),
        ("k\u00e9y", 0, -17, 2**70, 1.5, 1765000000.123456),
    ],
    ids=repr,
)
def test_pack_evalsha_matches_redis_py(args: tuple[_Arg, ...]) -> None:
    """Strings, bytes, ints and floats are encoded as redis-py encodes them, and the
    cached ``EVALSHA sha numkeys keys`` head joins them into the whole command."""
    keys = ("huey:{q}:queue", "huey:{q}:inflight")
    expected = _redis_py("EVALSHA", "a" * 40, len(keys), *keys, *args)
    for _ in range(2):  # the second call takes the head from the cache
        assert _pack_evalsha("a" * 40, keys, args) == expected
    assert _pack_evalsha("b" * 40, (), args) == _redis_py("EVALSHA", "b" * 40, 0, *args)


def test_pack_command_matches_redis_py() -> None:
    """A whole command (the blocking waits sent beside a script call) packs as redis-py's."""
    args = ("BRPOP", "huey:{q}:wake", "1.0")
    assert _pack_command(*args) == _redis_py(*args)
