"""Storage backends.

Every backend satisfies :class:`huey.protocols.Storage`; some also offer capability
protocols (leases, counters, expiring keys). Backends with third-party dependencies are
imported only when used.
"""

from __future__ import annotations

from ..constants import EmptyData as EmptyData
from ._blackhole import BlackHoleStorage as BlackHoleStorage
from ._memory import MemoryStorage as MemoryStorage

__all__ = ("BlackHoleStorage", "EmptyData", "MemoryStorage")
