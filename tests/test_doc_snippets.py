"""The Python examples of the README and of ``docs/`` pass ``mypy --strict`` as written.

Every ```` ```python ```` block of ``README.md`` and every ``.. code-block:: python`` of
``docs/*.rst`` is extracted. The examples of one page read like one session (later
examples use the ``huey`` and the tasks defined earlier), so they are checked that way:
a page's examples are joined, in order, into one module. mypy runs once, over every
module, with the settings of ``mypy.ini``; each error is reported at its line in the
page it comes from.

The reader's own code that examples import is replaced by :data:`STAND_INS`: the
custom-storage page imports ``MyStorage`` from ``my_package``, which stands for a
storage with every capability (huey's ``MemoryStorage``).

A line an example shows being rejected by the checker carries the
``# type: ignore[code]`` comment that mypy needs; ``--strict`` reports an ignore that
is not needed, so such a line stays a real error.

Two markers, placed on the line just before an example (an HTML comment in Markdown,
an rst comment in ``.rst``), change how it is checked:

``doc-snippet: new-module``
    the example starts a new module: it does not see the examples before it (a page
    that switches to an unrelated setup), and the examples after it continue it.
``doc-snippet: skip: <reason>``
    the example is not checked. The reason is required; keep these few.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES: tuple[Path, ...] = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst")))

STAND_INS: dict[str, str] = {
    "my_package": "from huey.storage import MemoryStorage\n\nMyStorage = MemoryStorage\n",
}
"""Modules the examples import as if the reader had written them: name to source."""

MARKER = re.compile(r"doc-snippet:\s*(?P<rest>.*?)\s*(?:-->)?\s*$")
FENCE = re.compile(r"^```python\s*$")
CODE_BLOCK = re.compile(r"^(?P<indent>\s*)\.\. code-block:: python\s*$")
MYPY_LINE = re.compile(r"^(?P<file>[^:\n]+\.py):(?P<line>\d+): (?P<kind>error|note): (?P<text>.*)$")


@dataclass(frozen=True, slots=True)
class Snippet:
    """One Python example of a page.

    Attributes:
        page: the page, relative to the repository root.
        line: the page's line number (1-based) of the example's first line.
        code: the example's lines, dedented.
        marker: the ``doc-snippet:`` marker before it (``None``, ``"new-module"``,
            ``"skip: <reason>"``).
    """

    page: str
    line: int
    code: tuple[str, ...]
    marker: str | None


def _marker_before(lines: Sequence[str], index: int) -> str | None:
    """The ``doc-snippet:`` marker on the last non-blank line before ``lines[index]``."""
    for previous in reversed(lines[:index]):
        if previous.strip():
            stripped = previous.strip()
            if stripped.startswith(("<!--", "..")) and (found := MARKER.search(stripped)):
                return found["rest"]
            return None
    return None


def markdown_snippets(page: str, text: str) -> list[Snippet]:
    """The ```` ```python ```` blocks of a Markdown page."""
    lines = text.splitlines()
    snippets: list[Snippet] = []
    index = 0
    while index < len(lines):
        if not FENCE.match(lines[index]):
            index += 1
            continue
        start = index + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"{page}:{index + 1}: unclosed ```python block")
        code = tuple(lines[start:end])
        snippets.append(Snippet(page, start + 1, code, _marker_before(lines, index)))
        index = end + 1
    return snippets


def rst_snippets(page: str, text: str) -> list[Snippet]:
    """The ``.. code-block:: python`` directives of an rst page (at any indentation)."""
    lines = text.splitlines()
    snippets: list[Snippet] = []
    for index, line in enumerate(lines):
        found = CODE_BLOCK.match(line)
        if found is None:
            continue
        indent = len(found["indent"])
        body = index + 1
        # Directive options (":caption: ...") come first, then a blank line.
        while body < len(lines) and lines[body].strip().startswith(":"):
            body += 1
        while body < len(lines) and not lines[body].strip():
            body += 1
        end = body
        while end < len(lines) and (
            not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
        ):
            end += 1
        while end > body and not lines[end - 1].strip():
            end -= 1
        code = tuple(textwrap.dedent("\n".join(lines[body:end])).splitlines())
        if not code:
            raise ValueError(f"{page}:{index + 1}: empty code-block")
        snippets.append(Snippet(page, body + 1, code, _marker_before(lines, index)))
    return snippets


def page_snippets(path: Path) -> list[Snippet]:
    """The Python examples of one page, in page order."""
    page = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        return markdown_snippets(page, text)
    return rst_snippets(page, text)


ALL_SNIPPETS: dict[str, list[Snippet]] = {
    path.relative_to(ROOT).as_posix(): page_snippets(path) for path in PAGES
}


@dataclass(slots=True)
class Module:
    """Examples joined into one module, with the page line of every module line."""

    name: str
    lines: list[str]
    origin: list[tuple[str, int] | None]


def build_modules(pages: dict[str, list[Snippet]]) -> list[Module]:
    """Join each page's examples into modules, following the markers."""
    modules: list[Module] = []
    for page, snippets in pages.items():
        stem = re.sub(r"\W", "_", Path(page).stem).lower()
        current: Module | None = None
        for snippet in snippets:
            if snippet.marker is not None and snippet.marker.startswith("skip"):
                continue
            if current is None or snippet.marker == "new-module":
                current = Module(f"doc_{stem}_{len(modules)}", [], [])
                modules.append(current)
            current.lines.append("")
            current.origin.append(None)
            current.lines.extend(snippet.code)
            lines = range(snippet.line, snippet.line + len(snippet.code))
            current.origin.extend((page, line) for line in lines)
    return modules


def _all_snippets() -> Iterator[Snippet]:
    for snippets in ALL_SNIPPETS.values():
        yield from snippets


def test_examples_are_found() -> None:
    """The extraction finds the examples, so the mypy check below cannot pass vacuously."""
    counts = {page: len(snippets) for page, snippets in ALL_SNIPPETS.items()}
    assert counts["README.md"] >= 2
    assert counts["docs/typed-usage.rst"] >= 10
    assert sum(counts.values()) >= 40


MAX_SKIPS = 3
"""Unchecked examples allowed in all: an example worth showing is worth checking."""


def test_markers_are_known_and_skips_say_why() -> None:
    """A misspelled marker would silently check (or skip) the wrong thing."""
    skipped: list[str] = []
    for snippet in _all_snippets():
        where = f"{snippet.page}:{snippet.line}"
        marker = snippet.marker
        if marker is None or marker == "new-module":
            continue
        assert marker.startswith("skip:"), f"{where}: unknown marker 'doc-snippet: {marker}'"
        assert marker.removeprefix("skip:").strip(), f"{where}: a skip needs a reason"
        skipped.append(where)
    assert len(skipped) <= MAX_SKIPS, f"too many unchecked examples: {skipped}"


def test_examples_pass_mypy_strict(tmp_path: Path) -> None:
    """Every example passes ``mypy --strict`` with the repository's settings."""
    modules = build_modules(ALL_SNIPPETS)
    by_file: dict[str, Module] = {}
    for module in modules:
        path = tmp_path / f"{module.name}.py"
        path.write_text("\n".join(module.lines) + "\n", encoding="utf-8")
        by_file[path.name] = module
    stand_ins = [tmp_path / f"{name}.py" for name in STAND_INS]
    for path, source in zip(stand_ins, STAND_INS.values(), strict=True):
        path.write_text(source, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "mypy.ini"),
        # A cache of its own, so huey's modules are analysed once, not on every run.
        "--cache-dir",
        str(ROOT / ".mypy_cache" / "doc-snippets"),
        "--no-error-summary",
        "--hide-error-context",
        *(str(tmp_path / name) for name in by_file),
        *(str(path) for path in stand_ins),
    ]
    completed = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False, timeout=100
    )
    problems: list[str] = []
    for line in completed.stdout.splitlines():
        found = MYPY_LINE.match(line)
        owner = by_file.get(Path(found["file"]).name) if found else None
        if found is None or owner is None:
            problems.append(line)
            continue
        origin = owner.origin[int(found["line"]) - 1]
        where = f"{origin[0]}:{origin[1]}" if origin else f"{owner.name}:{found['line']}"
        problems.append(f"{where}: {found['kind']}: {found['text']}")
    if completed.returncode not in (0, 1) or completed.stderr.strip():
        problems.append(f"mypy exited with {completed.returncode}: {completed.stderr.strip()}")
    if completed.returncode != 0:
        report = "\n".join(problems)
        pytest.fail(f"documentation examples fail mypy --strict:\n{report}", pytrace=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Intro\n\n```python\nx = 1\n```\n", [("x = 1",)]),
        ("<!-- doc-snippet: new-module -->\n```python\ny: int = 2\n```\n", [("y: int = 2",)]),
    ],
)
def test_markdown_extraction(text: str, expected: list[tuple[str, ...]]) -> None:
    """Markdown blocks are found with their code."""
    assert [snippet.code for snippet in markdown_snippets("x.md", text)] == expected


def test_rst_extraction_handles_nesting_options_and_markers() -> None:
    """Indented directives, options and trailing text are handled; markers are read."""
    text = textwrap.dedent(
        """\
        Title
        =====

        .. doc-snippet: skip: a fragment

        .. code-block:: python

            a = 1

            b = 2
        after

        Term
            .. code-block:: python
               :caption: nested

               c = 3

            more text
        """
    )
    snippets = rst_snippets("x.rst", text)
    assert [snippet.code for snippet in snippets] == [("a = 1", "", "b = 2"), ("c = 3",)]
    assert [snippet.marker for snippet in snippets] == ["skip: a fragment", None]
    assert [snippet.line for snippet in snippets] == [8, 17]
