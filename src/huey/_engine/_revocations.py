"""Revocation flags: stop one task instance, or every instance of a task.

A flag lives in the key/value store under ``r:<task id>`` (one instance) or
``rt:<task name>`` (the whole task) and may be limited to one attempt (``once``) or to a
time (``until``). Whether a flag applies is the pure core's decision
(:func:`huey._core.revocation_applies`); this module reads, writes and consumes flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _core
from .._messages import Revocation
from .._task import Task
from ..constants import EmptyData
from ._codec import Codec
from ._ports import Ports

__all__ = ("Revocations", "instance_key", "task_key")


def instance_key(task_id: str) -> str:
    """The key of the flag revoking one task instance."""
    return f"r:{task_id}"


def task_key(task_name: str) -> str:
    """The key of the flag revoking every instance of a task."""
    return f"rt:{task_name}"


class Revocations:
    """Reads and writes revocation flags in the storage in use.

    Args:
        ports: the storage in use.
        codec: encodes the flags.
    """

    __slots__ = ("codec", "ports")

    def __init__(self, ports: Ports, codec: Codec) -> None:
        self.ports: Ports = ports
        self.codec: Codec = codec

    @staticmethod
    def keys_of(task: Task[Any]) -> tuple[str, str]:
        """The two flags that can stop ``task``: its instance's, then its task's."""
        return (instance_key(task.id), task_key(task.name))

    def put(self, key: str, until: float | None, once: bool) -> None:
        """Store a flag under ``key`` (until epoch ``until``, or for one attempt)."""
        record = Revocation(until=until, once=once)
        self.ports.storage.put_data(key, self.codec.encode_revocation(record))

    def remove(self, key: str) -> bool:
        """Remove the flag under ``key``; whether there was one."""
        return self.ports.storage.pop_data(key) is not EmptyData

    def applies(self, key: str, now: float) -> bool:
        """Whether the flag under ``key`` revokes a run at ``now`` (it is not consumed)."""
        record = self.codec.decode_revocation(key, self.ports.storage.peek_data(key))
        return _core.revocation_applies(record, now)[0]

    def any_applies(self, keys: Sequence[str], now: float, *, consume: bool = False) -> bool:
        """Whether any of the flags under ``keys`` revokes a run at ``now``.

        With ``consume`` the check counts as a run, as at execution: the flags it uses
        up (a ``once`` flag that applies, an ``until`` flag that has lapsed) are deleted.
        """
        if not consume:
            return any(self.applies(key, now) for key in keys)
        revoked = False
        storage = self.ports.storage
        for key in keys:
            record = self.codec.decode_revocation(key, storage.peek_data(key))
            applies, used_up = _core.revocation_applies(record, now)
            if used_up:
                storage.pop_data(key)
            revoked = revoked or applies
        return revoked

    def consume(
        self, task: Task[Any], now: float, known: Sequence[bytes | None] | None = None
    ) -> bool:
        """Whether ``task`` is revoked at ``now``; flags used up by this run are deleted.

        Args:
            task: the task about to run.
            now: the time of the run.
            known: the two flags (as :meth:`keys_of` orders them) when the caller already
                read them with the message; otherwise they are read here.
        """
        if known is not None and known[0] is None and known[1] is None:
            return False  # the usual case: the reservation found neither flag
        revoked = False
        storage = self.ports.storage
        for index, key in enumerate(self.keys_of(task)):
            raw = storage.peek_data(key) if known is None else known[index]
            applies, consume = _core.revocation_applies(self.codec.decode_revocation(key, raw), now)
            if consume:
                storage.pop_data(key)
            revoked = revoked or applies
        return revoked
