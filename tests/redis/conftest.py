"""Fixtures for the Redis tests: a private ``redis-server``, never the shared one.

When the ``redis-server`` binary exists, the tests start their own server on a free port
in a temporary directory (AOF on, fsync always), so they may kill and restart it and
never touch a server someone else uses. Without the binary, ``REDIS_URL`` names a server
to use instead (the tests then only create and delete keys of their own queues, and
skip the tests that must restart the server). With neither, every Redis test is skipped
with a loud reason, except under ``CI=true`` where they fail instead.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from redis.crc import key_slot

from huey import Huey
from huey.storage.redis import (
    PriorityRedisExpireStorage,
    PriorityRedisStorage,
    RedisExpireStorage,
    RedisStorage,
)

__all__ = (
    "ALL_STORAGES",
    "RedisClusterServers",
    "RedisServer",
    "StorageFactory",
    "dispose",
    "free_port",
)

ALL_STORAGES = (RedisStorage, PriorityRedisStorage, RedisExpireStorage, PriorityRedisExpireStorage)
"""The four Redis storage classes, for tests parametrized over all of them."""

S = TypeVar("S", bound=RedisStorage)

_BINARY = shutil.which("redis-server")
_NO_SERVER = (
    "NO REDIS SERVER: the Redis tests did not run. Install redis-server "
    "(apt-get install redis-server) or set REDIS_URL to a server they may use."
)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ping(port: int, context: ssl.SSLContext | None = None) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as raw:
            if context is None:
                return _pong(raw)
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                return _pong(tls)
    except OSError:
        return False


def _pong(conn: socket.socket) -> bool:
    conn.sendall(b"PING\r\n")
    # A server with requirepass answers NOAUTH: it is up all the same.
    return conn.recv(64).startswith((b"+PONG", b"-NOAUTH"))


class RedisServer:
    """A private ``redis-server`` process the tests may kill and restart.

    Args:
        directory: where its data (the AOF) lives.
        extra: more command-line options (they override the defaults).
        tls: a certificate and its key: serve TLS only (``rediss://``), clients are not
            asked for certificates.
    """

    def __init__(self, directory: Path, *extra: str, tls: tuple[Path, Path] | None = None) -> None:
        assert _BINARY is not None
        self.directory = directory
        self.port = free_port()
        self.extra = extra
        self.tls = tls
        self.process: subprocess.Popen[bytes] | None = None
        self.restartable = True

    @property
    def url(self) -> str:
        """The server's URL (database 0)."""
        scheme = "redis" if self.tls is None else "rediss"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers PING (at most 10 s)."""
        assert _BINARY is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            _BINARY,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--logfile",
            str(self.directory / "redis.log"),
            *self.extra,
        ]
        context = None
        if self.tls is not None:
            cert, key = (str(path) for path in self.tls)
            args += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", cert]
            args += ["--tls-key-file", key, "--tls-ca-cert-file", cert]
            args += ["--tls-auth-clients", "no"]
            context = ssl.create_default_context(cafile=cert)
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        try:
            while not _ping(self.port, context):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"redis-server did not start on port {self.port}:\n{log}")
                time.sleep(0.02)
        except BaseException:
            self.kill()  # never leave a server behind
            raise

    def kill(self) -> None:
        """SIGKILL the server (as a crash would) and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Kill the server and start it again on the same port and data directory."""
        self.kill()
        self.start()


class _ExternalServer:
    """The server named by ``REDIS_URL`` (cannot be restarted)."""

    restartable = False

    def __init__(self, url: str) -> None:
        self.url = url


def _no_server() -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(_NO_SERVER + " (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(_NO_SERVER)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the Redis server the tests share: a private one when possible."""
    if _BINARY is not None:
        server = RedisServer(tmp_path_factory.mktemp("redis-shared"))
        server.start()
        try:
            yield server.url
        finally:
            server.kill()
        return
    url = os.environ.get("REDIS_URL")
    if not url:
        _no_server()
    yield _ExternalServer(url or "").url


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """Factory: ``private_redis(*extra_args, tls=None)`` starts a server for this test alone.

    Tests that kill, restart or reconfigure the server use it. Skipped (or failed under
    ``CI=true``) without the ``redis-server`` binary.
    """
    if _BINARY is None:
        if os.environ.get("REDIS_URL"):
            pytest.skip(
                "needs the redis-server binary: it kills, restarts or reconfigures a "
                "private server, which REDIS_URL's server must not be"
            )
        _no_server()
    servers: list[RedisServer] = []
    counter = itertools.count()

    def start(*extra: str, tls: tuple[Path, Path] | None = None) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{next(counter)}", *extra, tls=tls)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()


_names = itertools.count()


def dispose(huey: Huey[Any]) -> None:
    """Delete every key of ``huey``'s Redis queue and close its connections."""
    storage = huey.get_storage() if not huey.immediate else huey._storage  # pyright: ignore[reportPrivateUsage]  # the Redis storage behind immediate mode's memory one
    assert isinstance(storage, RedisStorage)
    storage.flush_all()
    storage.close()


class StorageFactory:
    """Makes storages on fresh queue names; deletes their keys and closes them after.

    Args:
        url: the server.
        test_name: used in the queue names, to find leftovers.
    """

    def __init__(self, url: str, test_name: str) -> None:
        self.url = url
        self.test_name = test_name
        self.made: list[RedisStorage] = []

    def name(self) -> str:
        """A queue name no other storage of this run uses."""
        return f"t{os.getpid()}-{next(_names)}-{self.test_name[:40]}"

    def __call__(self, cls: type[S], name: str | None = None, **kwargs: Any) -> S:
        """``cls(name, url=..., **kwargs)``, remembered for cleanup."""
        options: dict[str, Any] = {"url": self.url, **kwargs}
        storage = cls(name or self.name(), **options)
        self.made.append(storage)
        return storage

    def cleanup(self) -> None:
        """Delete the keys of every queue made here, then close the storages."""
        for storage in self.made:
            with contextlib.suppress(Exception):  # the test may have killed the server
                storage.flush_all()
            storage.close()


@pytest.fixture
def make_storage(redis_url: str, request: pytest.FixtureRequest) -> Iterator[StorageFactory]:
    """A :class:`StorageFactory` on the shared test server."""
    factory = StorageFactory(redis_url, request.node.name)
    yield factory
    factory.cleanup()


_CLI = shutil.which("redis-cli")


def _cluster_port() -> int:
    """A free port for a cluster node: its bus port (10000 higher) must be free too."""
    while True:
        port = free_port()
        if port > 55535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


class RedisClusterServers:
    """A private Redis Cluster of three masters (no replicas) the tests may kill and restart.

    Each node is a :class:`RedisServer` with cluster mode on, in a directory of its own
    (its AOF and its ``nodes.conf``, so a restarted node rejoins with its slots).
    ``cluster-require-full-coverage no`` lets the other shards serve while one is down.
    """

    def __init__(self, directory: Path) -> None:
        self.nodes = [
            RedisServer(
                directory / f"node-{index}",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
                "--cluster-require-full-coverage",
                "no",
            )
            for index in range(3)
        ]
        for node in self.nodes:
            node.port = _cluster_port()

    @property
    def url(self) -> str:
        """The URL of the first node (any node lets a cluster client find the others)."""
        return self.nodes[0].url

    def start(self) -> None:
        """Start the nodes, join them with ``redis-cli --cluster create``, wait until ok."""
        assert _CLI is not None
        try:
            for node in self.nodes:
                node.start()
            addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
            create = [_CLI, "--cluster", "create", *addresses, "--cluster-replicas", "0"]
            subprocess.run(
                [*create, "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            for node in self.nodes:
                self.wait_ok(node)
        except BaseException:
            self.stop()
            raise

    def info(self, node: RedisServer) -> str:
        """``CLUSTER INFO`` as ``node`` sees it ('' when it does not answer)."""
        assert _CLI is not None
        done = subprocess.run(
            [_CLI, "-p", str(node.port), "cluster", "info"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return done.stdout

    def wait_ok(self, node: RedisServer, timeout: float = 30) -> None:
        """Wait until ``node`` reports ``cluster_state:ok``."""
        deadline = time.monotonic() + timeout
        while "cluster_state:ok" not in self.info(node):
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster not ok on port {node.port}:\n{self.info(node)}")
            time.sleep(0.05)

    def owner(self, key: str) -> RedisServer:
        """The node serving ``key``'s slot."""
        assert _CLI is not None
        slot = key_slot(key.encode())
        nodes = subprocess.run(
            [_CLI, "-p", str(self.nodes[0].port), "cluster", "nodes"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        for line in nodes.splitlines():
            fields = line.split()
            port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            for served in fields[8:]:
                low, _, high = served.partition("-")
                if int(low) <= slot <= int(high or low):
                    return next(node for node in self.nodes if node.port == port)
        raise RuntimeError(f"no node serves slot {slot}")

    def stop(self) -> None:
        """Kill every node."""
        for node in self.nodes:
            node.kill()


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """A private three-master Redis Cluster for the tests of one module.

    Skipped loudly without ``redis-server`` or ``redis-cli`` (failed under ``CI=true``).
    """
    if _BINARY is None or _CLI is None:
        reason = (
            "NO REDIS CLUSTER: the Redis Cluster tests did not run. They need the "
            "redis-server and redis-cli binaries (apt-get install redis-server)."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: failing instead of skipping)", pytrace=False)
        pytest.skip(reason)
    cluster = RedisClusterServers(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
