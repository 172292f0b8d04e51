"""The Redis storages on a real Redis Cluster of three masters (private, see conftest)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from typing_extensions import override

from huey import RedisHuey
from huey.exceptions import ConfigurationError
from huey.storage.redis import (
    PriorityRedisExpireStorage,
    RedisConnectionFailed,
    RedisStorage,
    _Held,  # pyright: ignore[reportPrivateUsage]  # to plant a connection to the wrong node
)
from huey.testing import SETTLE_CHECKS, STORAGE_CHECKS, check_storage

from .conftest import ALL_STORAGES, RedisClusterServers, RedisServer, StorageFactory

pytestmark = pytest.mark.redis


@pytest.fixture
def make_cluster_storage(
    redis_cluster: RedisClusterServers, request: pytest.FixtureRequest
) -> Iterator[StorageFactory]:
    """A :class:`StorageFactory` on the cluster (give ``cluster=True`` to each call)."""
    factory = StorageFactory(redis_cluster.url, request.node.name)
    yield factory
    factory.cleanup()


def keys_on(node: RedisServer, name: str) -> set[str]:
    """The keys of queue ``name`` that ``node`` holds (asked of that node alone)."""
    storage = RedisStorage(name, port=node.port)
    try:
        return {key.decode() for key in storage._scan(storage._pattern(""))}  # pyright: ignore[reportPrivateUsage]  # the storage's own SCAN, on this one node
    finally:
        storage.close()


def names_on_two_shards(cluster: RedisClusterServers, stem: str) -> tuple[str, str]:
    """Two queue names whose keys live on different nodes."""
    first = f"{stem}-0"
    owner = cluster.owner(f"huey:{{{first}}}:queue")
    for index in itertools.count(1):
        other = f"{stem}-{index}"
        if cluster.owner(f"huey:{{{other}}}:queue") is not owner:
            return first, other
    raise AssertionError("unreachable")


@pytest.mark.parametrize("cls", ALL_STORAGES)
def test_check_storage_passes_on_cluster(
    cls: type[RedisStorage], make_cluster_storage: StorageFactory
) -> None:
    """Every Redis storage passes the whole conformance suite on a cluster."""
    ran = check_storage(lambda: make_cluster_storage(cls, blocking=False, cluster=True))
    assert tuple(ran) == STORAGE_CHECKS + SETTLE_CHECKS


def test_check_storage_passes_on_cluster_when_blocking(
    make_cluster_storage: StorageFactory,
) -> None:
    """The blocking reads (BZPOPMIN, the wake list) pass the suite on a cluster too."""
    ran = check_storage(
        lambda: make_cluster_storage(PriorityRedisExpireStorage, read_timeout=0.02, cluster=True)
    )
    assert tuple(ran) == STORAGE_CHECKS + SETTLE_CHECKS


def test_queues_spread_over_shards(
    redis_cluster: RedisClusterServers, make_cluster_storage: StorageFactory
) -> None:
    """Each queue's keys all live on the node owning its hash tag; two queues whose tags
    hash to different slots live on different nodes."""
    first, second = names_on_two_shards(redis_cluster, make_cluster_storage.name())
    storages = [make_cluster_storage(RedisStorage, name, cluster=True) for name in (first, second)]
    for storage in storages:
        storage.enqueue(storage.name.encode())
        storage.put_data("k", b"v")
        storage.add_to_schedule(b"later", time.time() + 3600)
        lease = storage.reserve(time.time(), 60)
        assert lease is not None
        assert lease.data == storage.name.encode()
        storage.enqueue(b"waiting")
    for storage in storages:
        owner = redis_cluster.owner(f"huey:{{{storage.name}}}:queue")
        held = keys_on(owner, storage.name)
        assert {storage._queue, storage._inflight, storage._results} <= held  # pyright: ignore[reportPrivateUsage]  # the key names under test
        for node in redis_cluster.nodes:
            if node is not owner:
                assert keys_on(node, storage.name) == set()
    owners = {redis_cluster.owner(f"huey:{{{name}}}:queue").port for name in (first, second)}
    assert len(owners) == 2


def test_cluster_options_are_checked() -> None:
    """Options a cluster cannot honour fail at construction, naming the problem."""
    with pytest.raises(ConfigurationError, match="database 0"):
        RedisStorage("q", cluster=True, db=1)
    with pytest.raises(ConfigurationError, match="database 0"):
        RedisStorage("q", cluster=True, url="redis://127.0.0.1:7000/2")
    with pytest.raises(ConfigurationError, match="connection_pool"):
        RedisStorage("q", cluster=True, connection_pool=redis.ConnectionPool())
    with pytest.raises(ConfigurationError, match="redis://"):
        RedisStorage("q", cluster=True, url="unix:///tmp/redis.sock")
    with pytest.raises(ConfigurationError, match="not both"):
        RedisStorage("q", cluster=True, url="redis://127.0.0.1:7000", port=7001)


def test_constructing_touches_no_network() -> None:
    """Like the single-node storage, a cluster storage connects on first use: making one
    (at import time of an app, say) works while the cluster is down."""
    storage = RedisStorage("q", cluster=True, host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    assert "(cluster)" in repr(storage)
    with pytest.raises(RedisConnectionFailed):
        storage.check_connection()
    storage.close()


class _Recording(RedisStorage):
    """Records the keys each script call declares."""

    declared: list[tuple[str, ...]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.declared = []

    @override
    def _run_held(self, script: Any, keys: Sequence[str], size: int, *args: Any) -> object:
        self.declared.append(tuple(keys))
        return super()._run_held(script, keys, size, *args)


def test_settle_and_reserve_declares_every_key(make_cluster_storage: StorageFactory) -> None:
    """The worker's fused script names every key it touches in KEYS (Cluster needs it):
    the queue's lease, result, dead-letter and recent-call keys and, with
    ``notify_result``, the result's wake-up list."""
    storage = make_cluster_storage(_Recording, cluster=True, blocking=False, notify_result=True)
    storage.enqueue(b"one")
    storage.enqueue(b"two")
    lease = storage.reserve(time.time(), 60)
    assert lease is not None
    storage.declared.clear()
    settled, following = storage.settle_and_reserve(
        lease.token, ("result-key", b"value"), ("gone",), time.time(), 60
    )
    assert settled
    assert following is not None
    assert following.data == b"two"
    (keys,) = storage.declared
    prefix = f"huey:{{{storage.name}}}:"
    names = [key.removeprefix(prefix) for key in keys]
    assert names[:6] == ["queue", "inflight", "leases", "results", "results:ttl", "dead"]
    assert names[6].startswith("recent:")
    assert names[7:] == ["done:result-key"]
    assert storage.wait_result("result-key", 0.01)


APP = """
import os

from huey import RedisHuey

huey = RedisHuey(
    os.environ["HUEY_TEST_NAME"],
    url=os.environ["HUEY_TEST_URL"],
    cluster=True,
    read_timeout=0.2,
)


@huey.task(name="app.double")
def double(n: int) -> int:
    return n * 2
"""


def start_consumer(
    tmp_path: Path, name: str, url: str, workers: int = 2
) -> subprocess.Popen[bytes]:
    """``huey_consumer`` on queue ``name`` of the cluster at ``url``."""
    (tmp_path / "app.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "HUEY_TEST_NAME": name}
    env["HUEY_TEST_URL"] = url
    command = [sys.executable, "-m", "huey", "app.huey", "-w", str(workers), "-q"]
    return subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL)


def producer(name: str, url: str, factory: StorageFactory) -> tuple[RedisHuey, Any]:
    """A producer of ``app.double`` on queue ``name`` (it never runs the task); its keys
    are deleted with the ``factory``'s."""
    huey = RedisHuey(name, url=url, cluster=True, retry=Retry(NoBackoff(), 1))
    storage = huey.get_storage()
    assert isinstance(storage, RedisStorage)
    factory.made.append(storage)

    @huey.task(name="app.double")
    def double(n: int) -> int:
        raise AssertionError(f"runs in the consumer only, got {n}")

    return huey, double


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait(10)


@pytest.mark.integration
def test_consumer_drains_a_cluster_queue(
    redis_cluster: RedisClusterServers, make_cluster_storage: StorageFactory, tmp_path: Path
) -> None:
    """A real huey_consumer runs every task of a queue on the cluster."""
    name = make_cluster_storage.name()
    _, double = producer(name, redis_cluster.url, make_cluster_storage)
    results = [double(n) for n in range(50)]
    consumer = start_consumer(tmp_path, name, redis_cluster.url)
    try:
        assert [result.get(blocking=True, timeout=30) for result in results] == [
            n * 2 for n in range(50)
        ]
    finally:
        stop(consumer)


def wait_up(call: Any, timeout: float = 30) -> Any:
    """``call()`` once it stops raising RedisConnectionFailed (the node is back)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except RedisConnectionFailed:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.integration
def test_node_restart(
    redis_cluster: RedisClusterServers, make_cluster_storage: StorageFactory, tmp_path: Path
) -> None:
    """A master killed with SIGKILL and restarted from its AOF: without replicas the
    queue on it is unavailable meanwhile (a typed error) while the queue on another
    shard keeps working; afterwards it comes back with its tasks, and the consumer
    that ran through the outage drains it without being restarted."""
    down_name, up_name = names_on_two_shards(redis_cluster, make_cluster_storage.name())
    down = make_cluster_storage(RedisStorage, down_name, cluster=True, retry=Retry(NoBackoff(), 1))
    up = make_cluster_storage(RedisStorage, up_name, cluster=True, retry=Retry(NoBackoff(), 1))
    _, double = producer(down_name, redis_cluster.url, make_cluster_storage)
    before = [double(n) for n in range(10)]
    up.enqueue(b"before")
    consumer = start_consumer(tmp_path, down_name, redis_cluster.url)
    try:
        assert [result.get(blocking=True, timeout=30) for result in before] == [
            n * 2 for n in range(10)
        ]
        node = redis_cluster.owner(down._queue)  # pyright: ignore[reportPrivateUsage]  # the key whose node is killed
        queued = [double(n) for n in range(10, 20)]  # the consumer may not see all of them
        node.kill()
        with pytest.raises(RedisConnectionFailed, match=r"cannot reach Redis|cannot serve queue"):
            down.queue_size()
        up.enqueue(b"during")
        assert list(up.enqueued_items()) == [b"before", b"during"]
        node.start()  # same port and directory: its AOF and nodes.conf
        redis_cluster.wait_ok(node)
        after = wait_up(lambda: [double(n) for n in range(20, 30)])
        everything = queued + after
        assert [result.get(blocking=True, timeout=60) for result in everything] == [
            n * 2 for n in range(10, 30)
        ]
        assert consumer.poll() is None, "the consumer exited during the outage"
    finally:
        stop(consumer)


def test_hot_path_follows_a_moved_slot(
    redis_cluster: RedisClusterServers, make_cluster_storage: StorageFactory
) -> None:
    """The worker's own connection is to the master owning the queue's slot; when that
    master answers MOVED (the slot went elsewhere) the call goes through RedisCluster,
    which follows the slot, and the next call takes a connection to the new owner."""
    storage = make_cluster_storage(RedisStorage, cluster=True, blocking=False)
    storage.enqueue(b"one")
    storage.enqueue(b"two")
    owner = redis_cluster.owner(storage._queue)  # pyright: ignore[reportPrivateUsage]  # the key whose slot is probed
    stranger = next(node for node in redis_cluster.nodes if node is not owner)
    pool = redis.ConnectionPool(port=stranger.port)
    # As if the slot had moved away from the node this thread's connection reaches.
    wrong = pool.get_connection()  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves *args unannotated
    storage._local.held = _Held(os.getpid(), wrong)  # pyright: ignore[reportPrivateUsage]  # the held connection under test
    settled, lease = storage.settle_and_reserve("none", None, (), time.time(), 60)
    assert not settled
    assert lease is not None
    assert lease.data == b"one"
    held = storage._held_connection()  # pyright: ignore[reportPrivateUsage]  # the connection taken afresh
    assert held is not None
    assert getattr(held, "port", None) == owner.port
    settled, lease = storage.settle_and_reserve(lease.token, None, (), time.time(), 60)
    assert settled
    assert lease is not None
    assert lease.data == b"two"
    pool.disconnect()
