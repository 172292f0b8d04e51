"""Benchmark set-up: optionally make the original huey importable as ``huey_original``.

The original huey and this one share the import name ``huey``. To measure both in one
process, point ``HUEY_ORIGINAL_PATH`` at a directory holding the original ``huey``
package (for example ``pip install --target DIR huey==3.5.4``, or a throwaway venv's
``site-packages``). A meta-path finder then loads it as ``huey_original``, rewriting its
absolute ``huey`` imports to ``huey_original`` as each module is compiled, so the two
packages never see each other's modules. Nothing is copied into this repository.

Without the variable, the benchmarks of the original are skipped.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from types import CodeType, ModuleType

from typing_extensions import override

ALIAS = "huey_original"
ENV_VAR = "HUEY_ORIGINAL_PATH"

# ``from huey.x import y``, ``from huey import x``, ``import huey.x``, at any indentation.
_IMPORT = re.compile(rb"^(?P<indent>[ \t]*)(?P<kw>from|import)[ \t]+huey(?P<rest>[. \t])", re.M)


def _rename_imports(source: bytes) -> bytes:
    return _IMPORT.sub(rb"\g<indent>\g<kw> huey_original\g<rest>", source)


class _AliasLoader(importlib.machinery.SourceFileLoader):
    """Compiles the original's modules with their ``huey`` imports renamed."""

    @override
    def get_code(self, fullname: str) -> CodeType:
        # Compile from source every time: the default loader would cache the renamed
        # bytecode next to the original's sources, where a plain ``import huey`` of the
        # original would then pick it up.
        del fullname
        source = self.get_data(self.path)
        return compile(_rename_imports(source), self.path, "exec", dont_inherit=True)


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``huey_original`` and its submodules in the original's directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @override
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        """Locate ``huey_original[.sub]`` as ``<root>/huey[/sub]``."""
        del path, target
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        parts = ["huey", *fullname.split(".")[1:]]
        base = self.root.joinpath(*parts)
        package = base / "__init__.py"
        if package.is_file():
            loader = _AliasLoader(fullname, str(package))
            return importlib.util.spec_from_file_location(
                fullname, package, loader=loader, submodule_search_locations=[str(base)]
            )
        module = base.with_suffix(".py")
        if module.is_file():
            loader = _AliasLoader(fullname, str(module))
            return importlib.util.spec_from_file_location(fullname, module, loader=loader)
        return None


def install_original_alias() -> bool:
    """Install the ``huey_original`` finder if ``HUEY_ORIGINAL_PATH`` is set; say if it was."""
    where = os.environ.get(ENV_VAR)
    if not where:
        return False
    root = Path(where).expanduser().resolve()
    if not (root / "huey" / "__init__.py").is_file():
        raise RuntimeError(f"{ENV_VAR}={where!r} does not contain the original huey package")
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder(root))
    return True


install_original_alias()
