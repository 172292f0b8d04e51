"""JSON log lines for the consumer (``huey_consumer --json-logs``).

One JSON object per line, for log shippers that parse records instead of text:
``time`` (ISO 8601, UTC), ``level``, ``logger``, ``process``, ``thread``, ``message``,
and ``exception`` (the formatted traceback) when the record has one. Values a handler
added with ``extra=`` are kept too, under their own names, when JSON can carry them.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Final

from typing_extensions import override

__all__ = ("JsonFormatter",)

# The attributes every LogRecord has: anything else on a record came from ``extra=``.
_STANDARD: Final = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """Formats each record as one line of JSON (see the module's description)."""

    @override
    def format(self, record: logging.LogRecord) -> str:
        """``record`` as one line of JSON."""
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "thread": record.threadName,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        return json.dumps(line, default=repr)
