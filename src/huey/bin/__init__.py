"""The original huey's ``huey.bin`` package: ``python -m huey.bin.huey_consumer``."""

from __future__ import annotations

__all__ = ()
