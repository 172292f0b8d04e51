"""Each huey module imports only from its own layer or below, with no run-time import cycle.

Checked statically on the AST of every module under ``src/huey`` (huey is never imported), so a
violation is reported with its file, line and both modules before it can creep in unnoticed.
"""

from __future__ import annotations

import ast
import functools
import io
import itertools
import re
import tokenize
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE_DIR = SRC / "huey"

# The layer of every module: a key ending in ".*" covers that package and every module below it (as
# in mypy.ini sections), any other key is exactly one module. There is deliberately no default: a
# module missing here fails test_every_module_has_a_layer, so new code is placed on purpose.
# fmt: off
LAYERS: dict[str, int] = {
    "huey": 5, "huey.api": 5, "huey.__main__": 5, "huey.testing": 5,
    "huey.contrib.*": 5, "huey.bin.*": 5, "huey.consumer_options": 5, "huey._lazy": 5,
    "huey._cli": 5, "huey._commandline": 5,
    "huey._api": 4, "huey._store_api": 4, "huey._hueys": 4, "huey._redis_huey": 4,
    "huey._postgres_huey": 4,
    "huey.consumer.*": 3, "huey.contrib.prometheus": 3, "huey.contrib._runs": 3,
    "huey._wrapper": 2, "huey._result": 2, "huey._lock": 2, "huey._decorators": 2,
    "huey._delivery": 2, "huey._ratelimit": 2, "huey._group": 2,
    "huey._engine.*": 1,
    "huey._task": 0, "huey._core": 0, "huey._messages": 0, "huey._crontab": 0,
    "huey._timeutil": 0, "huey._localtime": 0, "huey._clock": 0, "huey._deadline": 0,
    "huey._version": 0, "huey.constants": 0, "huey.exceptions": 0, "huey.signals": 0,
    "huey.protocols": 0, "huey.serializer": 0, "huey.storage.*": 0, "huey.utils": 0,
    "huey._limits": 0, "huey._compression": 0, "huey._pickle": 0, "huey._json_codec": 0,
    "huey._signing": 0,
}
# fmt: on

# Upward imports tolerated under ``if TYPE_CHECKING:`` only (never at run time), each with why.
# test_allowed_back_references_are_used fails on a stale entry, so this list cannot rot.
ALLOWED_BACK_REFERENCES: dict[tuple[str, str], str] = {
    ("huey._task", "huey._wrapper"): "Task.then()/error() are typed against TaskWrapper",
    ("huey._wrapper", "huey._api"): "the TaskWrapper.huey back-reference",
    ("huey._result", "huey._api"): "the Result.huey back-reference",
    ("huey._lock", "huey._api"): "the TaskLock.huey back-reference",
    ("huey._group", "huey._api"): "enqueue_group builds Result handles, which hold the huey",
    ("huey._decorators", "huey._api"): "decorators hold the huey they register with",
    ("huey.consumer._consumer", "huey._api"): "the Consumer.huey back-reference",
    ("huey.contrib.prometheus", "huey._api"): "the metrics are built for a Huey",
    ("huey.contrib._runs", "huey._api"): "runs are watched on a Huey",
}

Kind = Literal["run-time", "deferred", "annotation-only"]


@dataclass(frozen=True)
class Import:
    """One import of a huey module: who imports what, where, and when it executes."""

    importer: str
    imported: str
    kind: Kind
    where: str  # "path:line"


@dataclass
class Scan:
    """What one module's source reveals: its huey imports and its uses of others' private names."""

    imports: list[Import] = field(default_factory=list[Import])
    private: list[str] = field(default_factory=list[str])


def is_huey(name: str) -> bool:
    return name == "huey" or name.startswith("huey.")


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_type_checking(test: ast.expr) -> bool:
    return ast.unparse(test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}


def resolve_from(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute module a ``from ... import`` names, as the import system resolves it."""
    if level == 0:
        return target or ""
    # a package's own __init__ is the anchor of its relative imports; a plain module's is its parent
    parts = (module if is_package else module.rpartition(".")[0]).split(".")
    if level > len(parts):
        raise ValueError(f"{module}: relative import goes beyond the top-level package")
    base = ".".join(parts[: len(parts) - level + 1])
    return f"{base}.{target}" if target else base


def scan(source: str, module: str, *, is_package: bool, known: frozenset[str], path: str) -> Scan:
    """The huey imports and private-name uses of ``module``, given every module that exists."""
    tree = ast.parse(source, filename=path)
    found = Scan()
    aliases: dict[str, str] = {}  # local name -> the huey module it is bound to

    def add(node: ast.stmt, imported: str, kind: Kind) -> None:
        record = Import(module, imported, kind, f"{path}:{node.lineno}")
        if is_huey(imported) and imported != module and record not in found.imports:
            found.imports.append(record)

    def private(node: ast.expr | ast.stmt, name: str, how: str) -> None:
        found.private.append(
            f"{path}:{node.lineno}: {module} uses the private name {name} ({how}); use a public"
            " name instead (drop the underscore, or re-export it publicly where it belongs)"
        )

    def visit(node: ast.AST, kind: Kind) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name, kind)
                bound = alias.asname or alias.name.partition(".")[0]
                if is_huey(alias.name):
                    aliases[bound] = alias.name if alias.asname else bound
        elif isinstance(node, ast.ImportFrom):
            base = resolve_from(module, is_package, node.level, node.module)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in known:  # `from . import _core` imports the module huey._core
                    add(node, submodule, kind)
                    aliases[alias.asname or alias.name] = submodule
                    continue
                add(node, base, kind)
                if is_huey(base) and is_private(alias.name):
                    private(node, f"{base}.{alias.name}", "imported by name")
        elif isinstance(node, ast.If) and is_type_checking(node.test):
            for statement in node.body:
                visit(statement, "annotation-only")
            for statement in node.orelse:  # the else branch runs for real
                visit(statement, kind)
            return
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            kind = "deferred" if kind == "run-time" else kind
        for child in ast.iter_child_nodes(node):
            visit(child, kind)

    def module_of(expr: ast.expr) -> str | None:
        """The huey module ``expr`` names through an import alias, e.g. ``huey._core``."""
        if isinstance(expr, ast.Name):
            return aliases.get(expr.id)
        if isinstance(expr, ast.Attribute):
            owner = module_of(expr.value)
            if owner is not None and f"{owner}.{expr.attr}" in known:
                return f"{owner}.{expr.attr}"
        return None

    visit(tree, "run-time")
    for node in ast.walk(tree):  # after visit(), so every alias is bound
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            owner = module_of(node.value)
            if owner is not None and f"{owner}.{node.attr}" not in known:
                private(node, f"{owner}.{node.attr}", f"as {ast.unparse(node)}")
    return found


def layer_of(module: str) -> int | None:
    """The layer of ``module``: an exact key wins, else the longest ``package.*`` covering it."""
    if module in LAYERS:
        return LAYERS[module]
    covering = [
        (len(key), layer)
        for key, layer in LAYERS.items()
        if key.endswith(".*") and (module == key[:-2] or module.startswith(key[:-1]))
    ]
    return max(covering)[1] if covering else None


def upward(imp: Import) -> tuple[int, int] | None:
    """(importer's layer, imported's layer) when the import points up, else None."""
    low, high = layer_of(imp.importer), layer_of(imp.imported)
    return (low, high) if low is not None and high is not None and high > low else None


def layering_problems(imports: Iterable[Import]) -> list[str]:
    problems: list[str] = []
    for imp in imports:
        if (layers := upward(imp)) is None:
            continue
        low, high = layers
        head = f"{imp.where}: {imp.importer} (L{low}) imports {imp.imported} (L{high}) [{imp.kind}]"
        if imp.kind != "annotation-only":
            problems.append(
                f"{head}: a module may import only from its own layer or below; move what it needs"
                f" down to L{low} or below, or move this code up to L{high}; if only annotations"
                " need it, import it under `if TYPE_CHECKING:` and add the pair to"
                " ALLOWED_BACK_REFERENCES with a reason"
            )
        elif (imp.importer, imp.imported) not in ALLOWED_BACK_REFERENCES:
            problems.append(
                f"{head}: add ({imp.importer!r}, {imp.imported!r}) to ALLOWED_BACK_REFERENCES"
                " with a reason if this back-reference is deliberate, or type it against a"
                " protocol from a lower layer"
            )
    return problems


def runtime_graph(imports: Iterable[Import]) -> dict[str, dict[str, str]]:
    """importer -> imported -> where, over the imports that execute (all but annotation-only)."""
    graph: dict[str, dict[str, str]] = {}
    for imp in imports:
        if imp.kind == "annotation-only":
            continue
        # Importing huey.a.b runs huey.a's __init__ too, unless huey.a encloses the importer: then
        # it is already running (so `from . import sibling` is no cycle with the package).
        parts = imp.imported.split(".")
        parents = [".".join(parts[:n]) for n in range(1, len(parts))]
        targets = [imp.imported] + [
            p for p in parents if not f"{imp.importer}.".startswith(f"{p}.")
        ]
        for target in targets:
            graph.setdefault(imp.importer, {}).setdefault(target, f"{imp.where} {imp.kind}")
    return graph


def find_cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """Closed module paths; each module on any cycle lies on one of them (its shortest, if new)."""
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if not any(start in cycle for cycle in cycles) and (found := shortest_cycle(graph, start)):
            cycles.append(found)
    return cycles


def shortest_cycle(graph: dict[str, dict[str, str]], start: str) -> list[str] | None:
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:  # breadth first, so the first way back to `start` is a shortest one
        node = queue.popleft()
        for nxt in sorted(graph.get(node, {})):
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return [*reversed(path), start]
            if nxt not in parent:
                parent[nxt] = node
                queue.append(nxt)
    return None


# `ignore[...reportPrivateUsage...]`, a bare `ignore` (silences every rule), `basic` (turns the
# rule off) and any file-level `reportPrivateUsage=` other than true/error.
SUPPRESSION = re.compile(
    r"pyright:\s*(ignore\[[^\]]*\breportPrivateUsage\b|ignore(?!\[)|basic\b"
    r"|.*\breportPrivateUsage\s*=\s*(?!true\b|error\b))"
)


def suppressions(source: str, path: str) -> list[str]:
    """Comments that silence basedpyright's reportPrivateUsage (tokenized: strings don't count)."""
    return [
        f"{path}:{token.start[0]}: {token.string.strip()} silences reportPrivateUsage; use a"
        " public name instead (drop the underscore, or add a public method or function)"
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT and SUPPRESSION.search(token.string)
    ]


def scan_sources(sources: dict[str, str], root: str = "") -> Scan:
    """Scan modules given as {name: source} together; a name ending in ".__init__" is a package."""
    known = frozenset(name.removesuffix(".__init__") for name in sources)
    every = Scan()
    for name, source in sources.items():
        module, path = name.removesuffix(".__init__"), f"{root}{name.replace('.', '/')}.py"
        found = scan(source, module, is_package=name != module, known=known, path=path)
        every.imports += found.imports
        every.private += found.private
    return every


FILES = {".".join(f.relative_to(SRC).with_suffix("").parts): f for f in PACKAGE_DIR.rglob("*.py")}


@functools.cache
def real_tree() -> Scan:
    """Every module under src/huey, scanned once; messages name files as src/huey/..."""
    return scan_sources({name: f.read_text(encoding="utf-8") for name, f in FILES.items()}, "src/")


# --- the real tree ---------------------------------------------------------------------------


def test_every_module_has_a_layer() -> None:
    modules = sorted(name.removesuffix(".__init__") for name in FILES)
    missing = "\n".join(name for name in modules if layer_of(name) is None)
    assert missing == "", f"add these modules to LAYERS at the top of this file:\n{missing}"


def test_no_upward_imports() -> None:
    problems = layering_problems(real_tree().imports)
    assert problems == [], "\n".join(problems)


def test_allowed_back_references_are_used() -> None:
    used = {(i.importer, i.imported) for i in real_tree().imports if i.kind == "annotation-only"}
    used = {pair for pair in used if upward(Import(*pair, "annotation-only", "")) is not None}
    stale = [
        f"{pair!r}: {why}" for pair, why in ALLOWED_BACK_REFERENCES.items() if pair not in used
    ]
    assert stale == [], (
        "drop these ALLOWED_BACK_REFERENCES entries, no upward annotation-only import uses them:\n"
        + "\n".join(stale)
    )


def test_no_runtime_import_cycles() -> None:
    graph = runtime_graph(real_tree().imports)
    problems = [
        f"run-time import cycle: {cycle[0]}"
        + "".join(f" -> {b} ({graph[a][b]})" for a, b in itertools.pairwise(cycle))
        + "; break it: import under `if TYPE_CHECKING:` if only annotations need it, or move the"
        " shared code down a layer"
        for cycle in find_cycles(graph)
    ]
    assert problems == [], "\n".join(problems)


def test_no_cross_module_private_names() -> None:
    assert real_tree().private == [], "\n".join(real_tree().private)


def test_no_private_usage_suppressions() -> None:
    found = [
        problem
        for f in sorted(SRC.rglob("*.py"))
        for problem in suppressions(f.read_text(encoding="utf-8"), str(f.relative_to(SRC.parent)))
    ]
    assert found == [], "\n".join(found)


# --- the checker itself ----------------------------------------------------------------------

KNOWN = frozenset({"huey", "huey._core", "huey._api", "huey.consumer", "huey.consumer._worker"})


def scan_one(source: str, module: str = "huey._task") -> Scan:
    """Scan one module (a name ending in ".__init__" is a package) against KNOWN modules."""
    name = module.removesuffix(".__init__")
    return scan(source, name, is_package=name != module, known=KNOWN, path="x.py")


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("huey._task", "from ._api import Huey", "huey._api [run-time]"),
        ("huey._task", "class C:\n    import huey._api", "huey._api [run-time]"),
        ("huey._task", "if TYPE_CHECKING: from ._api import Huey", "huey._api [annotation-only]"),
        (
            "huey._task",
            "if typing.TYPE_CHECKING:\n if x: import huey._api",
            "huey._api [annotation-only]",
        ),
        (
            "huey._task",
            "if TYPE_CHECKING: pass\nelse: from ._api import Huey",
            "huey._api [run-time]",
        ),
        ("huey._task", "def f(): from .consumer import check_timeout", "huey.consumer [deferred]"),
        (
            "huey._task",
            "def f():\n if TYPE_CHECKING: import huey._api",
            "huey._api [annotation-only]",
        ),
        ("huey._task", "from huey import Huey", "huey [run-time]"),
        ("huey._task", "import redis\nfrom typing import Any", ""),
        # relative imports, from a module at depth 1, at depth 2 and from a package's __init__
        ("huey._task", "from . import _core", "huey._core [run-time]"),
        ("huey._task", "from huey import _core", "huey._core [run-time]"),
        ("huey._task", "from .consumer import _worker", "huey.consumer._worker [run-time]"),
        ("huey.consumer._worker", "from .. import _core", "huey._core [run-time]"),
        ("huey.consumer._worker", "from .._api import Huey", "huey._api [run-time]"),
        ("huey.consumer._worker", "from . import Consumer", "huey.consumer [run-time]"),
        ("huey.consumer.__init__", "from . import _worker", "huey.consumer._worker [run-time]"),
        ("huey.consumer.__init__", "from .._core import x", "huey._core [run-time]"),
    ],
)
def test_checker_resolves_and_classifies_imports(module: str, source: str, expected: str) -> None:
    found = scan_one(source, module).imports
    assert "; ".join(f"{i.imported} [{i.kind}]" for i in found) == expected


def test_checker_reports_upward_imports() -> None:
    def problems(module: str, source: str) -> list[str]:
        return layering_problems(scan_sources({module: source}).imports)

    (deferred,) = problems("huey._core", "def f(): from huey.consumer import x")
    assert deferred.startswith("huey/_core.py:1: huey._core (L0) imports huey.consumer (L3)")
    assert "[deferred]: a module may import only from its own layer or below" in deferred
    assert problems("huey._result", "if TYPE_CHECKING: from ._api import Huey") == []
    (unlisted,) = problems("huey._delivery", "if TYPE_CHECKING: from ._api import Huey")
    assert "add ('huey._delivery', 'huey._api') to ALLOWED_BACK_REFERENCES" in unlisted
    assert problems("huey._api", "from ._core import x\nimport huey.storage.redis") == []


def test_checker_finds_cycles() -> None:
    def cycles(sources: dict[str, str]) -> list[str]:
        graph = runtime_graph(scan_sources(sources).imports)
        return [" -> ".join(cycle) for cycle in find_cycles(graph)]

    deferred = {"huey.a": "from . import b", "huey.b": "def f(): from .a import x"}
    assert cycles(deferred) == ["huey.a -> huey.b -> huey.a"]
    assert cycles({**deferred, "huey.b": "if TYPE_CHECKING: from .a import x"}) == []
    # a submodule importing its sibling through `from . import` is no cycle with the package
    package = {"huey.p.__init__": "from .m import x", "huey.p.m": "from . import o", "huey.p.o": ""}
    assert cycles(package) == []
    # ...but `from . import Name` of a non-module there imports the package: a real cycle
    assert cycles({**package, "huey.p.m": "from . import Name"}) == ["huey.p -> huey.p.m -> huey.p"]
    # but importing huey.p.m runs huey.p's __init__ first, which can close a loop
    through_init = {"huey.a": "from .p.m import x", "huey.p.__init__": "from ..a import y"}
    assert cycles(through_init) == ["huey.a -> huey.p -> huey.a"]
    # `from huey import X` inside huey imports the package itself
    assert cycles({"huey.__init__": "from .a import x", "huey.a": "from huey import y"}) == [
        "huey -> huey.a -> huey"
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from ._api import _HueyState", "huey._api._HueyState (imported by name)"),
        ("from huey._api import Huey, _HueyState", "huey._api._HueyState (imported by name)"),
        ("from . import _core\n_core._helper()", "huey._core._helper (as _core._helper)"),
        ("import huey._core as core\ncore._x", "huey._core._x (as core._x)"),
        ("import huey._core\nhuey._core._x", "huey._core._x (as huey._core._x)"),
        # private modules, dunders and private attributes of non-modules are fine
        ("from . import _core\nfrom .consumer import _worker\nimport huey._core\n_core.x", ""),
        ("from ._version import __version__\n_worker.__name__\nself._private", ""),
    ],
)
def test_checker_reports_private_names(source: str, expected: str) -> None:
    found = scan_one(source).private
    assert len(found) == (1 if expected else 0), found
    assert all(expected in problem for problem in found)


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("x._y  # pyright: ignore[reportAny, reportPrivateUsage]  # why", True),
        ("# pyright: reportPrivateUsage=false", True),
        ("# pyright: basic", True),
        ("x._y  # pyright: ignore", True),
        ("x = 1  # pyright: ignore[reportUnknownVariableType]", False),
        ("s = '# pyright: ignore[reportPrivateUsage]'", False),
    ],
)
def test_checker_finds_suppressions(source: str, caught: bool) -> None:
    assert bool(suppressions(source, "x.py")) is caught
