"""The Redis flavours of :class:`~huey.Huey`: ``RedisHuey`` and its three variants.

Importing this module imports ``redis`` (install ``huey[redis]``). ``huey.RedisHuey`` and
friends are loaded lazily from here, so ``import huey`` works without redis-py.

Each pair of classes shares one options ``TypedDict``; each class has three one-line
``__init__`` overloads (see :mod:`huey._hueys` for why). The classes without priorities
refuse a task priority when the task is decorated: their storage says it has none
(``priority = False``), and the registry checks that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal, overload

import redis
from redis.retry import Retry
from typing_extensions import Unpack

from ._api import RM, Huey
from ._engine import HueyOptions, option_names
from .protocols import Storage
from .storage.redis import (
    PriorityRedisExpireStorage,
    PriorityRedisStorage,
    RedisExpireStorage,
    RedisStorage,
)

__all__ = (
    "RedisHuey",
    "PriorityRedisHuey",
    "RedisExpireHuey",
    "PriorityRedisExpireHuey",
    "RedisHueyOptions",
    "RedisExpireHueyOptions",
)


class RedisHueyOptions(HueyOptions, total=False):
    """:class:`~huey.api.HueyOptions` plus the Redis storage's and connection options.

    Attributes:
        blocking: the consumer waits on Redis for new tasks instead of polling
            (default ``True``).
        read_timeout: seconds one blocking read waits (default 1).
        connection_pool: a ready ``redis.ConnectionPool`` (then give no other
            connection option).
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` for TLS,
            or ``unix:///path?db=0``.
        client_name: the name the connections report in ``CLIENT LIST``.
        host: the server's host name (default ``localhost``).
        port: the server's port (default 6379).
        password: the password (an ACL user's with ``username``).
        db: the database number (default 0).
        notify_result: storing a result wakes a blocked ``Result.get(blocking=True)``
            at once instead of it polling (default ``False``).
        notify_result_ttl: seconds a wake-up waits for its reader (default 60).
        username: an ACL user.
        cluster: connect to a Redis Cluster through ``url`` or ``host``/``port`` of any
            of its nodes (default ``False``); see :ref:`redis-cluster`.

    The others (``ssl``, ``ssl_*``, ``socket_*``, ``health_check_interval``,
    ``max_connections``, ``retry``, ``unix_socket_path``) are passed to
    ``redis.Redis``; see redis-py's documentation.
    """

    blocking: bool
    read_timeout: float
    connection_pool: redis.ConnectionPool | None
    url: str | None
    client_name: str | None
    host: str | None
    port: int | None
    password: str | None
    db: int | None
    notify_result: bool
    notify_result_ttl: float
    username: str
    cluster: bool
    ssl: bool
    ssl_ca_certs: str
    ssl_ca_data: str
    ssl_certfile: str
    ssl_keyfile: str
    ssl_password: str
    ssl_cert_reqs: str
    ssl_check_hostname: bool
    socket_timeout: float
    socket_connect_timeout: float
    socket_keepalive: bool
    health_check_interval: int
    max_connections: int
    retry: Retry
    unix_socket_path: str


class RedisExpireHueyOptions(RedisHueyOptions, total=False):
    """:class:`RedisHueyOptions` plus how long results are kept.

    Attributes:
        expire_time: seconds a task result is kept (default one day).
    """

    expire_time: float


_REDIS_STORAGE_OPTIONS = option_names(RedisHueyOptions) - option_names(HueyOptions)
_EXPIRE_STORAGE_OPTIONS = option_names(RedisExpireHueyOptions) - option_names(HueyOptions)


class RedisHuey(Huey[RM]):
    """:class:`~huey.Huey` on Redis: a LIST queue, results in a HASH. No priorities.

    Task priorities are refused with :class:`~huey.exceptions.ConfigurationError`; use
    :class:`PriorityRedisHuey` for them.

    Args:
        name: the queue's name; Redis keys start with ``huey:{<name>}:``.
        results: store task return values (``False``: task calls return ``None``).
        options: :class:`RedisHueyOptions`: the connection (``url``, or ``host``,
            ``port``, ``password``, ``db``...), ``blocking``, ``read_timeout``,
            ``notify_result`` and the :class:`~huey.api.HueyOptions`.

    Raises:
        ConfigurationError: conflicting or invalid options.
        TypeError: an unknown option.
    """

    storage_class: ClassVar[Callable[..., Storage]] = RedisStorage
    storage_options: ClassVar[frozenset[str] | None] = _REDIS_STORAGE_OPTIONS

    # fmt: off
    @overload
    def __init__(self: RedisHuey[Literal[True]], name: str = "huey", *, results: Literal[True] = True, **options: Unpack[RedisHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: RedisHuey[Literal[False]], name: str = "huey", *, results: Literal[False], **options: Unpack[RedisHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: RedisHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[RedisHueyOptions]) -> None: ...  # noqa: E501
    # fmt: on
    def __init__(
        self, name: str = "huey", *, results: bool = True, **options: Unpack[RedisHueyOptions]
    ) -> None:
        self._setup(name, results, options)


class PriorityRedisHuey(Huey[RM]):
    """:class:`~huey.Huey` on Redis with task priorities (a sorted-set queue, Redis 5+).

    Args:
        name: the queue's name; Redis keys start with ``huey:{<name>}:``.
        results: store task return values (``False``: task calls return ``None``).
        options: :class:`RedisHueyOptions` (see :class:`RedisHuey`).

    Raises:
        ConfigurationError: conflicting or invalid options.
        TypeError: an unknown option.
    """

    storage_class: ClassVar[Callable[..., Storage]] = PriorityRedisStorage
    storage_options: ClassVar[frozenset[str] | None] = _REDIS_STORAGE_OPTIONS

    # fmt: off
    @overload
    def __init__(self: PriorityRedisHuey[Literal[True]], name: str = "huey", *, results: Literal[True] = True, **options: Unpack[RedisHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: PriorityRedisHuey[Literal[False]], name: str = "huey", *, results: Literal[False], **options: Unpack[RedisHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: PriorityRedisHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[RedisHueyOptions]) -> None: ...  # noqa: E501
    # fmt: on
    def __init__(
        self, name: str = "huey", *, results: bool = True, **options: Unpack[RedisHueyOptions]
    ) -> None:
        self._setup(name, results, options)


class RedisExpireHuey(Huey[RM]):
    """:class:`RedisHuey` whose results are plain Redis keys that expire.

    A result is kept ``expire_time`` seconds and reading it does not remove it, so the
    result store cannot grow without bound even when nobody reads the results. No
    priorities (see :class:`PriorityRedisExpireHuey`).

    Args:
        name: the queue's name; Redis keys start with ``huey:{<name>}:``.
        results: store task return values (``False``: task calls return ``None``).
        options: :class:`RedisExpireHueyOptions`: ``expire_time`` and the options of
            :class:`RedisHuey`.

    Raises:
        ConfigurationError: conflicting or invalid options.
        TypeError: an unknown option.
    """

    storage_class: ClassVar[Callable[..., Storage]] = RedisExpireStorage
    storage_options: ClassVar[frozenset[str] | None] = _EXPIRE_STORAGE_OPTIONS

    # fmt: off
    @overload
    def __init__(self: RedisExpireHuey[Literal[True]], name: str = "huey", *, results: Literal[True] = True, **options: Unpack[RedisExpireHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: RedisExpireHuey[Literal[False]], name: str = "huey", *, results: Literal[False], **options: Unpack[RedisExpireHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: RedisExpireHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[RedisExpireHueyOptions]) -> None: ...  # noqa: E501
    # fmt: on
    def __init__(
        self,
        name: str = "huey",
        *,
        results: bool = True,
        **options: Unpack[RedisExpireHueyOptions],
    ) -> None:
        self._setup(name, results, options)


class PriorityRedisExpireHuey(Huey[RM]):
    """:class:`RedisExpireHuey` with task priorities (a sorted-set queue, Redis 5+).

    Args:
        name: the queue's name; Redis keys start with ``huey:{<name>}:``.
        results: store task return values (``False``: task calls return ``None``).
        options: :class:`RedisExpireHueyOptions` (see :class:`RedisExpireHuey`).

    Raises:
        ConfigurationError: conflicting or invalid options.
        TypeError: an unknown option.
    """

    storage_class: ClassVar[Callable[..., Storage]] = PriorityRedisExpireStorage
    storage_options: ClassVar[frozenset[str] | None] = _EXPIRE_STORAGE_OPTIONS

    # fmt: off
    @overload
    def __init__(self: PriorityRedisExpireHuey[Literal[True]], name: str = "huey", *, results: Literal[True] = True, **options: Unpack[RedisExpireHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: PriorityRedisExpireHuey[Literal[False]], name: str = "huey", *, results: Literal[False], **options: Unpack[RedisExpireHueyOptions]) -> None: ...  # noqa: E501
    @overload
    def __init__(self: PriorityRedisExpireHuey[bool], name: str = "huey", *, results: bool, **options: Unpack[RedisExpireHueyOptions]) -> None: ...  # noqa: E501
    # fmt: on
    def __init__(
        self,
        name: str = "huey",
        *,
        results: bool = True,
        **options: Unpack[RedisExpireHueyOptions],
    ) -> None:
        self._setup(name, results, options)
