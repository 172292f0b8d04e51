"""Optional integrations and helpers, as in the original huey's ``huey.contrib``.

Each submodule is imported on its own (``from huey.contrib.asyncio import aget_result``);
importing this package imports none of them, so their optional dependencies stay
optional.
"""

from __future__ import annotations

__all__: tuple[str, ...] = ()
