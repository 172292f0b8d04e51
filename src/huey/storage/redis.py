"""Redis storages: :class:`RedisStorage` and its priority and expiring variants.

Every Redis key of one queue starts with ``huey:{<name>}:``. The braces are a Redis Cluster
*hash tag*: all keys of a queue live in one slot, so the Lua scripts work on Cluster
(``cluster=True``: one queue on one shard, several queues spread over the shards) and
under ACL key patterns such as ``~huey:*``. Scripts declare the keys they touch in
``KEYS``; the one exception is reading a reserved item's revocation flags in the
expiring variants, whose key names travel in the item (they carry the queue's tag, so
they are in its slot). The layout:

====================================  =======  ==============================================
key                                   type     use
====================================  =======  ==============================================
``huey:{N}:queue``                    LIST     queue of :class:`RedisStorage` (``ZSET`` for
                                               the priority variants, score ``-priority``)
``huey:{N}:seq``                      STRING   counter giving queue/schedule items their order
``huey:{N}:wake``                     LIST     at most one token; blocked reservers wait on it
``huey:{N}:schedule``                 ZSET     scheduled items, score = UTC epoch seconds
                                               (see below for the members)
``huey:{N}:schedule:wake``            LIST     at most one token: a scheduler waiting for
                                               the next due item wakes on it
``huey:{N}:inflight``                 HASH     lease token -> leased item
``huey:{N}:leases``                   ZSET     lease token, score = lease deadline
``huey:{N}:dead``, ``…:dead:reason``  HASH     dead letters and why they died
``huey:{N}:dead:index``               ZSET     dead-letter id, score = when it died
``huey:{N}:results``                  HASH     key/value store (results, locks, revocations)
``huey:{N}:results:ttl``              ZSET     keys of the store with a time-to-live
``huey:{N}:counters``                 HASH     counters
``huey:{N}:sem:<name>``               ZSET     semaphore holders, score = when each expires
                                               (server time, ms); the key expires with the
                                               last holder
``huey:{N}:done:<key>``               LIST     ``notify_result``: wakes readers of ``<key>``
``huey:{N}:r:<key>``                  STRING   expiring variants: a task result (with TTL)
``huey:{N}:k:<key>``                  STRING   expiring variants: other stored values
``huey:{N}:c:<key>``                  STRING   expiring variants: a counter (with TTL)
``huey:{N}:recent:<window>``          HASH     ids of the enqueue and settle calls of one
                                               10-second window (expires after 30 s): a
                                               re-sent call finds its id and does nothing
====================================  =======  ==============================================

Queue items are wrapped in an envelope ``<seq>:<deliveries>:<priority>|<data>`` so that a
redelivered item keeps its delivery count and its place; callers only ever see ``data``.
An item queued by ``enqueue_keyed`` carries the keys ``reserve`` reads along with the
lease (huey's revocation flags) at the end of its ``<seq>``: ``<seq>^<key>^<key>^``, with
the envelope's delimiters (``%:|~^``) written ``%XX`` inside each key (the ``<seq>``
prefix alone still orders the members). Items queued by earlier versions carry them
hex-encoded, ``<seq>~<hex>~<hex>~``, and are still read.

Schedule members are ``p<seq>:<priority>|<data>`` (``<seq>`` zero-padded to 16 digits) when
scheduled with a priority, ``<seq><data>`` when scheduled by plain ``add_to_schedule``
(older huey versions); the leading ``p`` tells them apart, since ``<seq>`` is digits. One
Lua script moves every due member into the queue envelope with its priority (``move_due``).

redis-py re-sends a command whose reply it lost (a dropped connection, a restarted server)
with the same arguments, so a script may run twice. ``reserve`` is safe to repeat: its
lease token is made once, on the client, and a repeat returns the lease already held
under it. ``enqueue``, ``enqueue_keyed`` and ``enqueue_many`` carry a call id made on
the client, and a repeat that finds it in the recent window queues nothing. ``settle``
and ``settle_and_reserve`` mark the token they settle in that window, so a repeat
reports the first run's success (and ``settle_and_reserve`` returns the lease it took,
as ``reserve`` does). The same holds for a call sent without waiting
(``send_settle_and_reserve``, ``send_reserve``) whose reply is lost: its ``finish()``
sends it again. A repeated ``extend_lease`` or ``requeue_expired`` changes nothing
further; a repeated ``ack``, ``release``, ``dead_letter`` or ``requeue_dead_letter``
(likewise ``delete_if_equal``, ``delete_data``, ``semaphore_release``) finds its token
(or letter, key, holder) gone and changes nothing either, but reports ``False``
although the first run succeeded. A repeated ``semaphore_acquire`` or
``semaphore_renew`` finds the holder in place and reports ``True`` again. Not yet safe
to repeat: ``add_to_schedule*`` store the item twice,
``incr`` (expiring variants) counts twice, ``put_if_empty*`` reports ``False`` for its
own store, and the first reply's items are lost to the caller for ``move_due`` (they are
queued, but not returned), ``read_schedule`` and ``pop_data`` (removed, and not
returned).

Importing this module imports ``redis`` (install ``huey[redis]``); ``import huey`` does not.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, Protocol, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    AuthenticationError,
    AuthorizationError,
    ClusterDownError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from typing_extensions import override

from ..constants import EmptyData, EmptyDataType
from ..exceptions import ConfigurationError, MessageTooLarge, StorageError, StorageFull
from ..protocols import DeadLetter, Lease, LeaseCounts

__all__ = (
    "RedisStorage",
    "PriorityRedisStorage",
    "RedisExpireStorage",
    "PriorityRedisExpireStorage",
    "RedisConnectionFailed",
    "RedisSettleInFlight",
)

_Arg = str | bytes | int | float
_T = TypeVar("_T")


class RedisConnectionFailed(StorageError):
    """Redis could not be reached or refused the credentials.

    Attributes:
        storage: the server's URL, without its password.
    """


class _Client(Protocol):
    """The part of ``redis.Redis`` this module calls, with the types it relies on.

    redis-py types command replies loosely (``Any``); every reply is narrowed by the
    ``_as_*`` helpers below, so nothing untyped leaks out of this module.
    """

    def execute_command(self, *args: _Arg) -> object: ...

    def close(self) -> None: ...


class _Connection(Protocol):
    """The part of ``redis.Connection`` the worker's hot path calls directly."""

    def send_packed_command(self, command: Sequence[bytes]) -> None: ...

    def read_response(self) -> object: ...

    def disconnect(self) -> None: ...


class _Pool(Protocol):
    """The part of ``redis.ConnectionPool`` the hot paths take a connection from."""

    def get_connection(self, *command: str) -> _Connection: ...

    def release(self, connection: _Connection) -> None: ...


class _Held:
    """The connection one thread of one process keeps (see ``_held_connection``).

    ``unread`` lists the calls sent on it whose replies are not read yet, oldest first
    (see :meth:`RedisStorage.send_settle_and_reserve`): the next reader of the
    connection reads theirs first.
    """

    def __init__(self, forks: int, connection: _Connection) -> None:
        self.forks = forks
        self.connection = connection
        self.unread: list[_Flight] = []
        # Whether the last reservation found the queue empty (see RedisStorage.reserve).
        self.found_empty = False


_UNREAD: Final = object()
"""The reply of a call sent without waiting, not read yet (or lost: it runs again)."""


class _Flight:
    """A settle-and-reserve (or reserve) call: its script, keys and arguments, and once
    read, its reply."""

    __slots__ = ("args", "deadline", "error", "held", "keys", "next_token", "reply", "script")

    def __init__(
        self,
        script: _Script,
        keys: tuple[str, ...],
        args: tuple[_Arg, ...],
        next_token: str,
        deadline: float,
    ) -> None:
        self.script = script  # the settle-and-reserve script, or reserve alone
        self.keys = keys
        self.args = args
        self.next_token = next_token
        self.deadline = deadline
        self.held: _Held | None = None  # the connection it was sent on, unread
        self.reply: object = _UNREAD
        self.error: ResponseError | None = None


class RedisSettleInFlight:
    """A settle-and-reserve (or a reservation alone) sent without waiting for its reply.

    Made by :meth:`RedisStorage.send_settle_and_reserve` and
    :meth:`RedisStorage.send_reserve`. Call :meth:`finish` on the thread that sent it
    (the connection is that thread's).

    Attributes:
        next_token: the token the next message is leased under, if there is one.
    """

    __slots__ = ("_finish", "next_token")

    def __init__(self, next_token: str, finish: Callable[[], tuple[bool, Lease | None]]) -> None:
        self.next_token: str = next_token
        self._finish: Callable[[], tuple[bool, Lease | None]] = finish

    def finish(self) -> tuple[bool, Lease | None]:
        """Read the reply: whether the settled token was current, and the next lease.

        Raises:
            StorageError: the storage failed. A settle and its reservation are safe to
                send again: a repeat under the same tokens reports what the first did.
        """
        return self._finish()


_forks = 0
"""How many forks this process descends from since the module was loaded: a held
connection taken before a fork belongs to the parent. Cheaper to compare on every call
than ``os.getpid()``, a system call."""


def _count_fork() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_count_fork)


class _ClusterNode(Protocol):
    """The part of ``redis.cluster.ClusterNode`` this module uses."""

    @property
    def redis_connection(self) -> _Client | None: ...


class _Cluster(_Client, Protocol):
    """The part of ``redis.cluster.RedisCluster`` this module calls."""

    def get_node_from_key(self, key: str) -> _ClusterNode | None: ...


class _ClusterClient:
    """redis-py's ``RedisCluster`` as a :class:`_Client` for one queue.

    redis-py sends a command that names keys to the node owning their slot (every key of
    a queue shares one), but sends the node-level commands huey uses (``PING``, ``INFO``,
    ``CONFIG``, ``SCAN``, ``SCRIPT``) to every node and merges the replies: those go to
    the node owning the queue's slot alone, so one unreachable shard does not fail the
    queues of the others. The cluster client is made on first use, as ``redis.Redis``
    connects on first use: constructing a storage never touches the network.
    ``connection_pool`` is the owning master's pool, where the hot paths take the
    connection they keep (see ``RedisStorage._run_held``).
    """

    _NODE_COMMANDS: ClassVar[frozenset[str]] = frozenset(
        {"PING", "INFO", "CONFIG", "SCAN", "SCRIPT"}
    )

    def __init__(self, connect: Callable[[], _Cluster], key: str) -> None:
        self._connect = connect
        self._key = key
        self._cluster: _Cluster | None = None
        self._lock = threading.Lock()

    def _client(self) -> _Cluster:
        cluster = self._cluster
        if cluster is None:
            with self._lock:
                cluster = self._cluster
                if cluster is None:
                    cluster = self._cluster = self._connect()
        return cluster

    def execute_command(self, *args: _Arg) -> object:
        cluster = self._client()
        if str(args[0]).upper() in self._NODE_COMMANDS:
            # The owning node's own client: its reply as one server gives it.
            return self._owner().execute_command(*args)
        return cluster.execute_command(*args)

    def _owner(self) -> _Client:
        """The client of the master owning the queue's slot."""
        node = self._client().get_node_from_key(self._key)
        client = None if node is None else node.redis_connection
        if client is None:
            raise RedisClusterException(f"no node of the cluster serves {self._key!r}")
        return client

    @property
    def connection_pool(self) -> _Pool | None:
        """The connection pool of the master owning the queue's slot (for the hot paths)."""
        return cast("_Pool | None", getattr(self._owner(), "connection_pool", None))

    def close(self) -> None:
        with self._lock:
            cluster, self._cluster = self._cluster, None
        if cluster is not None:
            cluster.close()


# --- narrowing redis-py replies ------------------------------------------------------------


def _as_bytes(reply: object) -> bytes | None:
    if reply is None:
        return None
    if isinstance(reply, bytes):
        return reply
    if isinstance(reply, str):  # a client configured with decode_responses=True
        return reply.encode()
    raise StorageError(f"unexpected reply from Redis: {reply!r:.80}")


def _as_int(reply: object) -> int:
    if isinstance(reply, int):
        return reply
    if isinstance(reply, bytes | str):
        return int(reply)
    raise StorageError(f"unexpected reply from Redis: {reply!r:.80}")


def _as_list(reply: object) -> list[object]:
    if reply is None:
        return []
    if isinstance(reply, list | tuple):
        return list(cast("Sequence[object]", reply))
    raise StorageError(f"unexpected reply from Redis: {reply!r:.80}")


def _as_str(reply: object) -> str:
    value = _as_bytes(reply)
    return "" if value is None else value.decode("utf-8", "surrogateescape")


def _unwrap(envelope: bytes) -> tuple[int, bytes]:
    """Split a queue envelope into (deliveries, data)."""
    bar = envelope.index(b"|")
    return int(envelope[:bar].split(b":")[1]), envelope[bar + 1 :]


def _lease(token: str, deadline: float, envelope: bytes, reply: Sequence[object]) -> Lease:
    """The lease a reserve script's reply ``[envelope, watched values...]`` describes."""
    bar = envelope.index(b"|")
    head = envelope[:bar]
    watched = (
        tuple(map(_as_bytes, reply[1:])) if b"^" in head or b"~" in head else None
    )  # keyed items carry ``^`` (older ones ``~``) in their head
    return Lease(
        token=token,
        data=envelope[bar + 1 :],
        deliveries=int(head.split(b":")[1]),
        deadline=deadline,
        watched=watched,
    )


def _strip(envelope: bytes) -> bytes:
    return envelope[envelope.index(b"|") + 1 :]


# Redis refuses a command argument (a bulk string) longer than its proto-max-bulk-len,
# which it does not let be set below 1 MiB: a shorter argument is never refused for size.
_MIN_BULK_LIMIT: Final = 1 << 20


def _largest(args: Sequence[_Arg]) -> int:
    """Size in bytes of the longest string argument (what proto-max-bulk-len limits)."""
    size = 0
    for arg in args:
        if isinstance(arg, bytes):
            size = max(size, len(arg))
        # Encoding is only worth it for a str that could be over the limit (UTF-8 takes
        # at most 4 bytes a character); keys and names are short.
        elif isinstance(arg, str) and len(arg) * 4 > _MIN_BULK_LIMIT:
            size = max(size, len(arg.encode("utf-8", "surrogateescape")))
    return size


class _Tokens:
    """Lease tokens: a random prefix per process and a counter.

    Unique across processes and hosts (64 random bits, drawn again in a forked child)
    and cheap: no system call per token, unlike ``secrets.token_hex`` whose
    ``getrandom`` call gives up the GIL that other worker threads then wait for.
    """

    def __init__(self) -> None:
        self._prefix = ""
        self._counter = itertools.count()
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        """Draw a new prefix (a forked child must not repeat its parent's tokens)."""
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count()

    def next(self) -> str:
        """A new token."""
        return f"{self._prefix}{next(self._counter):x}"


_TOKENS: Final = _Tokens()


# Characters that delimit the envelope, written %XX inside the keys an item carries
# ('%' first, so the escapes themselves are not escaped again).
_KEY_ESCAPES: Final = tuple((c, f"%{ord(c):02X}") for c in "%:|~^")


def _escape_key(key: str) -> str:
    # Chained str.replace: str.translate with a dict calls back per character, 5x slower.
    for char, escape in _KEY_ESCAPES:
        if char in key:
            key = key.replace(char, escape)
    return key


def _keys_suffix(keys: Sequence[str]) -> str:
    """The ``^<key>^<key>^`` suffix naming the keys ``reserve`` reads ('' for none).

    Only the envelope's delimiters are escaped, so the reserve script unescapes a key
    with one pattern substitution that usually matches nothing (hex-encoding every byte
    cost it a function call per byte).
    """
    if not keys:
        return ""
    return "^" + "".join([_escape_key(key) + "^" for key in keys])


def _pack_args(args: Iterable[_Arg]) -> list[bytes]:
    """Each argument as a RESP bulk string, as redis-py would encode it.

    The hot paths pack their commands themselves: redis-py's encoder costs about a
    microsecond per argument, a good share of a task's client CPU.
    """
    parts: list[bytes] = []
    for arg in args:
        if isinstance(arg, str):  # the most frequent: keys, tokens, numbers as text
            data = arg.encode()
        elif isinstance(arg, bytes):
            data = arg
        elif isinstance(arg, int):
            data = b"%d" % arg
        else:
            data = repr(arg).encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return parts


def _pack_command(*args: _Arg) -> bytes:
    """One command in the Redis protocol (RESP), packed as redis-py would send it."""
    return b"".join([b"*%d\r\n" % len(args), *_pack_args(args)])


@functools.lru_cache(maxsize=64)
def _evalsha_head(sha: str, keys: tuple[str, ...]) -> bytes:
    """``EVALSHA sha numkeys keys...`` packed: the same on every call of a hot path."""
    return b"".join(_pack_args(("EVALSHA", sha, len(keys), *keys)))


def _pack_evalsha(sha: str, keys: tuple[str, ...], args: Sequence[_Arg]) -> bytes:
    """``EVALSHA`` of ``sha`` with ``keys`` and ``args``, packed (the head from a cache)."""
    count = 3 + len(keys) + len(args)
    return b"".join([b"*%d\r\n" % count, _evalsha_head(sha, keys), *_pack_args(args)])


def _number(value: float) -> str:
    # repr() keeps every digit of a float; Redis parses it as a double.
    return repr(float(value))


# --- Lua ----------------------------------------------------------------------------------


class _Script:
    """A Lua script run with EVALSHA, loaded on first use (and after a server restart)."""

    __slots__ = ("sha", "source")

    def __init__(self, *parts: str) -> None:
        self.source = "\n".join(parts)
        self.sha = hashlib.sha1(self.source.encode()).hexdigest()

    def __call__(self, client: _Client, keys: Sequence[str], *args: _Arg) -> object:
        try:
            return client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            # First use on this server, or the server restarted and lost its script cache.
            client.execute_command("SCRIPT", "LOAD", self.source)
            return client.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)


_ENVELOPE = """
local function parse(e)
  local bar = string.find(e, '|', 1, true)
  local seq, d, p = string.match(string.sub(e, 1, bar - 1), '^([^:]*):(%d+):(-?%d+)$')
  return seq, tonumber(d), p, string.sub(e, bar + 1)
end
local function build(seq, d, p, data)
  return seq .. ':' .. string.format('%d', d) .. ':' .. p .. '|' .. data
end
local function unescape(h) return string.char(tonumber(h, 16)) end
-- Leaves one wake-up token in the list (a busy queue usually has one already).
local function wake(key)
  if redis.call('LLEN', key) == 0 then redis.call('LPUSH', key, '1') end
end
-- Whether a call marked ``field`` in the window ``key`` before (a re-sent call); marks it.
-- The window expires 30 s after its first mark (set once, when the mark made the key).
local function seen(key, field)
  if redis.call('HSETNX', key, field, '1') == 0 then return true end
  if redis.call('HLEN', key) == 1 then redis.call('EXPIRE', key, 30) end
  return false
end
"""

# A LIST queue: new items go in on the left, are taken from the right; redelivered
# items go back on the right so they are next.
_LIST = """
local function next_seq(key) return '0' end
local function qpop(q) return redis.call('RPOP', q) end
local function qpush(q, e, p) redis.call('LPUSH', q, e) end
local function qreturn(q, e, p) redis.call('RPUSH', q, e) end
"""

# A ZSET queue: score -priority, ties ordered by the zero-padded sequence number that
# starts each member; redelivered items keep their sequence number, hence their place.
_ZSET = """
local function next_seq(key) return string.format('%016d', redis.call('INCR', key)) end
local function qpop(q)
  local r = redis.call('ZPOPMIN', q)
  if #r == 0 then return false end
  return r[1]
end
local function qpush(q, e, p) redis.call('ZADD', q, -tonumber(p), e) end
local qreturn = qpush
"""

# KEYS: queue, wake, seq, recent   ARGV: data, priority, keys suffix, call id
# A call id seen in the recent window is a re-sent call already applied: a no-op.
_ENQUEUE = """
if seen(KEYS[4], 'e' .. ARGV[4]) then return 0 end
local seq = next_seq(KEYS[3]) .. ARGV[3]
qpush(KEYS[1], seq .. ':0:' .. ARGV[2] .. '|' .. ARGV[1], ARGV[2])
wake(KEYS[2])
"""

# One call queues a batch: KEYS as _ENQUEUE; ARGV: call id, then (data, priority, keys
# suffix) for each item.
_ENQUEUE_MANY = """
if seen(KEYS[4], 'e' .. ARGV[1]) then return 0 end
for i = 2, #ARGV, 3 do
  local seq = next_seq(KEYS[3]) .. ARGV[i + 2]
  qpush(KEYS[1], seq .. ':0:' .. ARGV[i + 1] .. '|' .. ARGV[i], ARGV[i + 1])
end
wake(KEYS[2])
return 1
"""

# Returns {envelope, values of the item's keys...}. The keys named by the item cannot be
# declared in KEYS (they are only known once it is popped); they are in the queue's hash
# slot all the same, since every key of the queue shares the ``{name}`` hash tag.
# redis-py re-sends a call whose reply it lost with the same token, so a token that
# already holds a lease gets that lease back (nothing popped, no delivery counted, the
# watched keys read afresh); leasing a second item under it would overwrite the first
# one's in-flight entry and lose it. A token the reaper has meanwhile dead-lettered gets
# nothing: an item leased under it could, dead-lettered in turn, overwrite that letter.
# ``fresh``: the token was made for this very call and the server never saw it before
# (the fused settle-and-reserve knows, from its settle, that it is no re-sent call), so
# it holds no lease and no dead letter: the two lookups are skipped.
# KEYS: queue, inflight, leases, results, results:ttl, dead
# ARGV: token, deadline, key prefix of the expiring variants ('': the results HASH)
_RESERVE_FN = """
local UNESCAPED = {['25'] = '%', ['3A'] = ':', ['7C'] = '|', ['7E'] = '~', ['5E'] = '^'}
local function reserve(queue, inflight, leases, results, ttl, dead, token, deadline, prefix,
                       fresh)
  local e, seq = false, nil
  if not fresh then e = redis.call('HGET', inflight, token) end
  if e then
    seq = parse(e)
  else
    if not fresh and redis.call('HEXISTS', dead, token) == 1 then return false end
    e = qpop(queue)
    if not e then return false end
    local d, p, data
    seq, d, p, data = parse(e)
    e = build(seq, d + 1, p, data)
    redis.call('HSET', inflight, token, e)
    redis.call('ZADD', leases, deadline, token)
  end
  local out = {e}
  local keys = {}
  local caret = string.find(seq, '^', 1, true)
  if caret then
    local suffix = string.sub(seq, caret + 1)
    if string.find(suffix, '%5E', 1, true) then  -- a key holds a '^': split, then unescape
      for k in string.gmatch(suffix, '([^%^]*)%^') do
        table.insert(keys, (string.gsub(k, '%%(%x%x)', UNESCAPED)))
      end
    else  -- unescaping first leaves the separators alone: one substitution for all keys
      suffix = string.gsub(suffix, '%%(%x%x)', UNESCAPED)
      local first, second = string.match(suffix, '^([^%^]*)%^([^%^]*)%^$')
      if first then  -- huey's two flags: one match
        keys = {first, second}
      else
        for k in string.gmatch(suffix, '([^%^]*)%^') do table.insert(keys, k) end
      end
    end
  else
    local tilde = string.find(seq, '~', 1, true)
    if not tilde then return out end
    for hex in string.gmatch(string.sub(seq, tilde + 1), '(%x*)~') do
      table.insert(keys, (string.gsub(hex, '%x%x', unescape)))
    end
  end
  local now
  for _, k in ipairs(keys) do
    local v
    if prefix == '' then
      v = redis.call('HGET', results, k)
      local dl = v and redis.call('ZSCORE', ttl, k)
      if dl then
        if not now then
          local t = redis.call('TIME')
          now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        if tonumber(dl) <= now then v = false end
      end
    else
      v = redis.call('GET', prefix .. 'r:' .. k)
      if not v then v = redis.call('GET', prefix .. 'k:' .. k) end
    end
    table.insert(out, v)
  end
  return out
end
"""
# KEYS: queue, inflight, leases, results, results:ttl, dead
# ARGV: token, deadline, key prefix of the expiring variants ('': the results HASH)
_RESERVE = """
if redis.replicate_commands then redis.replicate_commands() end
return reserve(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], ARGV[1], ARGV[2], ARGV[3])
"""

# KEYS: inflight, leases   ARGV: token, deadline
_EXTEND = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: inflight, leases   ARGV: token
_ACK = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: inflight, leases, queue, wake   ARGV: token
_RELEASE = """
local e = redis.call('HGET', KEYS[1], ARGV[1])
if not e then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local seq, d, p, data = parse(e)
qreturn(KEYS[3], build(seq, math.max(d - 1, 0), p, data), p)
wake(KEYS[4])
return 1
"""

# KEYS: inflight, leases, dead, dead_reason, dead_index   ARGV: token, reason, now
_DEAD_LETTER = """
local e = redis.call('HGET', KEYS[1], ARGV[1])
if not e then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], e)
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[5], ARGV[3], ARGV[1])
return 1
"""

# KEYS: inflight, leases, queue, wake, dead, dead_reason, dead_index
# ARGV: now, max_deliveries, batch
_REQUEUE_EXPIRED = """
local tokens = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[3])
local max = tonumber(ARGV[2])
local moved, requeued = 0, 0
for _, t in ipairs(tokens) do
  redis.call('ZREM', KEYS[2], t)
  local e = redis.call('HGET', KEYS[1], t)
  if e then
    redis.call('HDEL', KEYS[1], t)
    local seq, d, p, data = parse(e)
    if d >= max then
      redis.call('HSET', KEYS[5], t, e)
      redis.call('HSET', KEYS[6], t, 'lease expired after ' .. string.format('%d', d)
        .. ' deliveries (max_deliveries=' .. ARGV[2] .. ')')
      redis.call('ZADD', KEYS[7], ARGV[1], t)
    else
      qreturn(KEYS[3], e, p)
      requeued = requeued + 1
    end
    moved = moved + 1
  end
end
if requeued > 0 then wake(KEYS[4]) end
return moved
"""

# KEYS: dead, dead_reason, dead_index   ARGV: limit (-1: all)
_DEAD_LETTERS = """
local ids = redis.call('ZRANGE', KEYS[3], 0, tonumber(ARGV[1]), 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  local id = ids[i]
  table.insert(out, id)
  table.insert(out, ids[i + 1])
  table.insert(out, redis.call('HGET', KEYS[1], id) or '')
  table.insert(out, redis.call('HGET', KEYS[2], id) or '')
end
return out
"""

# KEYS: dead, dead_reason, dead_index, queue, wake   ARGV: id
_REQUEUE_DEAD = """
local e = redis.call('HGET', KEYS[1], ARGV[1])
if not e then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
local seq, d, p, data = parse(e)
qreturn(KEYS[4], build(seq, 0, p, data), p)
wake(KEYS[5])
return 1
"""

# Adding to the schedule leaves a token in KEYS[3] (at most one): a scheduler waiting for
# the next due item (wait_schedule) wakes and looks again.
_SCHEDULE_WAKE = """
redis.call('LPUSH', KEYS[3], '1')
redis.call('LTRIM', KEYS[3], 0, 0)
"""

# KEYS: schedule, seq, schedule:wake   ARGV: timestamp, data
_SCHEDULE_ADD = """
local seq = string.format('%016d', redis.call('INCR', KEYS[2]))
redis.call('ZADD', KEYS[1], ARGV[1], seq .. ARGV[2])
"""

# KEYS: schedule   ARGV: timestamp.  Take and remove in one step: two schedulers never
# both get an item.
_SCHEDULE_READ = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #due > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1]) end
return due
"""

# KEYS: schedule   Returns the earliest item's score (a string), or nil.
_SCHEDULE_NEXT = """
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return first[2]
"""

# KEYS: schedule, seq, schedule:wake   ARGV: timestamp, data, priority
_SCHEDULE_ADD_PRIORITY = """
local seq = string.format('%016d', redis.call('INCR', KEYS[2]))
redis.call('ZADD', KEYS[1], ARGV[1], 'p' .. seq .. ':' .. ARGV[3] .. '|' .. ARGV[2])
"""

# Move every due member to the queue in one step, each with its stored priority and a new
# sequence number (so it queues behind what is already waiting, as an enqueue would).
# Members scheduled without a priority take theirs from ARGV (member, priority pairs the
# caller worked out) or else ARGV[2]; when ARGV[2] is '' and one is missing, nothing moves
# and the script returns {0, missing members} for the caller to ask about.
# KEYS: schedule, queue, wake, seq   ARGV: timestamp, default priority, member, priority, ...
_SCHEDULE_MOVE = """
local known = {}
for i = 3, #ARGV, 2 do known[ARGV[i]] = ARGV[i + 1] end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local items, missing = {}, {}
for _, m in ipairs(due) do
  if string.sub(m, 1, 1) == 'p' then
    local bar = string.find(m, '|', 1, true)
    table.insert(items, {string.sub(m, 19, bar - 1), string.sub(m, bar + 1)})
  else
    local p = known[m]
    if not p and ARGV[2] ~= '' then p = ARGV[2] end
    if p then
      table.insert(items, {p, string.sub(m, 17)})
    else
      table.insert(missing, m)
    end
  end
end
if #missing > 0 then return {0, missing} end
local moved = {}
for _, item in ipairs(items) do
  qpush(KEYS[2], build(next_seq(KEYS[4]), 0, item[1], item[2]), item[1])
  table.insert(moved, item[2])
end
if #due > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
  wake(KEYS[3])
end
return {1, moved}
"""

_SEQ_WIDTH: Final = 16  # the zero-padded sequence number prefixing schedule members
# move_due asks priority_of about members scheduled without a priority at most this many
# times (new ones may appear in between); after that they are queued with priority 0.
_MOVE_ATTEMPTS: Final = 3


def _check_priority(priority: object) -> int:
    """``priority`` (``None`` counts as 0), checked at run time: untyped callers exist."""
    value = priority or 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"priority must be an int, got {priority!r}")
    return value


def _schedule_data(member: bytes) -> bytes:
    """The item inside a schedule member (with or without a stored priority)."""
    if member[:1] == b"p":
        return member[member.index(b"|") + 1 :]
    return member[_SEQ_WIDTH:]


# Key/value store in a HASH, with optional per-key expiry kept in a ZSET (Redis before 7.4
# has no per-field TTL). Expiry uses the server's clock (TIME), so every client agrees.
_TTL = """
if redis.replicate_commands then redis.replicate_commands() end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function purge(k)
  local d = redis.call('ZSCORE', KEYS[2], k)
  if d and tonumber(d) <= now_ms() then
    redis.call('HDEL', KEYS[1], k)
    redis.call('ZREM', KEYS[2], k)
  end
end
local function purge_all()
  local now = now_ms()
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
  for _, k in ipairs(dead) do redis.call('HDEL', KEYS[1], k) end
  if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
end
"""

# KEYS: results, ttl   ARGV: key
_H_PEEK = "purge(ARGV[1])\nreturn redis.call('HGET', KEYS[1], ARGV[1])"
_H_POP = """
purge(ARGV[1])
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return v
"""
_H_HAS = "purge(ARGV[1])\nreturn redis.call('HEXISTS', KEYS[1], ARGV[1])"
# ARGV: key, value
_H_PUT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
"""
# ARGV: key, value, ttl_ms (0: none)
_H_PUT_IF_EMPTY = """
purge(ARGV[1])
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('ZADD', KEYS[2], now_ms() + ttl, ARGV[1]) end
return 1
"""
_H_SIZE = "purge_all()\nreturn redis.call('HLEN', KEYS[1])"
_H_ITEMS = "purge_all()\nreturn redis.call('HGETALL', KEYS[1])"
# KEYS: results, ttl, done   ARGV: key, value, notify_ttl_ms (0: no notification)
_H_PUT_RESULT = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] ~= '0' then
  redis.call('LPUSH', KEYS[3], '1')
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
"""

# A reader about to wait for the notification of ``key`` leaves a wake-up token for
# itself when the value is stored already (its own token may be gone: taken by another
# reader, or expired), so that the wait sent with it returns at once. Removes nothing.
# KEYS: results, done   ARGV: key, notify_ttl_ms
_H_OPEN_IF_STORED = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 and redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('LPUSH', KEYS[2], '1')
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return 0
"""

# Acknowledge a lease and store its task's result in one step (or neither, if stale).
# A token acknowledged in the recent window (KEYS[#KEYS], the last key) was settled by this
# very call before its reply was lost: the repeat reports that success.
_ACK_PREFIX = """
local recent = KEYS[#KEYS]
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then
  return redis.call('HEXISTS', recent, 's' .. ARGV[1])
end
redis.call('ZREM', KEYS[2], ARGV[1])
seen(recent, 's' .. ARGV[1])
"""
# Settle a lease: delete the discarded keys, store the result, acknowledge (or, if the
# token is stale, none of it).
# KEYS: inflight, leases, results, ttl, done, recent
# ARGV: token, has_result ('1'/'0'), key, value, notify_ttl_ms, discarded keys...
_H_SETTLE = """
for i = 6, #ARGV do
  redis.call('HDEL', KEYS[3], ARGV[i])
  redis.call('ZREM', KEYS[4], ARGV[i])
end
if ARGV[2] == '1' then
  redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
  redis.call('ZREM', KEYS[4], ARGV[3])
  if ARGV[5] ~= '0' then
    redis.call('LPUSH', KEYS[5], '1')
    redis.call('PEXPIRE', KEYS[5], ARGV[5])
  end
end
return 1
"""

# Settle the previous lease (as _H_SETTLE) and reserve the next message (as _RESERVE) in
# one round trip: the worker's hot path. A re-sent call reports the first run's settle
# (the recent marker) and gets the same lease back (the token already holds it).
# KEYS: queue, inflight, leases, results, results:ttl, dead, recent, then done:<key> when
#       the result wakes its readers (notify_result)
# ARGV: token, new token, deadline, notify_ttl_ms, number of discarded keys n, discarded
#       keys (n of them), then result key and value (if any)
_H_SETTLE_RESERVE = """
if redis.replicate_commands then redis.replicate_commands() end
local inflight, leases, results, ttl = KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local recent = KEYS[7]
local token = ARGV[1]
local settled, fresh = 1, true
if redis.call('HDEL', inflight, token) == 0 then
  settled = redis.call('HEXISTS', recent, 's' .. token)
  fresh = false  -- perhaps a re-sent call: its new token may hold a lease already
else
  redis.call('ZREM', leases, token)
  seen(recent, 's' .. token)
  local n = tonumber(ARGV[5])
  for i = 6, 5 + n do
    redis.call('HDEL', results, ARGV[i])
    redis.call('ZREM', ttl, ARGV[i])
  end
  local key = ARGV[6 + n]
  if key then
    redis.call('HSET', results, key, ARGV[7 + n])
    redis.call('ZREM', ttl, key)
    local done = KEYS[8]
    if done then
      redis.call('LPUSH', done, '1')
      redis.call('PEXPIRE', done, ARGV[4])
    end
  end
end
local lease = reserve(KEYS[1], inflight, leases, results, ttl, KEYS[6], ARGV[2], ARGV[3], '',
                      fresh)
return {settled, lease}
"""

# Expiring variants: a result lives at r:<key> with a TTL and is read without being
# removed (it expires instead); any other value lives at k:<key> and is popped normally.
# KEYS: r:<key>, k:<key>
_X_POP = """
local v = redis.call('GET', KEYS[1])
if v then return v end
v = redis.call('GET', KEYS[2])
if v then redis.call('DEL', KEYS[2]) end
return v
"""
# As _H_OPEN_IF_STORED.   KEYS: r:<key>, k:<key>, done   ARGV: notify_ttl_ms
_X_OPEN_IF_STORED = """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 and redis.call('LLEN', KEYS[3]) == 0 then
  redis.call('LPUSH', KEYS[3], '1')
  redis.call('PEXPIRE', KEYS[3], ARGV[1])
end
return 0
"""
# ARGV: value
_X_PUT = """
redis.call('SET', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
"""
# ARGV: value, ttl_ms (0: none)
_X_PUT_IF_EMPTY = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ok
if ARGV[2] ~= '0' then
  ok = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2])
else
  ok = redis.call('SET', KEYS[2], ARGV[1], 'NX')
end
if ok then return 1 end
return 0
"""
# KEYS: r:<key>, k:<key>, done   ARGV: value, expire_seconds, notify_ttl_ms
_X_PUT_RESULT = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('DEL', KEYS[2])
if ARGV[3] ~= '0' then
  redis.call('LPUSH', KEYS[3], '1')
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
"""
# KEYS: inflight, leases, r:<key>, k:<key>, done, k:<discarded key>..., recent
# ARGV: token, has_result ('1'/'0'), value, expire_seconds, notify_ttl_ms
_X_SETTLE = """
for i = 6, #KEYS - 1 do redis.call('DEL', KEYS[i]) end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
  redis.call('DEL', KEYS[4])
  if ARGV[5] ~= '0' then
    redis.call('LPUSH', KEYS[5], '1')
    redis.call('PEXPIRE', KEYS[5], ARGV[5])
  end
end
return 1
"""
# KEYS: c:<key>   ARGV: amount, expire_seconds
_X_INCR = """
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return v
"""

# The 3.5 additions on the HASH store. KEYS: results, ttl
# ARGV: key, value.  Delete only while the key still holds the value (lock owner tokens).
_H_DELETE_IF_EQUAL = """
purge(ARGV[1])
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""
# ARGV: key
_H_DELETE = """
purge(ARGV[1])
local n = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n
"""
# ARGV: keys...  Returns their values in order (nil for an empty key).
_H_PEEK_MANY = """
local out = {}
for i, k in ipairs(ARGV) do
  purge(k)
  out[i] = redis.call('HGET', KEYS[1], k)
end
return out
"""
# Expiring variants. KEYS: r:<key>, k:<key>   ARGV: value
_X_DELETE_IF_EQUAL = """
for _, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v then
    if v ~= ARGV[1] then return 0 end
    redis.call('DEL', k)
    return 1
  end
end
return 0
"""

# Semaphores: a ZSET of holders scored by when each expires (server time, ms). Expired
# holders are dropped first; the key itself expires with its last holder, so a
# semaphore whose holders all died leaves nothing behind.
_SEMAPHORE = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local function keep_until_last()
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if #last > 0 then redis.call('PEXPIREAT', KEYS[1], last[2]) end
end
"""
# KEYS: sem   ARGV: holder, limit, timeout_ms
_SEM_ACQUIRE = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1])
    and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
keep_until_last()
return 1
"""
# KEYS: sem   ARGV: holder, timeout_ms
_SEM_RENEW = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
keep_until_last()
return 1
"""
# KEYS: sem   ARGV: holder
_SEM_RELEASE = "return redis.call('ZREM', KEYS[1], ARGV[1])"
_SEM_HOLDERS = "return redis.call('ZRANGE', KEYS[1], 0, -1)"
_SEM_CLEAR = """
local n = redis.call('ZCARD', KEYS[1])
redis.call('DEL', KEYS[1])
return n
"""


def _queue_scripts(priority: bool) -> dict[str, _Script]:
    kind = _ZSET if priority else _LIST
    bodies = {
        "enqueue": _ENQUEUE,
        "enqueue_many": _ENQUEUE_MANY,
        "reserve": _RESERVE_FN + _RESERVE,
        "settle_reserve": _RESERVE_FN + _H_SETTLE_RESERVE,
        "release": _RELEASE,
        "requeue_expired": _REQUEUE_EXPIRED,
        "requeue_dead": _REQUEUE_DEAD,
    }
    return {name: _Script(_ENVELOPE, kind, body) for name, body in bodies.items()}


_LIST_SCRIPTS: Final = _queue_scripts(priority=False)
_ZSET_SCRIPTS: Final = _queue_scripts(priority=True)
_EXTEND_S: Final = _Script(_EXTEND)
_ACK_S: Final = _Script(_ACK)
_DEAD_LETTER_S: Final = _Script(_DEAD_LETTER)
_DEAD_LETTERS_S: Final = _Script(_DEAD_LETTERS)
_SCHEDULE_ADD_S: Final = _Script(_SCHEDULE_ADD, _SCHEDULE_WAKE)
_SCHEDULE_READ_S: Final = _Script(_SCHEDULE_READ)
_SCHEDULE_ADD_PRIORITY_S: Final = _Script(_SCHEDULE_ADD_PRIORITY, _SCHEDULE_WAKE)
_SCHEDULE_NEXT_S: Final = _Script(_SCHEDULE_NEXT)
_SCHEDULE_MOVE_LIST_S: Final = _Script(_ENVELOPE, _LIST, _SCHEDULE_MOVE)
_SCHEDULE_MOVE_ZSET_S: Final = _Script(_ENVELOPE, _ZSET, _SCHEDULE_MOVE)
_H_PEEK_S: Final = _Script(_TTL, _H_PEEK)
_H_POP_S: Final = _Script(_TTL, _H_POP)
_H_HAS_S: Final = _Script(_TTL, _H_HAS)
_H_PUT_S: Final = _Script(_H_PUT)
_H_PUT_IF_EMPTY_S: Final = _Script(_TTL, _H_PUT_IF_EMPTY)
_H_SIZE_S: Final = _Script(_TTL, _H_SIZE)
_H_ITEMS_S: Final = _Script(_TTL, _H_ITEMS)
_H_PUT_RESULT_S: Final = _Script(_H_PUT_RESULT)
_X_POP_S: Final = _Script(_X_POP)
_X_PUT_S: Final = _Script(_X_PUT)
_X_PUT_IF_EMPTY_S: Final = _Script(_X_PUT_IF_EMPTY)
_X_PUT_RESULT_S: Final = _Script(_X_PUT_RESULT)
_X_INCR_S: Final = _Script(_X_INCR)
_H_SETTLE_S: Final = _Script(_ENVELOPE, _ACK_PREFIX, _H_SETTLE)
_X_SETTLE_S: Final = _Script(_ENVELOPE, _ACK_PREFIX, _X_SETTLE)
_H_DELETE_IF_EQUAL_S: Final = _Script(_TTL, _H_DELETE_IF_EQUAL)
_H_DELETE_S: Final = _Script(_TTL, _H_DELETE)
_H_PEEK_MANY_S: Final = _Script(_TTL, _H_PEEK_MANY)
_X_DELETE_IF_EQUAL_S: Final = _Script(_X_DELETE_IF_EQUAL)
_SEM_ACQUIRE_S: Final = _Script(_SEMAPHORE, _SEM_ACQUIRE)
_SEM_RENEW_S: Final = _Script(_SEMAPHORE, _SEM_RENEW)
_SEM_RELEASE_S: Final = _Script(_SEMAPHORE, _SEM_RELEASE)
_SEM_HOLDERS_S: Final = _Script(_SEMAPHORE, _SEM_HOLDERS)
_SEM_CLEAR_S: Final = _Script(_SEMAPHORE, _SEM_CLEAR)

# Calls that must not apply twice (enqueue, settle) mark their id in a HASH of the current
# window of this many seconds (huey:{N}:recent:<window>), which expires after 30 seconds:
# long enough for redis-py's retries of a call whose reply was lost.
_RECENT_WINDOW: Final = 10
# How late the server may end a blocking read after its timeout: it checks them on its
# timer, 10 times a second at the default ``hz``.
_BLOCKING_TIMEOUT_SLACK: Final = 0.1
# enqueue_many queues this many items per script call (one round trip).
_ENQUEUE_BATCH: Final = 1000

# requeue_expired handles at most this many leases per call, so one call never blocks the
# server for long; the consumer's reaper calls it again on its next round.
_REAP_BATCH: Final = 1000


class _Retry(Retry):
    """redis-py's default retry policy, except that refused credentials fail at once.

    redis-py counts ``AuthenticationError`` as a connection error and retries it ten
    times with back-off (seconds); a wrong password never gets right by retrying.
    """

    @override
    def call_with_retry(
        self,
        do: Callable[[], _T],
        fail: Callable[[Exception], Any] | Callable[[Exception, int], Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> _T:
        def retryable(error: Exception) -> bool:
            if isinstance(error, AuthenticationError | AuthorizationError):
                return False
            return is_retryable is None or is_retryable(error)

        return super().call_with_retry(do, fail, retryable, with_failure_count)


def _default_retry() -> Retry:
    return _Retry(ExponentialWithJitterBackoff(base=0.01, cap=1.0), retries=10)


def _redact(url: str) -> str:
    """``url`` without its password (kept: scheme, user, host, port, path)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def _describe(kwargs: Mapping[str, Any]) -> str:
    """A URL naming the server a connection pool reaches, without any password."""
    path = kwargs.get("path")
    db = kwargs.get("db", 0)
    if path:
        return f"unix://{path}?db={db}"
    scheme = "rediss" if kwargs.get("ssl") or "ssl_context" in kwargs else "redis"
    user = kwargs.get("username")
    auth = f"{user}@" if user else ""
    if kwargs.get("password") or kwargs.get("credential_provider"):
        auth = f"{user or ''}:***@"
    return f"{scheme}://{auth}{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{db}"


class RedisStorage:
    """Queue, schedule and results in Redis; a LIST queue without priorities.

    Satisfies :class:`huey.protocols.Storage`, :class:`~huey.protocols.SupportsLeases`,
    :class:`~huey.protocols.SupportsCounters`, :class:`~huey.protocols.SupportsExpiringKeys`,
    :class:`~huey.protocols.SupportsCompareAndDelete`,
    :class:`~huey.protocols.SupportsPeekMany`, :class:`~huey.protocols.SupportsDeleteData`,
    :class:`~huey.protocols.SupportsFlushAll`, :class:`~huey.protocols.SupportsSemaphores`,
    :class:`~huey.protocols.SupportsBlockingDequeue`, :class:`~huey.protocols.SupportsClose`,
    :class:`~huey.protocols.SupportsResultNotification` and
    :class:`~huey.protocols.SupportsScheduleTransfer`. Every multi-key operation is one
    Lua script, hence atomic and one round trip.

    Give at most one of ``connection_pool``, ``url`` and ``host``/``port``; with none of
    them the storage connects to ``localhost:6379``. Redis errors surface as
    :class:`~huey.exceptions.StorageError` (:class:`RedisConnectionFailed` when the server
    is unreachable or refuses the credentials), naming the server without its password.

    Args:
        name: the queue's name; every key starts with ``huey:{<name>}:``.
        blocking: ``dequeue`` and ``reserve`` wait up to ``read_timeout`` seconds for an
            item instead of returning ``None`` at once.
        read_timeout: seconds a blocking read waits.
        connection_pool: a ready ``redis.ConnectionPool``.
        url: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` (TLS) or
            ``unix:///path/to/socket?db=0``.
        client_name: the name these connections report in ``CLIENT LIST``.
        notify_result: storing a result wakes readers waiting on it at once (see
            :meth:`wait_result`) instead of them polling.
        notify_result_ttl: seconds an unclaimed wake-up token is kept.
        host: the server's host name.
        port: the server's port.
        password: the password (``AUTH``); with ``username`` an ACL user's password.
        db: the database number.
        username: the ACL user (Redis 6+).
        cluster: connect to a Redis Cluster through ``url`` (``redis://`` or
            ``rediss://``) or ``host``/``port`` of any of its nodes, with redis-py's
            ``RedisCluster`` (made on first use). The queue lives on the master owning
            its hash tag's slot. Takes no ``connection_pool`` and no database but 0.
        connection_params: other ``redis.Redis`` arguments (``ssl=True``,
            ``ssl_ca_certs=...``, ``socket_timeout=...``, ``retry=...``); with
            ``cluster=True``, ``redis.cluster.RedisCluster`` arguments.

    Raises:
        ConfigurationError: conflicting connection options, a name containing ``{`` or
            ``}``, or a non-positive ``read_timeout``.
    """

    priority: ClassVar[bool] = False
    sends_settles_ahead: bool = True
    """:meth:`send_settle_and_reserve` returns before the reply (workers use it)."""

    def __init__(
        self,
        name: str = "huey",
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        notify_result: bool = False,
        notify_result_ttl: float = 60,
        *,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        username: str | None = None,
        cluster: bool = False,
        **connection_params: Any,
    ) -> None:
        if not name or "{" in name or "}" in name:
            raise ConfigurationError(
                f"Redis queue name must be non-empty without '{{' or '}}', got {name!r} "
                "(braces would break the key hash tag)"
            )
        if read_timeout <= 0:
            raise ConfigurationError(f"read_timeout must be positive, got {read_timeout!r}")
        if notify_result_ttl <= 0:
            raise ConfigurationError("notify_result_ttl must be positive")
        self.name: str = name
        self.blocking: bool = blocking
        self.read_timeout: float = float(read_timeout)
        self.notify_result: bool = notify_result
        self.notify_result_ttl: float = float(notify_result_ttl)
        prefix = f"huey:{{{name}}}:"
        self._prefix = prefix
        self._queue = prefix + "queue"
        self.cluster: bool = cluster
        self.url: str
        given = {"host": host, "port": port, "password": password, "db": db, "username": username}
        if cluster:
            self._client, self.url = self._connect_cluster(
                connection_pool, url, client_name, given, connection_params, self._queue
            )
        else:
            self._client, self.url = self._connect(
                connection_pool, url, client_name, given, connection_params
            )
        self._seq = prefix + "seq"
        self._wake = prefix + "wake"
        self._schedule = prefix + "schedule"
        self._schedule_wake = prefix + "schedule:wake"
        self._inflight = prefix + "inflight"
        self._leases = prefix + "leases"
        self._dead = prefix + "dead"
        self._dead_reason = prefix + "dead:reason"
        self._dead_index = prefix + "dead:index"
        self._results = prefix + "results"
        self._results_ttl = prefix + "results:ttl"
        self._counters = prefix + "counters"
        # The reserve script's keys (the settle-and-reserve script's first six).
        self._reserve_keys = (
            self._queue,
            self._inflight,
            self._leases,
            self._results,
            self._results_ttl,
            self._dead,
        )
        self._scripts = _ZSET_SCRIPTS if self.priority else _LIST_SCRIPTS
        self._config_denied = False  # see _bulk_limit
        self._local = threading.local()  # see _held_connection

    @staticmethod
    def _connect(
        pool: redis.ConnectionPool | None,
        url: str | None,
        client_name: str | None,
        explicit: dict[str, Any],
        params: dict[str, Any],
    ) -> tuple[_Client, str]:
        given = {key: value for key, value in explicit.items() if value is not None}
        if pool is not None:
            if url is not None or given or params or client_name is not None:
                raise ConfigurationError(
                    "give either connection_pool= or connection options (url, host, port, "
                    "password, db, client_name...), not both: configure the pool instead"
                )
            client = redis.Redis(connection_pool=pool)
            return cast("_Client", client), _describe(pool.connection_kwargs)
        if client_name is not None:
            params["client_name"] = client_name
        params.setdefault("retry", _default_retry())
        if url is not None:
            if "host" in given or "port" in given:
                raise ConfigurationError("give either url= or host=/port=, not both")
            try:
                url_pool = redis.ConnectionPool.from_url(url, **given, **params)  # pyright: ignore[reportUnknownMemberType]  # redis-py leaves **kwargs unannotated
            except ValueError as exc:
                raise ConfigurationError(f"invalid Redis url {_redact(url)!r}: {exc}") from exc
            # from_pool: closing the client also closes the pool made here.
            client = redis.Redis.from_pool(url_pool)
            return cast("_Client", client), _redact(url)
        client = redis.Redis(**given, **params)
        return cast("_Client", client), _describe(client.connection_pool.connection_kwargs)

    @staticmethod
    def _connect_cluster(
        pool: redis.ConnectionPool | None,
        url: str | None,
        client_name: str | None,
        explicit: dict[str, Any],
        params: dict[str, Any],
        key: str,
    ) -> tuple[_Client, str]:
        """A Redis Cluster client reaching the cluster through ``url`` or ``host``/``port``.

        Any node of the cluster will do: the client learns the others from it.
        """
        given = {name: value for name, value in explicit.items() if value is not None}
        if pool is not None:
            raise ConfigurationError(
                "cluster=True does not take a connection_pool: give url= or host=/port= "
                "of any node of the cluster"
            )
        if given.pop("db", 0) != 0:
            raise ConfigurationError("Redis Cluster has only database 0: do not give db=")
        if url is not None and ("host" in given or "port" in given):
            raise ConfigurationError("give either url= or host=/port=, not both")
        if url is not None and urlsplit(url).scheme not in ("redis", "rediss"):
            raise ConfigurationError(
                f"cluster=True needs a redis:// or rediss:// url of a node, got {_redact(url)!r}"
            )
        if url is not None and urlsplit(url).path.strip("/") not in ("", "0"):
            raise ConfigurationError("Redis Cluster has only database 0: drop it from the url")
        if client_name is not None:
            params["client_name"] = client_name
        params.setdefault("retry", _default_retry())
        if url is not None:
            described = _redact(url)

            def connect() -> _Cluster:
                return cast("_Cluster", RedisCluster.from_url(url, **given, **params))

        else:
            given.setdefault("host", "localhost")
            given.setdefault("port", 6379)
            described = _describe(given)

            def connect() -> _Cluster:
                return cast("_Cluster", RedisCluster(**given, **params))

        return _ClusterClient(connect, key), described

    @override
    def __repr__(self) -> str:
        cluster = " (cluster)" if self.cluster else ""
        return f"<{type(self).__name__} {self.name!r} at {self.url}{cluster}>"

    # --- plumbing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, size: int = 0) -> Generator[None]:
        """Turn redis-py exceptions into huey's (see :meth:`_translate`)."""
        try:
            yield
        except (RedisError, RedisClusterException) as exc:
            raise self._translate(exc, size) from exc

    def _translate(self, exc: RedisError | RedisClusterException, size: int) -> Exception:
        """huey's exception for a redis-py one, naming the server (never its password).

        ``size`` is the longest argument of the command (see :func:`_largest`): a server
        refuses one over its limit, and the error must then say so.
        """
        if isinstance(exc, (AuthenticationError, AuthorizationError)):
            return RedisConnectionFailed(
                f"Redis at {self.url} refused the credentials: {exc}", storage=self.url
            )
        if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
            # A server sent a value far over its limit replies with an error and closes
            # the connection while the value is still being written; redis-py sees a
            # reset, retries, and gives up. If the server still answers PING, the value
            # is what it refused, not the network.
            if size > _MIN_BULK_LIMIT and isinstance(exc, RedisConnectionError) and self._answers():
                return self._too_large(
                    size,
                    None,
                    "over what the server accepts (proto-max-bulk-len or "
                    "client-query-buffer-limit): it closed the connection while receiving "
                    "the value, yet answers PING",
                )
            return RedisConnectionFailed(
                f"cannot reach Redis at {self.url}: {exc}", storage=self.url
            )
        if isinstance(exc, (ClusterDownError, TryAgainError, RedisClusterException)):
            # A cluster that cannot serve the queue's slot now (its node is down, or the
            # slot is moving): as unreachable as a single server that is down.
            return RedisConnectionFailed(
                f"Redis Cluster at {self.url} cannot serve queue {self.name!r}: {exc}",
                storage=self.url,
            )
        if isinstance(exc, OutOfMemoryError):
            return StorageFull(
                f"Redis at {self.url} is out of memory (maxmemory): {exc}", storage=self.url
            )
        if isinstance(exc, ResponseError):
            if "invalid bulk length" in str(exc):
                return self._too_large(
                    size, None, f"over the server's limit (proto-max-bulk-len): {exc}"
                )
            if str(exc).startswith(("WRONGPASS", "NOAUTH")):
                return RedisConnectionFailed(
                    f"Redis at {self.url} refused the credentials: {exc}", storage=self.url
                )
            if isinstance(exc, NoPermissionError) or str(exc).startswith("NOPERM"):
                return StorageError(
                    f"Redis at {self.url} denied a command to this user (ACL): {exc}",
                    storage=self.url,
                )
            return StorageError(f"Redis at {self.url} failed: {exc}", storage=self.url)
        return StorageError(f"Redis at {self.url} failed: {exc}", storage=self.url)

    def _run(self, script: _Script, keys: Sequence[str], *args: _Arg) -> object:
        size = self._check_size(args)
        with self._errors(size):
            return script(self._client, keys, *args)

    def _run_held(self, script: _Script, keys: Sequence[str], size: int, *args: _Arg) -> object:
        """Run ``script`` on this thread's own connection, past redis-py's client layer.

        For the hot paths (enqueue, the worker's settle-and-reserve): the pool, retry and
        event layers of ``redis.Redis`` cost about as much client CPU as the round trip.
        Anything unusual (the script not loaded yet, a broken connection) goes the
        ordinary way, whose retries may run the script a second time: only idempotent
        scripts may come here. Under ``cluster=True`` the connection is one to the master
        owning the queue's slot; a reply saying the slot is elsewhere or unavailable
        (``MOVED``, ``ASK``, ``TRYAGAIN``, ``CLUSTERDOWN``: the script did not run) or a
        broken connection drops it, and the ordinary way, ``RedisCluster``, follows the
        slot to its new owner; the next call takes a connection to that owner.
        """
        # A plain try (not the _errors context manager): this runs once per task.
        try:
            replies = self._held_replies([_pack_evalsha(script.sha, tuple(keys), args)])
            if replies is not None:
                return replies[0]
            return script(self._client, keys, *args)
        except (RedisError, RedisClusterException) as exc:
            raise self._translate(exc, size) from exc

    def _run_after_wait(
        self, wait: bytes, script: _Script, keys: tuple[str, ...], args: tuple[_Arg, ...]
    ) -> object:
        """Send the blocking command ``wait`` and ``script`` in one write; the script's reply.

        The server holds the script until the wait ends (woken, or timed out), then runs
        it at once: a woken client has what the script read without a round trip of its
        own. When the held connection cannot take them (no pool, a broken connection, the
        script not loaded yet), the script runs the ordinary way, without the wait, and
        the caller looks again later.
        """
        try:
            replies = self._held_replies([wait, _pack_evalsha(script.sha, keys, args)])
            return replies[1] if replies is not None else script(self._client, keys, *args)
        except (RedisError, RedisClusterException) as exc:
            raise self._translate(exc, 0) from exc

    def _held_replies(
        self, commands: list[bytes], *, failures: list[ResponseError] | None = None
    ) -> list[object] | None:
        """Send packed ``commands`` in one write on this thread's connection; their replies.

        ``None`` when the caller must take the ordinary way: there is no pool, the
        connection broke (it is dropped; the next call takes one afresh), or a reply says
        a command did not run (``NOSCRIPT``; under a cluster ``MOVED``, ``ASK``,
        ``TRYAGAIN``, ``CLUSTERDOWN``, which also drop the connection). Every reply is
        read, errors included, so the connection stays in step with the server. With
        ``failures``, the other error replies are appended to it (their replies are
        ``None``) instead of raised, for a caller whose later command's reply must not be
        dropped.

        Raises:
            ResponseError: a command failed (the first such error), unless ``failures``.
        """
        connection = self._held_connection()
        if connection is None:
            return None
        held: _Held = self._local.held
        if held.unread:
            self._read_unread(held)  # replies of settles sent earlier come first
            if self._local.held is not held:
                return None  # the connection broke meanwhile
        replies: list[object] = []
        errors: list[ResponseError] = []
        try:
            connection.send_packed_command(commands)
            for _ in commands:
                try:
                    replies.append(connection.read_response())
                except ResponseError as exc:  # an error reply, read whole
                    errors.append(exc)
                    replies.append(None)
        except (RedisConnectionError, RedisTimeoutError):
            self._drop_held(held)
            return None
        for error in errors:
            if isinstance(error, NoScriptError):
                return None  # not run: the ordinary call loads the script first
            if isinstance(error, AskError | TryAgainError | ClusterDownError):
                self._local.held = None  # not run; its finalizer gives it back
                return None
        if failures is not None:
            failures += errors
        elif errors:
            raise errors[0]
        return replies

    def _held_connection(self) -> _Connection | None:
        """A pool connection this thread keeps for :meth:`_run_held` (``None``: no pool).

        Under ``cluster=True``, a connection of the pool of the master owning the queue's
        slot when it is taken.

        Taken once per thread and process (a forked child takes its own), and given back
        to the pool when the thread ends.
        """
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None and held.forks == _forks:
            return held.connection
        pool: _Pool | None = getattr(self._client, "connection_pool", None)
        if pool is None:
            return None
        try:
            connection = pool.get_connection()
        except TypeError:  # redis-py before 5.3 wants a command name (and ignores it)
            connection = pool.get_connection("EVALSHA")
        held = _Held(_forks, connection)
        # The thread's locals are dropped when it ends: the connection then goes back.
        weakref.finalize(held, pool.release, connection)
        self._local.held = held
        return connection

    def _command(self, *args: _Arg) -> object:
        size = self._check_size(args)
        with self._errors(size):
            return self._client.execute_command(*args)

    def _check_size(self, args: Sequence[_Arg]) -> int:
        """The longest argument's size; :class:`MessageTooLarge` if the server would refuse it.

        Sending a value far over the server's limit does not fail cleanly: the server
        closes the connection mid-write, and redis-py retries it (for seconds, sending
        it again each time) before reporting the server unreachable. So for an argument
        over 1 MiB, ask the server's limit first (one round trip) and refuse without
        sending. When the server does not tell (``CONFIG`` denied or renamed),
        :meth:`_errors` still reports the refusal as too large, after redis-py's retries.
        """
        size = _largest(args)
        if size > _MIN_BULK_LIMIT:
            limit = self._bulk_limit()
            if limit is not None and size > limit:
                raise self._too_large(
                    size, limit, f"over the server's limit of {limit} bytes (proto-max-bulk-len)"
                )
        return size

    def _bulk_limit(self) -> int | None:
        """The server's ``proto-max-bulk-len``, or ``None`` when it does not say."""
        if self._config_denied:
            return None
        with self._errors():
            try:
                reply = self._client.execute_command("CONFIG", "GET", "proto-max-bulk-len")
            except ResponseError:
                # CONFIG is denied (the ACL docs/redis.rst recommends denies @dangerous)
                # or renamed by a managed service. Asking again would only fill the
                # server's ACL LOG with denials.
                self._config_denied = True
                return None
        value = _config_dict(reply).get("proto-max-bulk-len", "")
        return int(value) if value.isdigit() else None

    def _answers(self) -> bool:
        """Whether the server answers PING (after a connection error)."""
        try:
            self._client.execute_command("PING")
        except RedisError:
            return False
        return True

    def _too_large(self, size: int, limit: int | None, why: str) -> MessageTooLarge:
        return MessageTooLarge(
            f"message too large for Redis at {self.url}: {size} bytes, {why}; nothing "
            "was stored. Keep large payloads elsewhere and pass a reference to them, or "
            "raise the server's limit.",
            size=size or None,
            limit=limit,
            storage=self.url,
        )

    def _scan(self, pattern: str) -> list[bytes]:
        keys: list[bytes] = []
        cursor: object = 0
        with self._errors():
            while True:
                reply = _as_list(
                    self._client.execute_command("SCAN", _as_int(cursor), "MATCH", pattern)
                )
                cursor = reply[0]
                keys.extend(key for key in map(_as_bytes, _as_list(reply[1])) if key)
                if _as_int(cursor) == 0:
                    return keys

    def _pattern(self, middle: str) -> str:
        # Escape glob characters of the name so SCAN matches this queue's keys only.
        escaped = "".join("\\" + c if c in "*?[]\\" else c for c in self._prefix)
        return escaped + middle + "*"

    def _delete(self, keys: Sequence[str | bytes]) -> None:
        for start in range(0, len(keys), 500):
            self._command("UNLINK", *keys[start : start + 500])

    # --- connection checks ---------------------------------------------------------------

    def check_connection(self) -> None:
        """Ping the server; the consumer calls this at startup to fail fast.

        Raises:
            RedisConnectionFailed: unreachable server or refused credentials (the message
                names the URL without its password).
            ConfigurationError: a priority storage on a server older than Redis 5.
        """
        self._command("PING")
        if self.priority:
            try:
                info = self._command("INFO", "server")
            except StorageError:  # INFO is in ACL category @dangerous: do not insist
                return
            if isinstance(info, dict):
                version = str(cast("dict[str, object]", info).get("redis_version", "0"))
                if int(version.split(".")[0] or 0) < 5:
                    raise ConfigurationError(
                        f"{type(self).__name__} needs Redis 5.0 or newer; {self.url} runs {version}"
                    )

    def persistence_warning(self) -> str | None:
        """A warning to log at startup when the server does not persist its data.

        Returns:
            The warning text when both AOF and RDB snapshots are off (a restart then
            loses every queued task), ``None`` when data is persisted or the server does
            not allow ``CONFIG GET`` (managed services often forbid it).
        """
        try:
            reply = self._command("CONFIG", "GET", "appendonly")
            save = self._command("CONFIG", "GET", "save")
        except StorageError:
            return None
        settings = {**_config_dict(reply), **_config_dict(save)}
        if settings.get("appendonly", "no") == "no" and not settings.get("save", "").strip():
            return (
                f"Redis at {self.url} has persistence off (appendonly no, save ''): a "
                "restart of Redis loses every queued and scheduled task. Turn on AOF "
                "(appendonly yes) to keep them."
            )
        return None

    def close(self) -> None:
        """Close this storage's connections (they reopen on next use).

        A ``connection_pool`` given by the caller stays theirs to close.
        """
        self._client.close()

    # --- queue ---------------------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None = None, /) -> None:
        """Append ``data`` to the queue (one round trip).

        Raises:
            ConfigurationError: a non-zero ``priority`` on a storage without priorities.
        """
        self._enqueue(data, priority, "")

    def _queue_priority(self, priority: int | None) -> int:
        """``priority`` checked (``None`` counts as 0) and refused where unsupported."""
        value = _check_priority(priority)
        if value and not self.priority:
            raise ConfigurationError(
                f"{type(self).__name__} does not support task priorities (got priority="
                f"{value}); use PriorityRedisHuey / PriorityRedisStorage (Redis 5+)"
            )
        return value

    def _enqueue(self, data: bytes, priority: int | None, suffix: str) -> None:
        # The call id makes the script idempotent: redis-py re-sends a call whose reply
        # it lost with the same arguments, and the repeat then queues nothing.
        keys = (self._queue, self._wake, self._seq, self._recent())
        value = self._queue_priority(priority)
        size = len(data)
        if size > _MIN_BULK_LIMIT:
            size = self._check_size((data, suffix))
        self._run_held(self._scripts["enqueue"], keys, size, data, value, suffix, _TOKENS.next())

    def _recent(self) -> str:
        """The key marking the calls of the current window (see ``_RECENT_WINDOW``)."""
        return f"{self._prefix}recent:{self._window()}"

    @staticmethod
    def _window() -> int:
        return int(time.time() // _RECENT_WINDOW)

    def enqueue_many(self, items: Sequence[tuple[bytes, int | None, Sequence[str]]], /) -> None:
        """Enqueue ``(data, priority, keys)`` items as :meth:`enqueue_keyed` would, in order.

        One script call per batch of 1,000 items, atomic and idempotent as a whole (a
        batch re-sent after a lost reply queues nothing twice).
        """
        script = self._scripts["enqueue_many"]
        keys = (self._queue, self._wake, self._seq, self._recent())
        for start in range(0, len(items), _ENQUEUE_BATCH):
            args: list[_Arg] = [_TOKENS.next()]
            size = 0
            for data, priority, watched in items[start : start + _ENQUEUE_BATCH]:
                args += (data, self._queue_priority(priority), _keys_suffix(watched))
                size = max(size, len(data))
            if size > _MIN_BULK_LIMIT:
                size = self._check_size(args)
            self._run_held(script, keys, size, *args)

    def enqueue_keyed(self, data: bytes, priority: int | None, keys: Sequence[str], /) -> None:
        """Like :meth:`enqueue`; :meth:`reserve` returns the values of ``keys`` with the lease.

        huey names each task's revocation flags, so a worker learns whether the task is
        revoked from the reservation itself (one round trip instead of three).

        Raises:
            ConfigurationError: a non-zero ``priority`` on a storage without priorities.
        """
        self._enqueue(data, priority, _keys_suffix(keys))

    def dequeue(self) -> bytes | None:
        """Remove and return the next item; blocks up to ``read_timeout`` if ``blocking``.

        This is the destructive, at-most-once read of the original huey; prefer
        :meth:`reserve`.
        """
        if self.priority and self.blocking:
            reply = _as_list(self._command("BZPOPMIN", self._queue, self.read_timeout))
            envelope = _as_bytes(reply[1]) if reply else None
        elif self.priority:
            # redis-py turns the reply into [(member, score)]; raw RESP is [member, score]
            reply = _as_list(self._command("ZPOPMIN", self._queue))
            head: object = reply[0] if reply else None
            first = list(cast("tuple[object, ...]", head)) if isinstance(head, tuple) else reply
            envelope = _as_bytes(first[0]) if first else None
        elif self.blocking:
            reply = _as_list(self._command("BRPOP", self._queue, self.read_timeout))
            envelope = _as_bytes(reply[1]) if reply else None
        else:
            envelope = _as_bytes(self._command("RPOP", self._queue))
        return None if envelope is None else _strip(envelope)

    def queue_size(self) -> int:
        """Number of items waiting in the queue (leased items not included)."""
        return _as_int(self._command("ZCARD" if self.priority else "LLEN", self._queue))

    def enqueued_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items in the queue in dequeue order, at most ``limit`` of them."""
        if limit is not None and limit <= 0:
            return []
        if self.priority:
            stop = -1 if limit is None else limit - 1
            reply = _as_list(self._command("ZRANGE", self._queue, 0, stop))
        else:
            start = 0 if limit is None else -limit
            reply = _as_list(self._command("LRANGE", self._queue, start, -1))
            reply.reverse()
        return [_strip(item) for item in map(_as_bytes, reply) if item is not None]

    def flush_queue(self) -> None:
        """Remove every item from the queue, leased items included (their tokens go stale)."""
        self._command("DEL", self._queue, self._wake, self._inflight, self._leases)

    # --- leases --------------------------------------------------------------------------

    def reserve(self, now: float, lease_seconds: float, /) -> Lease | None:
        """Lease the next item until ``now + lease_seconds`` (one round trip when queued).

        When the queue is empty and ``blocking`` is set, waits up to ``read_timeout``
        seconds for an enqueue to wake it, then tries once more (the lease then still ends
        at ``now + lease_seconds``). When this thread's last reservation (here, or with a
        settle) found the queue empty, it waits at once: whatever was queued since then
        left a wake-up (every way into the queue leaves one when there is none), so an
        idle worker makes one round trip per ``read_timeout``, not two.
        """
        if not (self.blocking and self._found_empty()):
            lease = self._reserve(now, lease_seconds)
            if lease is not None or not self.blocking:
                self._note_found_empty(lease is None)
                return lease
        if self._held_connection() is None:
            self._command("BRPOP", self._wake, self.read_timeout)
            return self._reserve(now, lease_seconds)
        lease = self._wait_then_reserve(now, lease_seconds)
        self._note_found_empty(lease is None)
        return lease

    def _found_empty(self) -> bool:
        """Whether this thread's last reservation on its held connection found the queue
        empty (a forked child, or a new connection, starts afresh)."""
        held: _Held | None = getattr(self._local, "held", None)
        return held is not None and held.forks == _forks and held.found_empty

    def _note_found_empty(self, empty: bool) -> None:
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None:
            held.found_empty = empty

    def _reserve_call(self, deadline: float) -> tuple[str, tuple[str, ...], tuple[_Arg, ...]]:
        """A new token, and the keys and arguments of the reserve script leasing under it.

        The token is made once per reservation: when redis-py retries the script after a
        lost reply it sends this same token, and the script then returns the lease it
        already made under it instead of leasing a second item.
        """
        token = _TOKENS.next()
        return token, self._reserve_keys, (token, _number(deadline), self._watch_prefix())

    def _reserve(self, now: float, lease_seconds: float) -> Lease | None:
        deadline = now + lease_seconds
        token, keys, args = self._reserve_call(deadline)
        # Idempotent (a repeat under the same token gets the same lease): the held path.
        reply = self._run_held(self._scripts["reserve"], keys, 0, *args)
        return self._lease_of(token, deadline, reply)

    def _wait_then_reserve(self, now: float, lease_seconds: float) -> Lease | None:
        """Wait up to ``read_timeout`` for an enqueue's wake-up, then reserve: one round trip.

        Both commands go in one write. The server holds the second until the BRPOP ends
        (woken, or timed out), then runs it at once: a woken worker has its lease without
        a round trip of its own, as the original's BRPOP of the message itself does.
        """
        deadline = now + lease_seconds
        token, keys, args = self._reserve_call(deadline)
        wait = _pack_command("BRPOP", self._wake, _number(self.read_timeout))
        # Run without the wait, an empty queue makes the worker ask again; a re-sent call's
        # token gets back the lease a lost reply held.
        reply = self._run_after_wait(wait, self._scripts["reserve"], keys, args)
        return self._lease_of(token, deadline, reply)

    @staticmethod
    def _lease_of(token: str, deadline: float, reply: object) -> Lease | None:
        """The lease a reserve script's reply describes (``None``: nothing was queued)."""
        items = _as_list(reply)
        envelope = _as_bytes(items[0]) if items else None
        return None if envelope is None else _lease(token, deadline, envelope, items)

    def _watch_prefix(self) -> str:
        """How the reserve script finds a stored value: '' means the results HASH."""
        return ""

    def extend_lease(self, token: str, now: float, lease_seconds: float, /) -> bool:
        """Push the lease's deadline to ``now + lease_seconds``; ``False`` if stale."""
        reply = self._run(
            _EXTEND_S, (self._inflight, self._leases), token, _number(now + lease_seconds)
        )
        return _as_int(reply) == 1

    def ack(self, token: str, /) -> bool:
        """Delete the leased item; ``False`` (nothing deleted) if the token is stale."""
        return _as_int(self._run(_ACK_S, (self._inflight, self._leases), token)) == 1

    def ack_with_result(self, token: str, key: str, value: bytes, /) -> bool:
        """Acknowledge the lease and store its task's result, atomically, in one round trip.

        Like :meth:`ack` followed by :meth:`put_result`, except that with a stale token
        nothing is stored either: the worker that now holds the message records the
        outcome, so a result is never written by a worker that lost its lease.

        Returns:
            Whether the token was current (and the result stored).
        """
        return self.settle(token, (key, value), ())

    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        """Store ``result``, delete ``discard`` and acknowledge, atomically, in one round trip.

        The result is stored as :meth:`put_result` would (waking its readers with
        ``notify_result``). With a stale token nothing is stored, deleted or acknowledged:
        the worker that now holds the message records the outcome.

        Returns:
            Whether the token was current.
        """
        key, value = result if result is not None else ("", b"")
        keys = (self._inflight, self._leases, self._results, self._results_ttl)
        reply = self._run(
            _H_SETTLE_S,
            (*keys, self._done_key(key), self._recent()),
            token,
            "1" if result is not None else "0",
            key,
            value,
            self._notify_ms(),
            *discard,
        )
        return _as_int(reply) == 1

    def settle_and_reserve(
        self,
        token: str,
        result: tuple[str, bytes] | None,
        discard: Sequence[str],
        now: float,
        lease_seconds: float,
        /,
    ) -> tuple[bool, Lease | None]:
        """:meth:`settle` the lease ``token``, then lease the next item: one round trip.

        The worker's hot path. The reservation does not block: with an empty queue the
        caller waits with :meth:`reserve`.

        Returns:
            Whether ``token`` was current (as :meth:`settle`) and the next lease, if any.
        """
        flight = self._settle_reserve_call(token, result, discard, now, lease_seconds)
        size = self._result_size(result, flight.args)
        flight.reply = self._run_held(flight.script, flight.keys, size, *flight.args)
        return self._finish_settle(flight)

    def send_settle_and_reserve(
        self,
        token: str,
        result: tuple[str, bytes] | None,
        discard: Sequence[str],
        now: float,
        lease_seconds: float,
        /,
    ) -> RedisSettleInFlight:
        """Send :meth:`settle_and_reserve` and return before its reply comes.

        A busy worker runs its next task meanwhile and reads the reply afterwards
        (:meth:`RedisSettleInFlight.finish`), so the round trip and the script's time overlap
        the task's run instead of adding to it. The script runs when the server gets it:
        the result is readable as soon as with :meth:`settle_and_reserve`. Any other call
        on this thread's connection reads the reply first and keeps it for ``finish``.
        When the settle cannot be sent (no pool, a broken connection), ``finish`` runs it
        the ordinary way.
        """
        flight = self._settle_reserve_call(token, result, discard, now, lease_seconds)
        return self._send(flight, self._result_size(result, flight.args))

    def send_reserve(self, now: float, lease_seconds: float, /) -> RedisSettleInFlight:
        """Send :meth:`reserve` (not blocking) and return before its reply comes.

        Read the lease with :meth:`RedisSettleInFlight.finish` (its first value is always
        true), on this thread; see :meth:`send_settle_and_reserve`.
        """
        deadline = now + lease_seconds
        token, keys, args = self._reserve_call(deadline)
        return self._send(_Flight(self._scripts["reserve"], keys, args, token, deadline), 0)

    def _send(self, flight: _Flight, size: int) -> RedisSettleInFlight:
        """Send ``flight`` on this thread's connection without reading the reply."""
        handle = RedisSettleInFlight(
            flight.next_token, functools.partial(self._finish_settle, flight)
        )
        connection = self._held_connection()
        if size > _MIN_BULK_LIMIT or connection is None:
            # Possibly too large (the waiting way says so), or no pool: run it now.
            flight.reply = self._run_held(flight.script, flight.keys, size, *flight.args)
            return handle
        held: _Held = self._local.held
        try:
            connection.send_packed_command(
                [_pack_evalsha(flight.script.sha, flight.keys, flight.args)]
            )
        except (RedisConnectionError, RedisTimeoutError):
            self._drop_held(held)  # finish() runs it the ordinary way
            return handle
        flight.held = held
        held.unread.append(flight)
        return handle

    def _settle_reserve_call(
        self,
        token: str,
        result: tuple[str, bytes] | None,
        discard: Sequence[str],
        now: float,
        lease_seconds: float,
    ) -> _Flight:
        """The settle-and-reserve script's keys and arguments, leasing under a new token."""
        new_token = _TOKENS.next()
        deadline = now + lease_seconds
        notify_ms = self._notify_ms()
        keys: tuple[str, ...] = (*self._reserve_keys, self._recent())
        args: list[_Arg] = [token, new_token, _number(deadline), notify_ms, len(discard), *discard]
        if result is not None:
            args += result
            if notify_ms:
                keys += (self._done_key(result[0]),)
        return _Flight(self._scripts["settle_reserve"], keys, tuple(args), new_token, deadline)

    def _result_size(self, result: tuple[str, bytes] | None, args: tuple[_Arg, ...]) -> int:
        """The longest argument's size, measured only when the result could be too large."""
        size = len(result[1]) if result is not None else 0
        return self._check_size(args) if size > _MIN_BULK_LIMIT else size

    def _finish_settle(self, flight: _Flight) -> tuple[bool, Lease | None]:
        """What a settle-and-reserve's reply says (read first if still unread)."""
        if flight.held is not None and flight in flight.held.unread:
            self._read_unread(flight.held, flight)
        error = flight.error
        if error is not None:
            flight.error = None  # a later finish() sends the call again
            raise self._translate(error, 0) from error
        reply = flight.reply
        if reply is _UNREAD:  # never sent, or its reply was lost: safe to run again
            reply = self._run(flight.script, flight.keys, *flight.args)
        items = _as_list(reply)
        if flight.script is self._scripts["reserve"]:
            settled, reserved = True, items
        else:
            settled = _as_int(items[0]) == 1
            reserved = _as_list(items[1]) if len(items) > 1 else []
        envelope = _as_bytes(reserved[0]) if reserved else None
        self._note_found_empty(envelope is None)  # see reserve()
        if envelope is None:
            return settled, None
        return settled, _lease(flight.next_token, flight.deadline, envelope, reserved)

    def _read_unread(self, held: _Held, until: _Flight | None = None) -> None:
        """Read the replies of the calls sent on ``held``, up to ``until`` (or all).

        Each reply is kept in its flight. A reply saying the script did not run
        (``NOSCRIPT``; under a cluster, the slot moved) or a broken connection leaves the
        flight unread: its ``finish`` runs it the ordinary way.
        """
        moved = False
        while held.unread:
            flight = held.unread.pop(0)
            try:
                flight.reply = held.connection.read_response()
            except NoScriptError:
                pass  # not run: finish() loads the script and runs it the ordinary way
            except (AskError, TryAgainError, ClusterDownError):
                moved = True  # not run here: finish() follows the slot
            except ResponseError as exc:  # an error reply, read whole
                flight.error = exc
            except (RedisConnectionError, RedisTimeoutError):
                self._drop_held(held)
                return
            if flight is until and not moved:
                return
        if moved and getattr(self._local, "held", None) is held:
            self._local.held = None  # not run there; its finalizer gives it back

    def _drop_held(self, held: _Held) -> None:
        """Close a broken held connection; the thread's next call takes one afresh."""
        held.connection.disconnect()
        held.unread.clear()
        if getattr(self._local, "held", None) is held:
            self._local.held = None

    def release(self, token: str, /) -> bool:
        """Put the leased item back at the head of the queue, uncounted; ``False`` if stale.

        The delivery that is given back does not count towards ``max_deliveries``.
        """
        reply = self._run(
            self._scripts["release"],
            (self._inflight, self._leases, self._queue, self._wake),
            token,
        )
        return _as_int(reply) == 1

    def dead_letter(self, token: str, reason: str, now: float, /) -> bool:
        """Move the leased item to the dead letters; ``False`` if the token is stale."""
        keys = (self._inflight, self._leases, self._dead, self._dead_reason, self._dead_index)
        return _as_int(self._run(_DEAD_LETTER_S, keys, token, reason, _number(now))) == 1

    def requeue_expired(self, now: float, max_deliveries: int, /) -> int:
        """Return leases whose deadline is before ``now`` to the head of the queue.

        An item already delivered ``max_deliveries`` times goes to the dead letters
        instead. Handles at most 1000 leases per call.

        Returns:
            How many leases were requeued or dead-lettered.
        """
        keys = (
            self._inflight,
            self._leases,
            self._queue,
            self._wake,
            self._dead,
            self._dead_reason,
            self._dead_index,
        )
        script = self._scripts["requeue_expired"]
        return _as_int(self._run(script, keys, _number(now), max_deliveries, _REAP_BATCH))

    def leased_count(self) -> int:
        """Number of items currently leased (in flight)."""
        return _as_int(self._command("HLEN", self._inflight))

    def dead_letters(self, limit: int | None = None, /) -> Sequence[DeadLetter]:
        """The dead letters, oldest first, at most ``limit`` of them."""
        if limit is not None and limit <= 0:
            return []
        stop = -1 if limit is None else limit - 1
        keys = (self._dead, self._dead_reason, self._dead_index)
        flat = _as_list(self._run(_DEAD_LETTERS_S, keys, stop))
        letters: list[DeadLetter] = []
        for i in range(0, len(flat), 4):
            envelope = _as_bytes(flat[i + 2]) or b"0:0:0|"
            deliveries, data = _unwrap(envelope)
            letters.append(
                DeadLetter(
                    id=_as_str(flat[i]),
                    data=data,
                    reason=_as_str(flat[i + 3]),
                    deliveries=deliveries,
                    timestamp=float(_as_str(flat[i + 1])),
                )
            )
        return letters

    def requeue_dead_letter(self, letter_id: str, /) -> bool:
        """Put a dead letter back with a fresh delivery count; whether it existed.

        It goes to the head of a FIFO queue, or back to its place among its priority.
        """
        keys = (self._dead, self._dead_reason, self._dead_index, self._queue, self._wake)
        return _as_int(self._run(self._scripts["requeue_dead"], keys, letter_id)) == 1

    def purge_dead_letters(self) -> int:
        """Delete every dead letter; return how many there were."""
        count = _as_int(self._command("ZCARD", self._dead_index))
        self._command("DEL", self._dead, self._dead_reason, self._dead_index)
        return count

    # KEYS: dead, dead_reason, dead_index   ARGV: id
    _DELETE_DEAD: ClassVar[_Script] = _Script("""
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
""")

    def delete_dead_letter(self, letter_id: str, /) -> bool:
        """Delete one dead letter, in one script; whether it existed.

        Satisfies :class:`~huey.protocols.SupportsDeadLetterDeletion`. Like
        :meth:`requeue_dead_letter`, a call re-sent after a lost reply reports ``False``.
        """
        keys = (self._dead, self._dead_reason, self._dead_index)
        return _as_int(self._run(self._DELETE_DEAD, keys, letter_id)) == 1

    # KEYS: leases   ARGV: now.  Both counts from one read of the lease deadlines.
    _LEASE_COUNTS: ClassVar[_Script] = _Script("""
local expired = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[1])
return {redis.call('ZCARD', KEYS[1]) - expired, expired}
""")

    def lease_counts(self, now: float, /) -> LeaseCounts:
        """The leases in flight and expired at ``now`` (``SupportsLeaseCounts``)."""
        reply = _as_list(self._run(self._LEASE_COUNTS, (self._leases,), _number(now)))
        return LeaseCounts(in_flight=_as_int(reply[0]), expired=_as_int(reply[1]))

    # --- schedule ------------------------------------------------------------------------

    def add_to_schedule(self, data: bytes, timestamp: float, /) -> None:
        """Store ``data`` to become due at ``timestamp`` (UTC epoch seconds)."""
        keys = (self._schedule, self._seq, self._schedule_wake)
        self._run(_SCHEDULE_ADD_S, keys, _number(timestamp), data)

    def add_to_schedule_with_priority(
        self, data: bytes, timestamp: float, priority: int, /
    ) -> None:
        """Store ``data`` to become due at ``timestamp`` and to be queued with ``priority``.

        Raises:
            ValueError: ``priority`` is not an int.
            ConfigurationError: a non-zero ``priority`` on a storage without priorities.
        """
        value = self._queue_priority(priority)
        self._run(
            _SCHEDULE_ADD_PRIORITY_S,
            (self._schedule, self._seq, self._schedule_wake),
            _number(timestamp),
            data,
            value,
        )

    def move_due(
        self, timestamp: float, priority_of: Callable[[bytes], int | None], /
    ) -> Sequence[bytes]:
        """Move every item due at ``timestamp`` to the queue with one Lua script.

        Satisfies :class:`~huey.protocols.SupportsScheduleTransfer`: Redis runs the script
        atomically, so each item is in the schedule or in the queue, never in neither or
        both. Items keep the priority stored with them. Items scheduled without one (by an
        older huey) get priority 0 on :class:`RedisStorage`; on the priority variants the
        script first hands them back, ``priority_of`` is asked about them here, outside
        Redis, and the script runs again with the answers (after a few rounds of new such
        items appearing, the rest get priority 0).
        """
        script = _SCHEDULE_MOVE_ZSET_S if self.priority else _SCHEDULE_MOVE_LIST_S
        keys = (self._schedule, self._queue, self._wake, self._seq)
        known: list[_Arg] = []
        for attempt in range(_MOVE_ATTEMPTS):
            ask = self.priority and attempt < _MOVE_ATTEMPTS - 1
            reply = _as_list(
                self._run(script, keys, _number(timestamp), "" if ask else "0", *known)
            )
            members = [item for item in map(_as_bytes, _as_list(reply[1])) if item is not None]
            if _as_int(reply[0]) == 1:
                return members
            known = []
            for member in members:
                known += [member, _check_priority(priority_of(_schedule_data(member)))]
        raise StorageError("moving due items: the Lua script did not finish")  # unreachable

    def read_schedule(self, timestamp: float, /) -> Sequence[bytes]:
        """Atomically remove and return every item due at or before ``timestamp``."""
        reply = _as_list(self._run(_SCHEDULE_READ_S, (self._schedule,), _number(timestamp)))
        return [_schedule_data(item) for item in map(_as_bytes, reply) if item is not None]

    def schedule_size(self) -> int:
        """Number of items in the schedule."""
        return _as_int(self._command("ZCARD", self._schedule))

    def scheduled_items(self, limit: int | None = None, /) -> Sequence[bytes]:
        """Items in the schedule, earliest first, at most ``limit`` of them."""
        if limit is not None and limit <= 0:
            return []
        stop = -1 if limit is None else limit - 1
        reply = _as_list(self._command("ZRANGE", self._schedule, 0, stop))
        return [_schedule_data(item) for item in map(_as_bytes, reply) if item is not None]

    def next_due(self) -> float | None:
        """When the earliest scheduled item is due (UTC epoch seconds); ``None``: empty."""
        reply = _as_bytes(self._run(_SCHEDULE_NEXT_S, (self._schedule,)))
        return None if reply is None else float(reply)

    def wait_schedule(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for an item to be added to the schedule.

        The consumer's scheduler waits here for the next due item, so a task scheduled
        meanwhile (perhaps due sooner) wakes it at once. Returns whether one was added.
        """
        # The server ends a blocking read on its timer (ten times a second at the default
        # ``hz``), up to 100 ms after the timeout: ask for that much less, so the call
        # returns within ``timeout`` (and for nothing below it; BLPOP takes 0 as for ever).
        wait = min(timeout, self.read_timeout) - _BLOCKING_TIMEOUT_SLACK
        if wait < 0.01:
            return False
        return bool(_as_list(self._command("BLPOP", self._schedule_wake, wait)))

    def flush_schedule(self) -> None:
        """Remove every item from the schedule."""
        self._command("DEL", self._schedule)

    # --- key/value store (a HASH) -------------------------------------------------------

    def _kv_keys(self) -> tuple[str, str]:
        return (self._results, self._results_ttl)

    def put_data(self, key: str, value: bytes, /) -> None:
        """Store ``value`` under ``key``, replacing any previous value and its TTL."""
        self._run(_H_PUT_S, self._kv_keys(), key, value)

    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """The value under ``key``, or ``EmptyData``."""
        value = _as_bytes(self._run(_H_PEEK_S, self._kv_keys(), key))
        return EmptyData if value is None else value

    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """Remove and return the value under ``key``, or ``EmptyData``."""
        value = _as_bytes(self._run(_H_POP_S, self._kv_keys(), key))
        return EmptyData if value is None else value

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None, /) -> bool:
        """Store ``value`` only if ``key`` holds nothing; whether it was stored.

        With ``ttl`` (huey 3.5's form) it is :meth:`put_if_empty_ttl`.
        """
        if ttl is not None:
            return self.put_if_empty_ttl(key, value, ttl)
        return self._put_if_empty(key, value, 0)

    def _put_if_empty(self, key: str, value: bytes, ttl_ms: int) -> bool:
        return _as_int(self._run(_H_PUT_IF_EMPTY_S, self._kv_keys(), key, value, ttl_ms)) == 1

    def put_if_empty_ttl(self, key: str, value: bytes, ttl: float, /) -> bool:
        """Like :meth:`put_if_empty`; the key disappears after ``ttl`` seconds."""
        return self._put_if_empty(key, value, _ttl_ms(ttl))

    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        """Delete ``key`` if it holds ``value`` (one script); whether it did."""
        return _as_int(self._run(_H_DELETE_IF_EQUAL_S, self._kv_keys(), key, value)) == 1

    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        """The values under ``keys`` (``EmptyData`` for an empty one), in one script."""
        if not keys:
            return []
        reply = _as_list(self._run(_H_PEEK_MANY_S, self._kv_keys(), *keys))
        values = [_as_bytes(value) for value in reply]
        values += [None] * (len(keys) - len(values))  # RESP drops trailing nils of a Lua table
        return [EmptyData if value is None else value for value in values]

    def delete_data(self, key: str, /) -> bool:
        """Remove ``key``; whether it held a value."""
        return _as_int(self._run(_H_DELETE_S, self._kv_keys(), key)) > 0

    def has_data_for_key(self, key: str, /) -> bool:
        """Whether ``key`` holds a value."""
        return _as_int(self._run(_H_HAS_S, self._kv_keys(), key)) == 1

    def result_store_size(self) -> int:
        """Number of keys in the key/value store."""
        return _as_int(self._run(_H_SIZE_S, self._kv_keys()))

    def result_items(self) -> Mapping[str, bytes]:
        """Every key and value of the key/value store."""
        flat = _as_list(self._run(_H_ITEMS_S, self._kv_keys()))
        return {_as_str(flat[i]): _as_bytes(flat[i + 1]) or b"" for i in range(0, len(flat), 2)}

    def flush_results(self) -> None:
        """Remove every key of the key/value store."""
        self._command("DEL", self._results, self._results_ttl)

    def put_result(self, key: str, value: bytes, /) -> None:
        """Store a task result and, with ``notify_result``, wake readers waiting on it."""
        self._run(
            _H_PUT_RESULT_S,
            (self._results, self._results_ttl, self._done_key(key)),
            key,
            value,
            self._notify_ms(),
        )

    def _done_key(self, key: str) -> str:
        return f"{self._prefix}done:{key}"

    def _notify_ms(self) -> int:
        return _ttl_ms(self.notify_result_ttl) if self.notify_result else 0

    def wait_then_read(self, key: str, timeout: float, preserve: bool, /) -> bytes | EmptyDataType:
        """:meth:`wait_result`, then :meth:`peek_data` (``preserve``) or :meth:`pop_data`:
        one round trip.

        Both commands go in one write; the server runs the read as soon as the wait ends,
        so a reader woken by a stored result has the value without another round trip.
        """
        call = self._read_call(key, preserve) if self.notify_result else None
        if call is None or self._held_connection() is None:
            self.wait_result(key, timeout)
            return self._read_value(key, preserve)
        script, keys = call
        wait = _pack_command("BLPOP", self._done_key(key), _number(self._result_wait(timeout)))
        value = _as_bytes(self._run_after_wait(wait, script, keys, (key,)))
        return EmptyData if value is None else value

    def read_or_wait(self, key: str, timeout: float, preserve: bool, /) -> bytes | EmptyDataType:
        """The value under ``key`` if it is stored, else :meth:`wait_then_read`: one round
        trip either way (``preserve`` as there).

        A blocking ``Result.get()`` starts with this: the task has most often not finished
        yet, and the read finding nothing and the wait after it go to the server
        together. Three commands go in one write: a script that leaves a wake-up token
        when ``key`` holds a value already (so that the wait returns at once; it removes
        nothing), the wait, and the read.
        """
        call = self._read_call(key, preserve) if self.notify_result else None
        if call is not None and self._held_connection() is not None:
            script, keys = call
            source, open_keys, open_args = self._open_if_stored(key)
            wait = self._result_wait(timeout)
            commands = [
                # EVAL, not EVALSHA: never refused as an unknown script, which would leave
                # the wait to run its whole timeout when the value is there already.
                _pack_command("EVAL", source, len(open_keys), *open_keys, *open_args),
                _pack_command("BLPOP", self._done_key(key), _number(wait)),
                _pack_evalsha(script.sha, keys, (key,)),
            ]
            failures: list[ResponseError] = []
            try:
                replies = self._held_replies(commands, failures=failures)
            except (RedisError, RedisClusterException) as exc:
                raise self._translate(exc, 0) from exc
            if replies is not None:
                read = _as_bytes(replies[2])
                if read is not None:
                    return read  # popped: returned even if a command before it failed
                if failures:
                    raise self._translate(failures[0], 0) from failures[0]
                return EmptyData
        # The ordinary way (no pool, or the read script not loaded yet): nothing was
        # removed above, so the read is done again here.
        value = self._read_value(key, preserve)
        if value is not EmptyData or not self.notify_result:
            return value
        return self.wait_then_read(key, timeout, preserve)

    def _read_value(self, key: str, preserve: bool) -> bytes | EmptyDataType:
        return self.peek_data(key) if preserve else self.pop_data(key)

    def _open_if_stored(self, key: str) -> tuple[str, tuple[str, ...], tuple[_Arg, ...]]:
        """The script of :meth:`read_or_wait` leaving a token when ``key`` is stored: its
        source, keys and arguments."""
        keys = (self._results, self._done_key(key))
        return _H_OPEN_IF_STORED, keys, (key, self._notify_ms())

    def _read_call(self, key: str, preserve: bool) -> tuple[_Script, tuple[str, ...]] | None:
        """The script reading ``key`` (popping it unless ``preserve``) and its keys; its one
        argument is ``key`` (``None``: no script reads it that way)."""
        del key
        return (_H_PEEK_S if preserve else _H_POP_S), self._kv_keys()

    def wait_result(self, key: str, timeout: float, /) -> bool:
        """Block until a result is stored under ``key`` or ``timeout`` seconds pass.

        Only useful with ``notify_result=True`` (otherwise nothing wakes the reader and
        this returns ``False`` at once, leaving the caller to poll). Waits at most
        ``read_timeout`` seconds per call, so callers re-check the store regularly (when
        several readers wait on one key only one is woken).

        Returns:
            Whether a wake-up arrived (the caller then reads the store).
        """
        if not self.notify_result:
            return False
        wait = self._result_wait(timeout)
        return bool(_as_list(self._command("BLPOP", self._done_key(key), wait)))

    def _result_wait(self, timeout: float) -> float:
        """How long one BLPOP for a result waits: at most ``read_timeout``, and never
        less than 10 ms (BLPOP takes 0 as for ever)."""
        return max(min(timeout, self.read_timeout), 0.01)

    # --- counters ------------------------------------------------------------------------

    def incr(self, key: str, amount: int = 1, /) -> int:
        """Add ``amount`` to the counter ``key`` and return the new value."""
        return _as_int(self._command("HINCRBY", self._counters, key, amount))

    def delete_counter(self, key: str, /) -> None:
        """Remove the counter ``key``."""
        self._command("HDEL", self._counters, key)

    def flush_counters(self) -> None:
        """Remove every counter."""
        self._command("DEL", self._counters)

    # --- semaphores (SupportsSemaphores) -------------------------------------------------

    def _semaphore_key(self, name: str) -> str:
        return f"{self._prefix}sem:{name}"

    def semaphore_acquire(self, name: str, holder: str, limit: int, timeout: float, /) -> bool:
        """Take a slot of ``name`` for ``holder`` unless ``limit`` others hold one (one script).

        Raises:
            ValueError: ``timeout`` is not a positive number of seconds.
        """
        key, timeout_ms = self._semaphore_key(name), _ttl_ms(timeout)
        return _as_int(self._run(_SEM_ACQUIRE_S, (key,), holder, limit, timeout_ms)) == 1

    def semaphore_renew(self, name: str, holder: str, timeout: float, /) -> bool:
        """Restart ``holder``'s timeout; ``False`` if its slot is gone."""
        key, timeout_ms = self._semaphore_key(name), _ttl_ms(timeout)
        return _as_int(self._run(_SEM_RENEW_S, (key,), holder, timeout_ms)) == 1

    def semaphore_release(self, name: str, holder: str, /) -> bool:
        """Free ``holder``'s slot; whether it held one (an expired slot is not held)."""
        return _as_int(self._run(_SEM_RELEASE_S, (self._semaphore_key(name),), holder)) == 1

    def semaphore_holders(self, name: str, /) -> Sequence[str]:
        """The current holders of ``name``, earliest to expire first."""
        reply = _as_list(self._run(_SEM_HOLDERS_S, (self._semaphore_key(name),)))
        return [_as_str(holder) for holder in reply]

    def semaphore_clear(self, name: str, /) -> int:
        """Free every slot of ``name``; return how many were held."""
        return _as_int(self._run(_SEM_CLEAR_S, (self._semaphore_key(name),)))

    # --- everything ----------------------------------------------------------------------

    def flush_all(self) -> None:
        """Delete every key of this queue: queue, schedule, leases, dead letters, results,
        counters and semaphores (found with ``SCAN``; not atomic)."""
        self._delete(self._scan(self._pattern("")))


def _ttl_ms(seconds: float) -> int:
    if not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"ttl must be a positive number of seconds, got {seconds!r}")
    return max(1, math.ceil(seconds * 1000))


def _config_dict(reply: object) -> dict[str, str]:
    """``CONFIG GET`` replies as a dict (redis-py returns a dict, raw RESP a flat list)."""
    if isinstance(reply, dict):
        items = cast("dict[object, object]", reply).items()
        return {_as_str(k): _as_str(v) for k, v in items}
    flat = _as_list(reply)
    return {_as_str(flat[i]): _as_str(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


class PriorityRedisStorage(RedisStorage):
    """:class:`RedisStorage` whose queue is a sorted set: higher priority first.

    Needs Redis 5.0 or newer. Takes the same arguments as :class:`RedisStorage`.
    """

    priority: ClassVar[bool] = True


class RedisExpireStorage(RedisStorage):
    """:class:`RedisStorage` whose task results are plain keys that expire.

    Results (stored by :meth:`put_result`) live under ``huey:{<name>}:r:<key>`` with a
    time-to-live of ``expire_time`` seconds, and reading them does not remove them (they
    expire instead), so any number of readers see them. Other values (locks,
    revocations, ``huey.put()``) live under ``huey:{<name>}:k:<key>`` without a TTL and
    are removed by :meth:`pop_data` as usual. Counters expire after ``expire_time`` too.

    Args:
        name: the queue's name.
        expire_time: seconds a result (and a counter) is kept.
        blocking: see :class:`RedisStorage`.
        read_timeout: see :class:`RedisStorage`.
        connection_pool: see :class:`RedisStorage`.
        url: see :class:`RedisStorage`.
        client_name: see :class:`RedisStorage`.
        notify_result: see :class:`RedisStorage`.
        notify_result_ttl: see :class:`RedisStorage`.
        host: see :class:`RedisStorage`.
        port: see :class:`RedisStorage`.
        password: see :class:`RedisStorage`.
        db: see :class:`RedisStorage`.
        username: see :class:`RedisStorage`.
        cluster: see :class:`RedisStorage`.
        connection_params: see :class:`RedisStorage`.

    Raises:
        ConfigurationError: ``expire_time`` is not a positive whole number of seconds, or
            as :class:`RedisStorage`.
    """

    sends_settles_ahead: bool = False
    """This variant settles in two steps: workers wait for :meth:`settle_and_reserve`."""

    def __init__(
        self,
        name: str = "huey",
        expire_time: int = 86400,
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        notify_result: bool = False,
        notify_result_ttl: float = 60,
        *,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        db: int | None = None,
        username: str | None = None,
        cluster: bool = False,
        **connection_params: Any,
    ) -> None:
        if type(expire_time) is not int or expire_time < 1:
            raise ConfigurationError(
                f"expire_time must be a positive int (seconds), got {expire_time!r}"
            )
        self.expire_time: int = expire_time
        super().__init__(
            name,
            blocking,
            read_timeout,
            connection_pool,
            url,
            client_name,
            notify_result,
            notify_result_ttl,
            host=host,
            port=port,
            password=password,
            db=db,
            username=username,
            cluster=cluster,
            **connection_params,
        )

    def _keys(self, key: str) -> tuple[str, str]:
        return (f"{self._prefix}r:{key}", f"{self._prefix}k:{key}")

    @override
    def put_data(self, key: str, value: bytes, /) -> None:
        """Store ``value`` under ``key`` without a TTL (replacing a result there)."""
        self._run(_X_PUT_S, self._keys(key), value)

    @override
    def peek_data(self, key: str, /) -> bytes | EmptyDataType:
        """The value under ``key``, or ``EmptyData``."""
        reply = _as_list(self._command("MGET", *self._keys(key)))
        for value in map(_as_bytes, reply):
            if value is not None:
                return value
        return EmptyData

    @override
    def pop_data(self, key: str, /) -> bytes | EmptyDataType:
        """The value under ``key``, or ``EmptyData``; removes it unless it is a result."""
        value = _as_bytes(self._run(_X_POP_S, self._keys(key)))
        return EmptyData if value is None else value

    @override
    def _read_call(self, key: str, preserve: bool) -> tuple[_Script, tuple[str, ...]] | None:
        # Peeking is a plain MGET here, not a script.
        return None if preserve else (_X_POP_S, self._keys(key))

    @override
    def _open_if_stored(self, key: str) -> tuple[str, tuple[str, ...], tuple[_Arg, ...]]:
        return _X_OPEN_IF_STORED, (*self._keys(key), self._done_key(key)), (self._notify_ms(),)

    @override
    def _put_if_empty(self, key: str, value: bytes, ttl_ms: int) -> bool:
        return _as_int(self._run(_X_PUT_IF_EMPTY_S, self._keys(key), value, ttl_ms)) == 1

    @override
    def delete_if_equal(self, key: str, value: bytes, /) -> bool:
        """Delete ``key`` if it holds ``value`` (a result or another value); whether it did."""
        return _as_int(self._run(_X_DELETE_IF_EQUAL_S, self._keys(key), value)) == 1

    @override
    def peek_many(self, keys: Sequence[str], /) -> Sequence[bytes | EmptyDataType]:
        """The values under ``keys`` (``EmptyData`` for an empty one), in one ``MGET``."""
        if not keys:
            return []
        names = [name for key in keys for name in self._keys(key)]
        reply = [_as_bytes(value) for value in _as_list(self._command("MGET", *names))]
        pairs = zip(reply[::2], reply[1::2], strict=True)
        values = [result if result is not None else other for result, other in pairs]
        return [EmptyData if value is None else value for value in values]

    @override
    def delete_data(self, key: str, /) -> bool:
        """Remove ``key``, a task result included (``pop_data`` leaves results to expire)."""
        return _as_int(self._command("DEL", *self._keys(key))) > 0

    @override
    def has_data_for_key(self, key: str, /) -> bool:
        """Whether ``key`` holds a value."""
        return _as_int(self._command("EXISTS", *self._keys(key))) > 0

    def _kv_scan(self) -> list[bytes]:
        return self._scan(self._pattern("r:")) + self._scan(self._pattern("k:"))

    @override
    def result_store_size(self) -> int:
        """Number of keys in the key/value store (counted with ``SCAN``)."""
        return len(self._kv_scan())

    @override
    def result_items(self) -> Mapping[str, bytes]:
        """Every key and value of the key/value store (read with ``SCAN``)."""
        keys = self._kv_scan()
        items: dict[str, bytes] = {}
        skip = len(self._prefix.encode()) + 2  # the prefix and "r:" / "k:"
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            values = _as_list(self._command("MGET", *chunk))
            for key, value in zip(chunk, map(_as_bytes, values), strict=True):
                if value is not None:  # expired between SCAN and MGET
                    items[key[skip:].decode("utf-8", "surrogateescape")] = value
        return items

    @override
    def flush_results(self) -> None:
        """Remove every key of the key/value store."""
        self._delete(self._kv_scan())

    @override
    def put_result(self, key: str, value: bytes, /) -> None:
        """Store a task result for ``expire_time`` seconds; wake readers if notifying."""
        rkey, kkey = self._keys(key)
        self._run(
            _X_PUT_RESULT_S,
            (rkey, kkey, self._done_key(key)),
            value,
            self.expire_time,
            self._notify_ms(),
        )

    @override
    def _watch_prefix(self) -> str:
        return self._prefix

    @override
    def settle(
        self, token: str, result: tuple[str, bytes] | None, discard: Sequence[str], /
    ) -> bool:
        """Store ``result`` for ``expire_time`` seconds, delete ``discard`` and acknowledge.

        Atomic and one round trip, like :meth:`RedisStorage.settle`.

        Returns:
            Whether the token was current (with a stale token nothing happens).
        """
        key, value = result if result is not None else ("", b"")
        rkey, kkey = self._keys(key)
        gone = [self._keys(name)[1] for name in discard]
        keys = (
            self._inflight,
            self._leases,
            rkey,
            kkey,
            self._done_key(key),
            *gone,
            self._recent(),
        )
        reply = self._run(
            _X_SETTLE_S,
            keys,
            token,
            "1" if result is not None else "0",
            value,
            self.expire_time,
            self._notify_ms(),
        )
        return _as_int(reply) == 1

    @override
    def settle_and_reserve(
        self,
        token: str,
        result: tuple[str, bytes] | None,
        discard: Sequence[str],
        now: float,
        lease_seconds: float,
        /,
    ) -> tuple[bool, Lease | None]:
        """:meth:`settle`, then reserve the next item (two round trips on this variant)."""
        settled = self.settle(token, result, discard)
        return settled, self._reserve(now, lease_seconds)

    @override
    def send_settle_and_reserve(
        self,
        token: str,
        result: tuple[str, bytes] | None,
        discard: Sequence[str],
        now: float,
        lease_seconds: float,
        /,
    ) -> RedisSettleInFlight:
        """:meth:`settle_and_reserve` now (this variant settles in two steps and sends
        nothing ahead: :attr:`sends_settles_ahead` is false, so workers do not call this)."""
        settled, lease = self.settle_and_reserve(token, result, discard, now, lease_seconds)
        return RedisSettleInFlight(
            lease.token if lease is not None else "", lambda: (settled, lease)
        )

    @override
    def incr(self, key: str, amount: int = 1, /) -> int:
        """Add ``amount`` to the counter ``key``; the counter expires after ``expire_time``."""
        return _as_int(self._run(_X_INCR_S, (f"{self._prefix}c:{key}",), amount, self.expire_time))

    @override
    def delete_counter(self, key: str, /) -> None:
        """Remove the counter ``key``."""
        self._command("DEL", f"{self._prefix}c:{key}")

    @override
    def flush_counters(self) -> None:
        """Remove every counter."""
        self._delete(self._scan(self._pattern("c:")))


class PriorityRedisExpireStorage(RedisExpireStorage):
    """:class:`RedisExpireStorage` with the priority queue of :class:`PriorityRedisStorage`.

    Needs Redis 5.0 or newer. Takes the same arguments as :class:`RedisExpireStorage`.
    """

    priority: ClassVar[bool] = True
