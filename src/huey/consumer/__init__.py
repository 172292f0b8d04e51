"""The consumer: runs the tasks of a :class:`~huey.Huey` (``huey_consumer`` command).

Start one from the command line (``huey_consumer myapp.huey -w 4``, or
``python -m huey ...``) or from code (``huey.create_consumer(workers=4).run()``).
"""

from __future__ import annotations

from .._deadline import check_timeout as check_timeout
from .._deadline import time_remaining as time_remaining
from ._consumer import Consumer as Consumer
from ._logs import JsonFormatter as JsonFormatter
from ._options import ConsumerKwargs as ConsumerKwargs
from ._options import ConsumerOptions as ConsumerOptions
from ._options import check_options as check_options

__all__ = (
    "Consumer",
    "ConsumerKwargs",
    "ConsumerOptions",
    "JsonFormatter",
    "check_options",
    "check_timeout",
    "time_remaining",
)
