"""The original huey's consumer script path: ``python -m huey.bin.huey_consumer``.

It runs the same command as ``huey_consumer`` and ``python -m huey`` (see
:mod:`huey.__main__`), with the same flags and exit statuses::

    python -m huey.bin.huey_consumer myapp.tasks.huey -w 4
"""

from __future__ import annotations

import sys

from ..__main__ import main

__all__ = ("consumer_main", "main")


def consumer_main() -> None:
    """Run the consumer with ``sys.argv``, as the original ``consumer_main()`` does.

    Raises:
        SystemExit: with status 2 for a bad command line (``--help`` and ``--version``
            exit with 0); returns once the consumer has stopped.
    """
    status = main()
    if status:
        raise SystemExit(status)


if __name__ == "__main__":
    sys.exit(main())
