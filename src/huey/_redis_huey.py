"""The Redis flavours of :class:`~huey.Huey`: ``RedisHuey`` and its three variants.

Importing this module imports ``redis`` (install ``huey[redis]``). ``huey.RedisHuey`` and
friends are loaded lazily from here, so ``import huey`` works without redis-py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Literal, overload

import redis
from redis.retry import Retry
from typing_extensions import Unpack, override

from ._api import RM, Huey, HueyOptions, _HueyState  # pyright: ignore[reportPrivateUsage]  # the shared constructor body of every Huey class
from ._task import TaskWrapper
from .exceptions import ConfigurationError
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
)


class RedisHueyOptions(HueyOptions, total=False):
    """:class:`~huey.HueyOptions` plus the less common Redis connection options.

    Each is passed to ``redis.Redis`` (see redis-py's documentation).
    """

    username: str
    notify_result_ttl: float
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


_HUEY_OPTIONS = HueyOptions.__optional_keys__ | HueyOptions.__required_keys__


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(options for Huey, options for the storage)."""
    huey = {key: value for key, value in options.items() if key in _HUEY_OPTIONS}
    storage = {key: value for key, value in options.items() if key not in _HUEY_OPTIONS}
    return huey, storage


class _NoPriorities(Huey[RM]):
    """Refuses task priorities at decoration time, not at the first enqueue."""

    @override
    def register_task(
        self,
        fn: Callable[..., Any],
        settings: dict[str, Any],
        validate: Callable[[datetime], bool] | None,
    ) -> TaskWrapper[Any, Any, Any]:
        """Register ``fn``; a non-zero ``priority`` is refused (this queue has none).

        Raises:
            ConfigurationError: ``priority`` was given.
        """
        priority = settings.get("priority")
        if priority:
            raise ConfigurationError(
                f"{type(self).__name__} does not support task priorities (got priority="
                f"{priority!r}); use PriorityRedisHuey (or PriorityRedisExpireHuey), "
                "which needs Redis 5+"
            )
        return super().register_task(fn, settings, validate)


class RedisHuey(_NoPriorities[RM]):
    """:class:`~huey.Huey` on Redis: a LIST queue, results in a HASH. No priorities.

    Task priorities are refused with :class:`~huey.exceptions.ConfigurationError`; use
    :class:`PriorityRedisHuey` for them.

    Args:
        name: the queue's name; Redis keys start with ``huey:{<name>}:``.
        results: store task return values (``False``: task calls return ``None``).
        blocking: the consumer waits on Redis for new tasks instead of polling.
        read_timeout: seconds one blocking read waits.
        connection_pool: a ready ``redis.ConnectionPool`` (then give no other
            connection option).
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` for TLS, or
            ``unix:///path?db=0``.
        client_name: the name the connections report in ``CLIENT LIST``.
        host: the server's host name (default ``localhost``).
        port: the server's port (default 6379).
        password: the password (an ACL user's with ``username=``).
        db: the database number (default 0).
        notify_result: storing a result wakes a blocked ``Result.get(blocking=True)``
            at once instead of it polling.
        options: :class:`~huey.HueyOptions` (``utc``, ``immediate``, ``delivery``,
            ``lease_timeout``...) and connection options (``username``, ``ssl``,
            ``ssl_ca_certs``, ``socket_timeout``...; see :class:`RedisHueyOptions`).

    Raises:
        ConfigurationError: conflicting or invalid options.
    """

    storage_class: ClassVar[Callable[..., Storage]] = RedisStorage

    @overload
    def __init__(
        self: RedisHuey[Literal[True]],
        name: str = "huey",
        *,
        results: Literal[True] = True,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: RedisHuey[Literal[False]],
        name: str = "huey",
        *,
        results: Literal[False],
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: RedisHuey[bool],
        name: str = "huey",
        *,
        results: bool,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    def __init__(
        self,
        name: str = "huey",
        *,
        results: bool = True,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None:
        huey_options, storage_options = _split(dict(options))
        _HueyState.__init__(
            self,
            name,
            results,
            storage_class=type(self).storage_class,
            blocking=blocking,
            read_timeout=read_timeout,
            connection_pool=connection_pool,
            url=url,
            client_name=client_name,
            host=host,
            port=port,
            password=password,
            db=db,
            notify_result=notify_result,
            **huey_options,
            **storage_options,
        )


class PriorityRedisHuey(Huey[RM]):
    """:class:`~huey.Huey` on Redis with task priorities (a sorted-set queue, Redis 5+).

    Args:
        name: the queue's name; Redis keys start with ``huey:{<name>}:``.
        results: store task return values (``False``: task calls return ``None``).
        blocking: the consumer waits on Redis for new tasks instead of polling.
        read_timeout: seconds one blocking read waits.
        connection_pool: a ready ``redis.ConnectionPool`` (then give no other
            connection option).
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` for TLS, or
            ``unix:///path?db=0``.
        client_name: the name the connections report in ``CLIENT LIST``.
        host: the server's host name (default ``localhost``).
        port: the server's port (default 6379).
        password: the password (an ACL user's with ``username=``).
        db: the database number (default 0).
        notify_result: storing a result wakes a blocked ``Result.get(blocking=True)``
            at once instead of it polling.
        options: :class:`~huey.HueyOptions` (``utc``, ``immediate``, ``delivery``,
            ``lease_timeout``...) and connection options (``username``, ``ssl``,
            ``ssl_ca_certs``, ``socket_timeout``...; see :class:`RedisHueyOptions`).

    Raises:
        ConfigurationError: conflicting or invalid options.
    """

    storage_class: ClassVar[Callable[..., Storage]] = PriorityRedisStorage

    @overload
    def __init__(
        self: PriorityRedisHuey[Literal[True]],
        name: str = "huey",
        *,
        results: Literal[True] = True,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: PriorityRedisHuey[Literal[False]],
        name: str = "huey",
        *,
        results: Literal[False],
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: PriorityRedisHuey[bool],
        name: str = "huey",
        *,
        results: bool,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    def __init__(
        self,
        name: str = "huey",
        *,
        results: bool = True,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None:
        huey_options, storage_options = _split(dict(options))
        _HueyState.__init__(
            self,
            name,
            results,
            storage_class=type(self).storage_class,
            blocking=blocking,
            read_timeout=read_timeout,
            connection_pool=connection_pool,
            url=url,
            client_name=client_name,
            host=host,
            port=port,
            password=password,
            db=db,
            notify_result=notify_result,
            **huey_options,
            **storage_options,
        )


class RedisExpireHuey(_NoPriorities[RM]):
    """:class:`RedisHuey` whose results are plain Redis keys that expire.

    A result is kept ``expire_time`` seconds and reading it does not remove it, so the
    result store cannot grow without bound even when nobody reads the results.

    Args:
        name: the queue's name; Redis keys start with ``huey:{<name>}:``.
        results: store task return values (``False``: task calls return ``None``).
        expire_time: seconds a task result is kept (default one day).
        blocking: the consumer waits on Redis for new tasks instead of polling.
        read_timeout: seconds one blocking read waits.
        connection_pool: a ready ``redis.ConnectionPool`` (then give no other
            connection option).
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` for TLS, or
            ``unix:///path?db=0``.
        client_name: the name the connections report in ``CLIENT LIST``.
        host: the server's host name (default ``localhost``).
        port: the server's port (default 6379).
        password: the password (an ACL user's with ``username=``).
        db: the database number (default 0).
        notify_result: storing a result wakes a blocked ``Result.get(blocking=True)``
            at once instead of it polling.
        options: :class:`~huey.HueyOptions` (``utc``, ``immediate``, ``delivery``,
            ``lease_timeout``...) and connection options (``username``, ``ssl``,
            ``ssl_ca_certs``, ``socket_timeout``...; see :class:`RedisHueyOptions`).

    Raises:
        ConfigurationError: conflicting or invalid options.
    """

    storage_class: ClassVar[Callable[..., Storage]] = RedisExpireStorage

    @overload
    def __init__(
        self: RedisExpireHuey[Literal[True]],
        name: str = "huey",
        *,
        results: Literal[True] = True,
        expire_time: int = 86400,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: RedisExpireHuey[Literal[False]],
        name: str = "huey",
        *,
        results: Literal[False],
        expire_time: int = 86400,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: RedisExpireHuey[bool],
        name: str = "huey",
        *,
        results: bool,
        expire_time: int = 86400,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    def __init__(
        self,
        name: str = "huey",
        *,
        results: bool = True,
        expire_time: int = 86400,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None:
        huey_options, storage_options = _split(dict(options))
        _HueyState.__init__(
            self,
            name,
            results,
            storage_class=type(self).storage_class,
            expire_time=expire_time,
            blocking=blocking,
            read_timeout=read_timeout,
            connection_pool=connection_pool,
            url=url,
            client_name=client_name,
            host=host,
            port=port,
            password=password,
            db=db,
            notify_result=notify_result,
            **huey_options,
            **storage_options,
        )


class PriorityRedisExpireHuey(Huey[RM]):
    """:class:`RedisExpireHuey` with task priorities (a sorted-set queue, Redis 5+).

    Args:
        name: the queue's name; Redis keys start with ``huey:{<name>}:``.
        results: store task return values (``False``: task calls return ``None``).
        expire_time: seconds a task result is kept (default one day).
        blocking: the consumer waits on Redis for new tasks instead of polling.
        read_timeout: seconds one blocking read waits.
        connection_pool: a ready ``redis.ConnectionPool`` (then give no other
            connection option).
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` for TLS, or
            ``unix:///path?db=0``.
        client_name: the name the connections report in ``CLIENT LIST``.
        host: the server's host name (default ``localhost``).
        port: the server's port (default 6379).
        password: the password (an ACL user's with ``username=``).
        db: the database number (default 0).
        notify_result: storing a result wakes a blocked ``Result.get(blocking=True)``
            at once instead of it polling.
        options: :class:`~huey.HueyOptions` (``utc``, ``immediate``, ``delivery``,
            ``lease_timeout``...) and connection options (``username``, ``ssl``,
            ``ssl_ca_certs``, ``socket_timeout``...; see :class:`RedisHueyOptions`).

    Raises:
        ConfigurationError: conflicting or invalid options.
    """

    storage_class: ClassVar[Callable[..., Storage]] = PriorityRedisExpireStorage

    @overload
    def __init__(
        self: PriorityRedisExpireHuey[Literal[True]],
        name: str = "huey",
        *,
        results: Literal[True] = True,
        expire_time: int = 86400,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: PriorityRedisExpireHuey[Literal[False]],
        name: str = "huey",
        *,
        results: Literal[False],
        expire_time: int = 86400,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    @overload
    def __init__(
        self: PriorityRedisExpireHuey[bool],
        name: str = "huey",
        *,
        results: bool,
        expire_time: int = 86400,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None: ...
    def __init__(
        self,
        name: str = "huey",
        *,
        results: bool = True,
        expire_time: int = 86400,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        notify_result: bool = False,
        **options: Unpack[RedisHueyOptions],
    ) -> None:
        huey_options, storage_options = _split(dict(options))
        _HueyState.__init__(
            self,
            name,
            results,
            storage_class=type(self).storage_class,
            expire_time=expire_time,
            blocking=blocking,
            read_timeout=read_timeout,
            connection_pool=connection_pool,
            url=url,
            client_name=client_name,
            host=host,
            port=port,
            password=password,
            db=db,
            notify_result=notify_result,
            **huey_options,
            **storage_options,
        )
