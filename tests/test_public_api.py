"""The public surface: ``__all__`` matches what modules define; the original import paths work."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import huey

# Importing it reads Django's settings: tests/django/test_djhuey_surface.py checks it in a
# configured Django process.
DJANGO_PACKAGE = "huey.contrib.djhuey"


def _all_modules() -> list[str]:
    """Every module of the installed ``huey`` package that declares ``__all__``."""
    names = ["huey"]
    for info in pkgutil.walk_packages(huey.__path__, prefix="huey.", onerror=lambda name: None):
        names.append(info.name)
    return [
        name
        for name in names
        if not (name == DJANGO_PACKAGE or name.startswith(f"{DJANGO_PACKAGE}."))
        and hasattr(importlib.import_module(name), "__all__")
    ]


MODULES = _all_modules()

# Assignments bound to these calls are typing machinery, not API.
_TYPING_FACTORIES = frozenset({"TypeVar", "ParamSpec", "TypeVarTuple", "getLogger"})


def defined_public_names(module: ModuleType) -> tuple[set[str], set[str]]:
    """Public names a module defines or explicitly re-exports (``import X as X``).

    Read from the source so that names merely imported for internal use do not count.

    Returns:
        ``(defined, imported)``: the names above, and every other name imported (a
        plain import may still be listed in ``__all__`` on purpose).
    """
    tree = ast.parse(inspect.getsource(module))
    names: set[str] = set()
    imported: set[str] = set()

    def add(name: str) -> None:
        if not name.startswith("_") or name == "__version__":
            names.add(name)

    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            value = node.value
            if isinstance(value, ast.Call):
                func = value.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in _TYPING_FACTORIES:
                    continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id != "__all__":
                    add(target.id)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.asname is not None and alias.asname == alias.name:
                    add(alias.name)
                else:
                    imported.add(alias.asname or alias.name)
    return names, imported


@pytest.mark.parametrize("name", MODULES)
def test_all_resolves(name: str) -> None:
    """Every name in ``__all__`` exists and is listed once."""
    module = importlib.import_module(name)
    exported: tuple[str, ...] = tuple(module.__all__)
    missing = [item for item in exported if not hasattr(module, item)]
    assert missing == [], f"{name}.__all__ lists undefined names"
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"


# ``python -m huey`` entry point: a script whose constants are not import API.
SCRIPT_MODULES = frozenset({"huey.__main__"})


@pytest.mark.parametrize("name", [name for name in MODULES if name not in SCRIPT_MODULES])
def test_all_matches_definitions(name: str) -> None:
    """``__all__`` lists exactly the public names the module defines or re-exports."""
    module = importlib.import_module(name)
    defined, imported = defined_public_names(module)
    exported = set(module.__all__)
    assert sorted(defined - exported) == [], f"{name}: defined but not in __all__"
    assert sorted(exported - defined - imported) == [], f"{name}: in __all__ but not defined"


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (
            "huey",
            [
                "Huey",
                "MemoryHuey",
                "BlackHoleHuey",
                "crontab",
                "CancelExecution",
                "RetryTask",
                "Result",
                "ResultGroup",
                "Task",
                "TaskWrapper",
                "__version__",
            ],
        ),
        (
            "huey.api",
            [
                "Huey",
                "MemoryHuey",
                "BlackHoleHuey",
                "Task",
                "TaskWrapper",
                "PeriodicTaskWrapper",
                "Result",
                "ResultGroup",
                "TaskLock",
                "crontab",
            ],
        ),
        (
            "huey.exceptions",
            [
                "HueyException",
                "ConfigurationError",
                "TaskLockedException",
                "ResultTimeout",
                "TaskTimeout",
                "CancelExecution",
                "RetryTask",
                "TaskException",
            ],
        ),
        (
            "huey.signals",
            [
                "SIGNAL_CANCELED",
                "SIGNAL_COMPLETE",
                "SIGNAL_ERROR",
                "SIGNAL_EXECUTING",
                "SIGNAL_EXPIRED",
                "SIGNAL_LOCKED",
                "SIGNAL_RETRYING",
                "SIGNAL_REVOKED",
                "SIGNAL_SCHEDULED",
                "SIGNAL_INTERRUPTED",
                "SIGNAL_ENQUEUED",
                "SIGNAL_TIMEOUT",
                "SIGNAL_RATE_LIMITED",
            ],
        ),
        ("huey.serializer", ["Serializer"]),
        ("huey.storage", ["MemoryStorage", "BlackHoleStorage", "EmptyData"]),
        (
            "huey.constants",
            ["EmptyData", "WORKER_THREAD", "WORKER_PROCESS", "WORKER_GREENLET", "WORKER_TYPES"],
        ),
        ("huey.protocols", ["Storage", "Serializer", "Clock"]),
    ],
)
def test_original_import_paths(module: str, names: list[str]) -> None:
    """The original huey's module paths keep exporting the documented names."""
    imported = importlib.import_module(module)
    missing = [name for name in names if not hasattr(imported, name)]
    assert missing == []
    assert set(names) <= set(imported.__all__)


def test_signal_values_are_the_originals() -> None:
    """Signal constants keep the original huey's string values."""
    from huey import signals

    assert (signals.SIGNAL_COMPLETE, signals.SIGNAL_RATE_LIMITED) == ("complete", "rate-limited")
    assert set(signals.ALL_SIGNALS) >= {
        "canceled",
        "complete",
        "error",
        "executing",
        "expired",
        "locked",
        "retrying",
        "revoked",
        "scheduled",
        "interrupted",
        "enqueued",
        "timeout",
        "rate-limited",
    }


def test_exception_hierarchy() -> None:
    """Errors derive from HueyException; control-flow exceptions do not."""
    from huey import exceptions

    for error in (
        exceptions.ConfigurationError,
        exceptions.TaskLockedException,
        exceptions.ResultTimeout,
        exceptions.TaskTimeout,
        exceptions.MessageDecodeError,
        exceptions.UnknownTaskError,
        exceptions.TaskSerializationError,
        exceptions.StorageError,
    ):
        assert issubclass(error, exceptions.HueyException)
    for control in (exceptions.CancelExecution, exceptions.RetryTask, exceptions.TaskException):
        assert not issubclass(control, exceptions.HueyException)
        assert issubclass(control, Exception)


def test_reexports_are_the_same_objects() -> None:
    """``huey.X`` and ``huey.api.X`` are the same objects, not copies."""
    from huey import api

    assert huey.Huey is api.Huey
    assert huey.MemoryHuey is api.MemoryHuey
    assert huey.Result is api.Result
    assert huey.crontab is api.crontab


def test_every_huey_class_is_in_both_paths() -> None:
    """Each ``*Huey`` class is exported by ``huey`` and ``huey.api`` and is a ``Huey``."""
    from huey import api

    top = {name for name in huey.__all__ if name.endswith("Huey")}
    in_api = {name for name in api.__all__ if name.endswith("Huey")}
    assert {"Huey", "MemoryHuey", "BlackHoleHuey"} <= top
    assert top == in_api
    for name in top:
        cls = getattr(huey, name)
        assert cls is getattr(api, name)
        assert issubclass(cls, huey.Huey)
