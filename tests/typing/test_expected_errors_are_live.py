"""Guards for the typing contract files ``tests/typing/check_*.py``.

The checkers themselves run in ``make typecheck``; these tests only make sure the
negative checks cannot silently vanish, that they never execute, and that the positive
checks agree with what huey does at run time (the check modules use immediate mode).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import tokenize
from collections.abc import Callable
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CHECK_FILES = sorted(HERE.glob("check_*.py"))
MYPY_MARK = "# type: ignore["
PYRIGHT_MARK = "# pyright: ignore["


def _comments(path: Path) -> dict[int, str]:
    """Map line numbers to the comment text on that line."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return {tok.start[0]: tok.string for tok in tokens if tok.type == tokenize.COMMENT}


def _expected_error_lines(path: Path) -> list[int]:
    """Lines whose comments suppress an error for either checker."""
    # tokenize gives one COMMENT token for "# type: ignore[...]  # pyright: ignore[...]".
    return [
        line for line, text in _comments(path).items() if MYPY_MARK in text or PYRIGHT_MARK in text
    ]


def _rejected_function_spans(path: Path) -> list[tuple[int, int]]:
    """Line spans of the module-level ``rejected_*`` functions."""
    tree = ast.parse(path.read_text())
    return [
        (node.lineno, node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("rejected_")
    ]


def _module_name(path: Path) -> str:
    return f"tests.typing.{path.stem}"


def _check_functions() -> list[tuple[str, str]]:
    """``(module, function)`` for every ``check_*`` function of every check file."""
    found: list[tuple[str, str]] = []
    for path in CHECK_FILES:
        tree = ast.parse(path.read_text())
        found.extend(
            (_module_name(path), node.name)
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("check_")
        )
    return found


def test_there_are_check_files() -> None:
    """The contract is spread over several check files; none may disappear unnoticed."""
    assert {path.stem for path in CHECK_FILES} >= {
        "check_tasks",
        "check_pipelines",
        "check_decorators",
        "check_protocols",
        "check_async",
    }


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda path: path.stem)
def test_each_check_file_has_expected_errors(path: Path) -> None:
    """Every check file keeps at least one negative check carrying both suppressions."""
    comments = _comments(path)
    both = [line for line, text in comments.items() if MYPY_MARK in text and PYRIGHT_MARK in text]
    assert both, f"{path.name} has no expected-error line"


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda path: path.stem)
def test_expected_errors_carry_both_suppressions(path: Path) -> None:
    """An expected error is expected by both checkers unless a divergence is documented."""
    comments = _comments(path)
    one_sided = [
        line
        for line, text in comments.items()
        if (MYPY_MARK in text) != (PYRIGHT_MARK in text) and "divergence" not in text
    ]
    assert not one_sided, f"{path.name}: lines {one_sided} suppress only one checker"


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda path: path.stem)
def test_expected_errors_live_in_rejected_functions(path: Path) -> None:
    """Negative checks sit inside never-called ``rejected_*`` functions."""
    spans = _rejected_function_spans(path)
    stray = [
        line
        for line in _expected_error_lines(path)
        if not any(start <= line <= end for start, end in spans)
    ]
    assert not stray, f"{path.name}: expected-error lines {stray} outside rejected_* functions"


@pytest.mark.parametrize("path", CHECK_FILES, ids=lambda path: path.stem)
def test_rejected_functions_are_never_called(path: Path) -> None:
    """No code in a check file calls a ``rejected_*`` function."""
    tree = ast.parse(path.read_text())
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not {name for name in called if name.startswith("rejected_")}


@pytest.mark.parametrize(("module", "function"), _check_functions())
def test_positive_checks_run(module: str, function: str) -> None:
    """The positive checks execute in immediate mode and their value asserts hold."""
    check: Callable[[], None] = getattr(importlib.import_module(module), function)
    assert not inspect.signature(check).parameters
    check()
