"""A cached virtualenv with Django 6 (``django.tasks`` built in), for the 6.x path.

Django 6 needs Python 3.12 or newer, while the project's own venv is on 3.11 with Django
5.2 and the ``django-tasks`` backport. :func:`django6_python` finds a 3.12+ interpreter
(on PATH, or installed by pyenv), and makes ``.venv-django6`` at the repository root with
``pip install -e .[django]`` once; it is made again when ``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ("ROOT", "VENV", "django6_python", "django6_python_or_skip", "find_python312")

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-django6"
_STAMP = VENV / ".installed"


def _works(python: str) -> bool:
    try:
        done = subprocess.run(
            [python, "-c", "import sys; assert sys.version_info >= (3, 12)"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def find_python312() -> str | None:
    """A Python 3.12 or newer interpreter, or ``None``."""
    candidates = [shutil.which(name) for name in ("python3.12", "python3.13")]
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        if root:
            for version in sorted(Path(root, "versions").glob("3.1[23]*")):
                candidates.append(str(version / "bin" / "python3"))
    for candidate in candidates:
        if candidate is not None and _works(candidate):
            return candidate
    return None


def django6_python() -> str | None:
    """The Python of the Django 6 venv, made (or refreshed) first; ``None`` without 3.12.

    Raises:
        subprocess.CalledProcessError: making the venv failed (its output is attached).
    """
    base = find_python312()
    if base is None:
        return None
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    python = str(VENV / "bin" / "python")
    if _STAMP.exists() and _STAMP.read_text() == wanted and os.access(python, os.X_OK):
        return python
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([base, "-m", "venv", str(VENV)], check=True, capture_output=True)
    subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "-e",
            f"{ROOT}[django]",
            "--config-settings",
            "editable_mode=compat",
        ],
        check=True,
        capture_output=True,
    )
    _STAMP.write_text(wanted)
    return python


def django6_python_or_skip() -> str:
    """:func:`django6_python`, or skip the test (with the reason) without a Python 3.12+."""
    python = django6_python()
    if python is None:
        pytest.skip("no Python 3.12+ interpreter: the Django 6 (django.tasks) path is untested")
    return python
