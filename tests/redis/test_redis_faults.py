"""Faults on a real Redis: restarts, refused connections and credentials, killed workers."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoPermissionError, ResponseError
from redis.retry import Retry

from huey import RedisHuey
from huey._delivery import process_next
from huey.exceptions import MessageTooLarge, StorageError, StorageFull
from huey.storage.redis import PriorityRedisStorage, RedisConnectionFailed, RedisStorage

from .conftest import ALL_STORAGES, RedisServer, StorageFactory, dispose, free_port

pytestmark = pytest.mark.redis

MakeServer = Callable[..., RedisServer]


def test_restart_keeps_queue_leases_schedule_and_results(
    private_redis: MakeServer, make_storage: StorageFactory
) -> None:
    """A SIGKILLed and restarted Redis (AOF, fsync always) loses nothing acknowledged."""
    server = private_redis()
    storage = make_storage(PriorityRedisStorage, url=server.url, blocking=False)
    for index in range(50):
        storage.enqueue(f"job-{index}".encode(), index % 3)
    storage.add_to_schedule(b"later", 50.0)
    storage.put_data("key", b"value")
    lease = storage.reserve(1000.0, 10.0)
    assert lease is not None
    server.restart()
    assert storage.queue_size() == 49  # the same storage object reconnects by itself
    assert storage.leased_count() == 1
    assert storage.requeue_expired(1011.0, 5) == 1
    assert list(storage.read_schedule(60.0)) == [b"later"]
    assert storage.peek_data("key") == b"value"
    drained = [storage.dequeue() for _ in range(50)]
    assert sorted(item for item in drained if item) == sorted(
        f"job-{index}".encode() for index in range(50)
    )


def test_restart_mid_run_loses_no_acknowledged_enqueue(
    private_redis: MakeServer, make_storage: StorageFactory
) -> None:
    """A producer keeps enqueueing while Redis is killed and restarted: it rides through
    the outage (redis-py retries with back-off) and every enqueue that returned is kept."""
    server = private_redis()
    storage = make_storage(RedisStorage, url=server.url, blocking=False)
    acknowledged: list[bytes] = []
    failures: list[StorageError] = []
    restarted = threading.Event()
    after_restart: list[bytes] = []
    stop = threading.Event()

    def produce() -> None:
        index = 0
        while not stop.is_set():
            item = f"item-{index}".encode()
            index += 1
            try:
                storage.enqueue(item)
            except StorageError as exc:
                failures.append(exc)
                time.sleep(0.01)  # back off while Redis is down
            else:
                acknowledged.append(item)
                if restarted.is_set():
                    after_restart.append(item)

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.3)
    server.kill()
    time.sleep(0.2)
    server.start()
    restarted.set()
    time.sleep(0.3)
    stop.set()
    producer.join(10)
    assert all(server.url in str(exc) for exc in failures)
    stored = set(storage.enqueued_items())
    assert len(acknowledged) > 10
    assert after_restart, "the producer did not recover after the restart"
    assert set(acknowledged) <= stored


def test_outage_raises_a_typed_error_then_recovers(
    private_redis: MakeServer, make_storage: StorageFactory
) -> None:
    """While Redis is down a call fails with RedisConnectionFailed (once its retries are
    spent); the same storage works again once Redis is back."""
    server = private_redis()
    storage = make_storage(
        RedisStorage, url=server.url, blocking=False, retry=Retry(NoBackoff(), 1)
    )
    storage.enqueue(b"before")
    server.kill()
    with pytest.raises(RedisConnectionFailed, match="cannot reach Redis") as info:
        storage.enqueue(b"during")
    assert server.url in str(info.value)
    server.start()
    storage.enqueue(b"after")
    assert list(storage.enqueued_items()) == [b"before", b"after"]


def test_connection_refused_is_one_clear_error_without_password() -> None:
    """No server: check_connection raises RedisConnectionFailed naming the URL, not the
    password."""
    port = free_port()
    storage = RedisStorage("x", url=f"redis://:hunter2@127.0.0.1:{port}/0")
    with pytest.raises(RedisConnectionFailed) as info:
        storage.check_connection()
    message = str(info.value)
    assert f"redis://:***@127.0.0.1:{port}/0" in message
    assert "hunter2" not in message
    assert info.value.storage == f"redis://:***@127.0.0.1:{port}/0"
    assert isinstance(info.value, StorageError)
    storage.close()


def test_wrong_password_and_acl_user(private_redis: MakeServer) -> None:
    """Wrong passwords are refused clearly (no password in the message); an ACL user
    restricted to huey:* keys can run every operation."""
    server = private_redis("--requirepass", "right-one")
    base = server.url.replace("redis://", "redis://:wrong-one@")
    storage = RedisStorage("acl", url=base)
    with pytest.raises(RedisConnectionFailed, match="refused the credentials") as info:
        storage.check_connection()
    assert "wrong-one" not in str(info.value)
    storage.close()
    admin = redis.Redis(port=server.port, password="right-one")
    # The rule docs/redis.rst recommends.
    admin.acl_setuser(  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves **kwargs unannotated
        "worker",
        enabled=True,
        passwords=["+w0rker"],
        keys=["huey:*"],
        commands=["+@all", "-@dangerous"],
    )
    admin.close()
    user = PriorityRedisStorage(
        "acl", host="127.0.0.1", port=server.port, username="worker", password="w0rker"
    )
    user.check_connection()
    user.enqueue(b"job")
    lease = user.reserve(1.0, 10.0)
    assert lease is not None
    assert user.ack(lease.token)
    user.put_result("r", b"1")
    user.put_if_empty_ttl("lock", b"1", 5.0)
    assert user.incr("n") == 1
    assert user.result_store_size() == 2
    assert user.persistence_warning() is None  # CONFIG is @dangerous: no verdict
    user.flush_all()
    with pytest.raises(StorageError, match="ACL"):
        user._command("SET", "not-huey", "1")  # pyright: ignore[reportPrivateUsage]  # outside ~huey:*
    user.close()
    wrong_user = RedisStorage("acl", port=server.port, username="worker", password="nope")
    with pytest.raises(RedisConnectionFailed):
        wrong_user.check_connection()
    wrong_user.close()


def test_sigkilled_worker_message_is_redelivered(
    redis_url: str, make_storage: StorageFactory
) -> None:
    """A process that reserved a message and was SIGKILLed mid-task: once the lease
    expires the message goes to a live worker, and the dead one's token is stale."""
    storage = make_storage(RedisStorage, blocking=False)
    storage.enqueue(b"the job")
    code = (
        "import sys, time\n"
        "from huey.storage.redis import RedisStorage\n"
        f"storage = RedisStorage({storage.name!r}, url={redis_url!r}, blocking=False)\n"
        "lease = storage.reserve(1000.0, 5.0)\n"
        "print(lease.token if lease else 'none', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    token = child.stdout.readline().strip()
    child.kill()  # SIGKILL, mid-task
    child.wait(10)
    child.stdout.close()
    assert token != "none"
    assert storage.queue_size() == 0
    assert storage.leased_count() == 1
    assert storage.requeue_expired(1004.0, 5) == 0  # lease still running
    assert storage.requeue_expired(1006.0, 5) == 1
    lease = storage.reserve(1006.0, 30.0)
    assert lease is not None
    assert (lease.data, lease.deliveries) == (b"the job", 2)
    assert not storage.ack(token)
    assert storage.ack(lease.token)


def test_persistence_warning(private_redis: MakeServer, make_storage: StorageFactory) -> None:
    """Redis without AOF or snapshots gets a startup warning; the AOF server does not."""
    volatile = private_redis("--appendonly", "no")
    storage = make_storage(RedisStorage, url=volatile.url)
    warning = storage.persistence_warning()
    assert warning is not None
    assert "persistence off" in warning
    assert volatile.url in warning
    durable = make_storage(RedisStorage)
    assert durable.persistence_warning() is None


def test_two_workers_run_every_task_exactly_once(redis_url: str) -> None:
    """Two workers (two hueys, as on two hosts) drain one Redis queue: no task is lost
    and none runs twice."""
    runs: collections.Counter[int] = collections.Counter()
    ran_by: collections.Counter[str] = collections.Counter()
    lock = threading.Lock()
    name = f"two-workers-{time.monotonic_ns()}"

    def make(worker: str) -> RedisHuey:
        huey = RedisHuey(name, url=redis_url, read_timeout=0.05)

        @huey.task(name="record")
        def record(index: int) -> int:
            with lock:
                runs[index] += 1
                ran_by[worker] += 1
            return index * 2

        return huey

    first, second = make("first"), make("second")
    producer = RedisHuey(name, url=redis_url)

    @producer.task(name="record")
    def record(index: int) -> int:
        return index

    results = [record(index) for index in range(300)]

    def work(huey: RedisHuey) -> None:
        while process_next(huey).status != "empty":
            pass

    threads = [threading.Thread(target=work, args=(huey,)) for huey in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert runs == collections.Counter(range(300))
    assert set(ran_by) == {"first", "second"}
    assert [result.get(blocking=True, timeout=5) for result in results] == [
        index * 2 for index in range(300)
    ]
    storage = producer.storage
    assert isinstance(storage, RedisStorage)
    assert (storage.queue_size(), storage.leased_count()) == (0, 0)
    for huey in (first, second):
        assert isinstance(huey.storage, RedisStorage)
        huey.storage.close()
    dispose(producer)


def test_out_of_memory_is_storage_full(
    private_redis: MakeServer, make_storage: StorageFactory
) -> None:
    """Redis at maxmemory (noeviction) refuses writes: StorageFull, nothing half-done."""
    server = private_redis("--maxmemory", "3mb", "--maxmemory-policy", "noeviction")
    storage = make_storage(RedisStorage, url=server.url, blocking=False)
    blob = b"x" * 100_000

    def fill() -> None:
        for _ in range(100):
            storage.enqueue(blob)

    with pytest.raises(StorageFull, match="out of memory"):
        fill()
    stored = storage.queue_size()
    assert 0 < stored < 100
    assert storage.dequeue() == blob  # reads and deletes still work
    storage.flush_queue()


# The smallest proto-max-bulk-len Redis accepts; the tests start servers with it.
_BULK_LIMIT = 1 << 20


@pytest.mark.parametrize("cls", ALL_STORAGES)
def test_value_over_proto_max_bulk_len_is_message_too_large(
    private_redis: MakeServer, make_storage: StorageFactory, cls: type[RedisStorage]
) -> None:
    """A value over the server's proto-max-bulk-len raises MessageTooLarge with its size
    and the limit, at once (no reconnecting and retrying), and nothing is stored. A value
    far over it (which makes the server drop the connection) reads the same."""
    server = private_redis("--proto-max-bulk-len", "1mb")
    storage = make_storage(cls, url=server.url, blocking=False)
    writes: list[Callable[[bytes], object]] = [
        storage.enqueue,
        lambda value: storage.add_to_schedule(value, 1.0),
        lambda value: storage.put_data("k", value),
        lambda value: storage.put_result("r", value),
    ]
    for size in (2 * _BULK_LIMIT, 16 * _BULK_LIMIT):
        value = b"x" * size
        for write in writes:
            started = time.monotonic()
            with pytest.raises(MessageTooLarge, match="message too large") as info:
                write(value)
            assert time.monotonic() - started < 2.0
            assert (info.value.size, info.value.limit) == (size, _BULK_LIMIT)
            assert f"{size} bytes" in str(info.value)
            assert f"limit of {_BULK_LIMIT} bytes (proto-max-bulk-len)" in str(info.value)
            assert info.value.storage == server.url
    assert (storage.queue_size(), storage.schedule_size(), storage.result_store_size()) == (
        0,
        0,
        0,
    )
    under = b"y" * (_BULK_LIMIT - 100)
    storage.enqueue(under)
    assert storage.dequeue() == under


def test_value_too_large_without_config_access_is_message_too_large(
    private_redis: MakeServer, make_storage: StorageFactory
) -> None:
    """With CONFIG denied (the ACL docs/redis.rst recommends denies @dangerous) the limit
    is unknown, but the server's refusal still reads as too large, not as an unreachable
    server, even when the server drops the connection (after redis-py's retries). CONFIG
    is asked once, not for every large value."""
    server = private_redis("--proto-max-bulk-len", "1mb")
    admin = redis.Redis(port=server.port)
    admin.acl_setuser(  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves **kwargs unannotated
        "worker",
        enabled=True,
        passwords=["+w0rker"],
        keys=["huey:*"],
        commands=["+@all", "-@dangerous"],
    )
    url = server.url.replace("redis://", "redis://worker:w0rker@")
    storage = make_storage(RedisStorage, url=url, blocking=False, retry=Retry(NoBackoff(), 1))
    # 2 MiB: the server replies "invalid bulk length" and closes the connection, and
    # redis-py sees either the reply or the reset. 64 MiB: always the reset.
    for size in (2 * _BULK_LIMIT, 64 * _BULK_LIMIT, 2 * _BULK_LIMIT):
        with pytest.raises(MessageTooLarge, match="message too large") as info:
            storage.enqueue(b"x" * size)
        assert (info.value.size, info.value.limit) == (size, None)
        assert f"{size} bytes" in str(info.value)
        assert "proto-max-bulk-len" in str(info.value)
        if size > 2 * _BULK_LIMIT:
            assert "answers PING" in str(info.value)
    assert storage.queue_size() == 0
    storage.enqueue(b"ok")
    assert storage.dequeue() == b"ok"
    denials = admin.acl_log()  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves **kwargs unannotated
    admin.close()
    assert [(entry["object"], entry["count"]) for entry in denials] == [("config|get", 1)]


class _BulkRefusingClient:
    """Passes commands to a real client, except that it refuses a value over 1 MiB the
    way Redis does when its error reply arrives before it drops the connection (which
    over loopback happens only sometimes), and denies CONFIG."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def execute_command(self, *args: str | bytes | int | float) -> object:
        """Refuse, deny, or send."""
        if args[0] == "CONFIG":
            raise NoPermissionError("this user has no permissions to run the 'config' command")
        if any(isinstance(arg, bytes) and len(arg) > _BULK_LIMIT for arg in args):
            raise ResponseError("Protocol error: invalid bulk length")
        reply: object = self.inner.execute_command(*args)
        return reply

    def close(self) -> None:
        """Close the wrapped client."""
        self.inner.close()


def test_invalid_bulk_length_reply_is_message_too_large(make_storage: StorageFactory) -> None:
    """The server's "invalid bulk length" reply reads as MessageTooLarge with the size."""
    storage = make_storage(RedisStorage, blocking=False)
    inner: object = storage._client  # pyright: ignore[reportPrivateUsage]  # to refuse like a server
    storage._client = _BulkRefusingClient(inner)  # pyright: ignore[reportPrivateUsage]  # to refuse like a server
    size = _BULK_LIMIT + 1
    with pytest.raises(MessageTooLarge, match="invalid bulk length") as info:
        storage.put_data("k", b"x" * size)
    assert (info.value.size, info.value.limit) == (size, None)
    assert f"message too large for Redis at {storage.url}: {size} bytes" in str(info.value)
    assert storage.result_store_size() == 0


def test_tls_with_rediss_url(private_redis: MakeServer, tmp_path: Path) -> None:
    """A TLS-only server is reached with rediss:// and the CA file; plain redis:// is not."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    make_cert = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    make_cert += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    make_cert += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        make_cert,
        check=True,
        capture_output=True,
        timeout=60,
    )
    server = private_redis(tls=(cert, key))
    assert server.url.startswith("rediss://")
    huey = RedisHuey(f"tls-{time.monotonic_ns()}", url=server.url, ssl_ca_certs=str(cert))
    storage = huey.storage
    assert isinstance(storage, RedisStorage)
    storage.check_connection()
    storage.enqueue(b"secret work")
    lease = storage.reserve(1.0, 10.0)
    assert lease is not None
    assert lease.data == b"secret work"
    assert storage.ack(lease.token)
    dispose(huey)
    plain = RedisStorage("tls", url=server.url.replace("rediss://", "redis://"), retry=None)
    with pytest.raises(RedisConnectionFailed):
        plain.check_connection()
    plain.close()


APP = """
import os
import pathlib
import time

from huey import RedisHuey

huey = RedisHuey(
    os.environ["HUEY_TEST_NAME"],
    url=os.environ["HUEY_TEST_URL"],
    lease_timeout=1.5,
    read_timeout=0.1,
)
MARKS = pathlib.Path(os.environ["HUEY_TEST_MARKS"])


@huey.task(name="app.job")
def job() -> str:
    if not (MARKS / "first").exists():
        (MARKS / "first").write_text(str(os.getpid()))
        time.sleep(60)  # the first consumer is SIGKILLed here
    return f"done by {os.getpid()}"
"""


@pytest.mark.integration
def test_sigkilled_consumer_task_runs_on_another_consumer(redis_url: str, tmp_path: Path) -> None:
    """huey_consumer SIGKILLed mid-task: a second consumer runs the task once the lease
    expires (end to end, with real consumer processes)."""
    (tmp_path / "app.py").write_text(APP)
    name = f"e2e-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "HUEY_TEST_NAME": name,
        "HUEY_TEST_URL": redis_url,
        "HUEY_TEST_MARKS": str(tmp_path),
    }
    producer = RedisHuey(name, url=redis_url)

    @producer.task(name="app.job")
    def job() -> str:
        raise AssertionError("runs in the consumers only")

    result = job()
    command = [sys.executable, "-m", "huey", "app.huey", "-w", "1", "-s", "1", "-q"]
    first = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL)
    second: subprocess.Popen[bytes] | None = None
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "first").exists():
            assert time.monotonic() < deadline, "the first consumer never started the task"
            assert first.poll() is None, "the first consumer exited"
            time.sleep(0.05)
        first.kill()  # SIGKILL mid-task
        first.wait(10)
        second = subprocess.Popen(command, env=env, cwd=tmp_path, stderr=subprocess.DEVNULL)
        value = result.get(blocking=True, timeout=30)
        assert value == f"done by {second.pid}"
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        dispose(producer)
