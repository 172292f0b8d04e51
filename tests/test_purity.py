"""The pure core imports only the stdlib, ``typing_extensions`` and itself, and never reads a clock.

Checked by walking each module's AST, so a violation is reported with the module, the line
and the offending import or call, before it can creep in unnoticed.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import huey

PACKAGE_DIR = Path(huey.__file__).parent

PURE_MODULES = (
    "_core",
    "_messages",
    "_crontab",
    "_timeutil",
    "exceptions",
    "signals",
    "constants",
    "protocols",
)
"""The modules that must stay free of I/O, clocks and third-party imports."""

ALLOWED_THIRD_PARTY = frozenset({"typing_extensions"})

# Stdlib modules that are the I/O, concurrency or clock machinery the core must not touch.
FORBIDDEN_STDLIB = frozenset(
    {
        "threading",
        "_thread",
        "socket",
        "select",
        "selectors",
        "asyncio",
        "multiprocessing",
        "subprocess",
        "concurrent",
        "os",
        "io",
        "pickle",
        "sqlite3",
        "random",
    }
)

# attribute accesses that read a clock or sleep, as (object name, attribute)
FORBIDDEN_CALLS = frozenset(
    {
        ("time", "time"),
        ("time", "time_ns"),
        ("time", "sleep"),
        ("time", "monotonic"),
        ("time", "monotonic_ns"),
        ("time", "perf_counter"),
        ("time", "localtime"),
        ("time", "gmtime"),
        ("time", "ctime"),
        ("datetime", "now"),
        ("datetime", "utcnow"),
        ("datetime", "today"),
        ("date", "today"),
    }
)
FORBIDDEN_TIME_NAMES = frozenset(
    {"time", "time_ns", "sleep", "monotonic", "monotonic_ns", "perf_counter", "localtime"}
)


def violations(source: str, module: str) -> list[str]:
    """Every purity violation in ``source`` (the text of ``huey.<module>``), as messages."""
    tree = ast.parse(source, filename=f"{module}.py")
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"huey.{module}:{getattr(node, 'lineno', '?')}: {what}")

    def check_top(name: str, node: ast.AST, statement: str) -> None:
        top = name.partition(".")[0]
        if top == "huey":
            inner = name.split(".")[1] if "." in name else ""
            if inner not in PURE_MODULES:
                report(node, f"imports impure huey module: {statement}")
        elif top in ALLOWED_THIRD_PARTY or top == "__future__":
            return
        elif top not in sys.stdlib_module_names:
            report(node, f"imports a non-stdlib module: {statement}")
        elif top in FORBIDDEN_STDLIB:
            report(node, f"imports I/O or concurrency module: {statement}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check_top(alias.name, node, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            names = ", ".join(alias.name for alias in node.names)
            statement = f"from {'.' * node.level}{node.module or ''} import {names}"
            if node.level:
                # relative: the first component names a huey module
                targets = [node.module.partition(".")[0]] if node.module else []
                if not node.module:
                    targets = [alias.name for alias in node.names]
                for target in targets:
                    if target not in PURE_MODULES:
                        report(node, f"imports impure huey module: {statement}")
            else:
                check_top(node.module or "", node, statement)
                clock_names = [a.name for a in node.names if a.name in FORBIDDEN_TIME_NAMES]
                if node.module == "time" and clock_names:
                    report(node, f"imports clock functions: {statement}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and (node.value.id, node.attr) in FORBIDDEN_CALLS
        ):
            report(node, f"reads a clock or sleeps: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_imports_and_calls(module: str) -> None:
    """The pure module imports only allowed modules and never reads a clock or sleeps."""
    path = PACKAGE_DIR / f"{module}.py"
    problems = violations(path.read_text(encoding="utf-8"), module)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import redis", "huey._core:1: imports a non-stdlib module: import redis"),
        ("import threading", "huey._core:1: imports I/O or concurrency module: import threading"),
        ("from socket import socket", "from socket import socket"),
        ("from . import _api", "imports impure huey module: from . import _api"),
        ("from ._result import Result", "imports impure huey module: from ._result import Result"),
        ("from huey.storage import x", "imports impure huey module: from huey.storage import x"),
        ("import time\nnow = time.time()", "huey._core:2: reads a clock or sleeps: time.time"),
        ("import time\ntime.sleep(1)", "reads a clock or sleeps: time.sleep"),
        ("from time import monotonic", "imports clock functions: from time import monotonic"),
        ("from datetime import datetime\nd = datetime.now()", "datetime.now"),
        ("from datetime import date\nd = date.today()", "date.today"),
    ],
)
def test_checker_reports_module_and_import(source: str, expected: str) -> None:
    """The checker itself catches each kind of violation and says where and what."""
    problems = violations(source, "_core")
    assert any(expected in problem for problem in problems), problems


def test_checker_accepts_allowed_imports() -> None:
    """Stdlib, typing_extensions and pure huey modules pass."""
    source = (
        "from __future__ import annotations\n"
        "import math\n"
        "from dataclasses import dataclass\n"
        "from typing_extensions import override\n"
        "from ._messages import Message\n"
        "from . import signals\n"
        "from huey.exceptions import HueyException\n"
    )
    assert violations(source, "_core") == []
