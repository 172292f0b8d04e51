"""``make demo`` keeps working: the quick-start demo runs to completion and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "quickstart" / "demo.py"


def test_demo_runs_and_accounts_for_every_task() -> None:
    """The demo exits 0 (every task accounted for) and prints its summary."""
    completed = subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "wall time" in completed.stdout
