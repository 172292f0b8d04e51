"""The ledger-writing task of the battery's applications, ours and the original huey's.

Text to put in an application module after it defines ``huey`` and imports ``os`` and
``time``: a ``work(key, ms)`` task that appends an ``S`` line to the ledger file named
by ``RELIABILITY_LEDGER`` when it starts and an ``E`` line when it ends (key, process
group, process id, wall-clock time), one ``O_APPEND`` write each.
"""

from __future__ import annotations

import textwrap

__all__ = ("LEDGER_TASKS",)

LEDGER_TASKS = textwrap.dedent(
    """
    def _note(kind, key):
        line = f"{kind} {key} {os.getpgrp()} {os.getpid()} {time.time():.6f}\\n"
        fd = os.open(LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


    @huey.task(name="work")
    def work(key, ms):
        _note("S", key)
        time.sleep(ms / 1000)
        _note("E", key)
        return key
    """
)
