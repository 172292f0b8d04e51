"""The documentation builds without a single warning, so broken docs fail ``make test``.

The build runs in a subprocess (as ``make docs`` does), on a copy of ``docs/`` with one
extra page, which also checks that pages added by anyone appear in the index.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

pytest.importorskip("sphinx", reason="Sphinx comes with the 'docs' extra (make installs it)")

EXTRA_PAGE = """\
An extra page
=============

Added by the test, to check that the index lists every page.
"""


def _toctree_links(index_html: str) -> list[str]:
    """Page links of the index's table of contents, in order, without duplicates."""
    body = index_html.split('class="toctree-wrapper', 1)[1]
    links = re.findall(r'href="([\w-]+)\.html"', body)
    return list(dict.fromkeys(links))


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    """``sphinx-build -W`` succeeds and the index lists every page in the documented order."""
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build"))
    (source / "zz-extra-page.rst").write_text(EXTRA_PAGE, encoding="utf-8")
    # conf.py finds the package through ../src, relative to itself.
    (tmp_path / "src").symlink_to(ROOT / "src", target_is_directory=True)
    out = tmp_path / "html"

    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    completed = subprocess.run(
        [*command, "-d", str(tmp_path / "doctrees"), str(source), str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert completed.returncode == 0, f"sphinx-build failed:\n{completed.stderr}"
    links = _toctree_links((out / "index.html").read_text(encoding="utf-8"))
    fixed_first = ["quickstart", "guide", "typed-usage"]
    assert links[:3] == fixed_first
    assert links[-1] == "api"
    assert "zz-extra-page" in links[3:-1]
    for page in [*fixed_first, "api", "zz-extra-page"]:
        assert (out / f"{page}.html").is_file()
