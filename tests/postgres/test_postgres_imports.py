"""``huey`` works without psycopg; the PostgreSQL names load on first use, or say why not."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_huey_imports_without_psycopg() -> None:
    code = (
        "import sys\n"
        "sys.modules['psycopg'] = None  # as if psycopg were not installed\n"
        "import huey, huey.api, huey.storage\n"
        "from huey.api import *\n"
        "for module, name in ((huey, 'PostgresHuey'), (huey.api, 'PostgresHuey'),\n"
        "                     (huey.storage, 'PostgresStorage')):\n"
        "    try:\n"
        "        getattr(module, name)\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    completed = _run_python(code)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "huey.PostgresHuey needs psycopg: pip install 'huey[postgres]'",
        "huey.api.PostgresHuey needs psycopg: pip install 'huey[postgres]'",
        "huey.storage.PostgresStorage needs psycopg: pip install 'huey[postgres]'",
    ]


def test_postgres_names_load_lazily_and_agree() -> None:
    pytest.importorskip("psycopg")
    code = (
        "import sys, huey, huey.api, huey.storage\n"
        "assert 'psycopg' not in sys.modules, 'psycopg imported eagerly'\n"
        "from huey.storage.postgres import PostgresStorage\n"
        "assert huey.PostgresHuey is huey.api.PostgresHuey\n"
        "assert huey.PostgresHueyOptions is huey.api.PostgresHueyOptions\n"
        "assert huey.storage.PostgresStorage is PostgresStorage\n"
        "assert huey.PostgresHuey.storage_class is PostgresStorage\n"
    )
    completed = _run_python(code)
    assert completed.returncode == 0, completed.stderr
