"""Summarise ``make reliability``'s JSON lines as the table of ``docs/reliability.rst``.

Usage: ``python -m tests.reliability.summary .reliability/results.jsonl``. One row per
scenario: runs (seeds), and over those runs the total of ``lost``, ``extra_exec``,
``dup_effect``, ``stale_acks_rejected`` and ``dead_lettered``, the median of
``recovery_p50`` and the largest ``recovery_p99``.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from typing import Any

_TOTALS = ("lost", "extra_exec", "dup_effect", "stale_acks_rejected", "dead_lettered")


def _cell(value: object) -> str:
    return "n/a" if value is None else str(value)


def summarise(lines: list[dict[str, Any]]) -> str:
    """The RST csv-table of ``lines``."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        rows[str(line["scenario"])].append(line)
    header = ["scenario", "runs", *_TOTALS, "recovery p50 (s)", "recovery p99 (s)"]
    out = [".. csv-table::", f"   :header: {', '.join(header)}", ""]
    for scenario, runs in rows.items():
        p50 = [float(run["recovery_p50"]) for run in runs if run.get("recovery_p50") is not None]
        p99 = [float(run["recovery_p99"]) for run in runs if run.get("recovery_p99") is not None]
        totals = [
            _cell(sum(int(run[name]) for run in runs) if name in runs[0] else None)
            for name in _TOTALS
        ]
        cells = [
            scenario,
            str(len(runs)),
            *totals,
            _cell(round(statistics.median(p50), 2) if p50 else None),
            _cell(round(max(p99), 2) if p99 else None),
        ]
        out.append("   " + ", ".join(cells))
    return "\n".join(out)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as handle:
        print(summarise([json.loads(line) for line in handle if line.strip()]))
