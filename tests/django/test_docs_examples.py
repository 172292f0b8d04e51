"""The examples of ``docs/django.rst`` run, not only type-check.

Its settings example (with the ``TASKS`` one) becomes a project's ``settings.py``, its
``tasks.py`` example the app's ``tasks.py``, and its Tasks framework examples one more
module of the app; ``manage.py migrate`` and a ``manage.py shell`` that imports them run
as a reader would. Only what cannot be kept on a test machine is overridden after the
examples: the database, the SQLite file of ``HUEY["connection"]`` and ``immediate`` (so
the tasks run without a consumer; ``test_project.py`` covers ``run_huey``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from tests.test_doc_snippets import ROOT, Snippet, page_snippets

from .project import make_project

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PAGE = ROOT / "docs" / "django.rst"


def _example(snippets: list[Snippet], first_line: str) -> str:
    """The one example of the page that starts with ``first_line``."""
    found = [snippet for snippet in snippets if snippet.code[0].startswith(first_line)]
    assert len(found) == 1, f"{len(found)} examples of {PAGE.name} start with {first_line!r}"
    return "\n".join(found[0].code) + "\n"


def _examples_from(snippets: list[Snippet], first_line: str) -> str:
    """The example starting with ``first_line`` and the examples continuing its module."""
    start = next(i for i, snippet in enumerate(snippets) if snippet.code[0] == first_line)
    module = [snippets[start]]
    for snippet in snippets[start + 1 :]:
        if snippet.marker is not None:  # a new module (or a skipped example)
            break
        module.append(snippet)
    return "\n\n".join("\n".join(snippet.code) for snippet in module) + "\n"


def test_the_django_page_examples_run(tmp_path: Path) -> None:
    snippets = page_snippets(PAGE)
    database = tmp_path / "shop.sqlite3"
    settings = (
        _example(snippets, "INSTALLED_APPS = [")
        + _example(snippets, "TASKS = {")
        + f"""
SECRET_KEY = "only-for-tests"
USE_TZ = True
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {str(database)!r}}}}}
HUEY["connection"] = {{"filename": {str(tmp_path / "huey.db")!r}}}
HUEY["immediate"] = True
"""
    )
    project = make_project(tmp_path / "site", {})
    (project.root / "proj" / "settings.py").write_text(settings)
    (project.root / "shop" / "models.py").write_text("")
    (project.root / "shop" / "tasks.py").write_text(_example(snippets, "from django.contrib"))
    totals = _examples_from(snippets, "from datetime import timedelta")
    (project.root / "shop" / "totals.py").write_text(totals)
    project.manage("migrate")
    done = project.manage(
        "shell",
        "--no-imports",
        "-c",
        """
import json
from django.contrib.auth.models import User
import shop.tasks
shop.tasks.sign_up("ada")
from shop import totals
print(json.dumps({
    "active": list(User.objects.values_list("username", "is_active")),
    "deactivated": shop.tasks.deactivate.call_local(User.objects.get().pk),
    "status": totals.status,
    "waiting": totals.dropped.status.value,
}))
""",
    )
    *printed, last = done.stdout.strip().splitlines()
    seen = cast(dict[str, Any], json.loads(last))
    # What the examples print: deactivate(7)'s result, the welcome of sign_up("ada"),
    # then the finished result's value and attempts (and its finish time).
    assert printed[:2] == ["0", "welcome ada"], done.stdout
    assert printed[2].startswith("5 1 "), done.stdout
    assert len(printed) == 3, done.stdout  # the revoked one has not been taken yet
    assert seen == {
        "active": [["ada", True]],
        "deactivated": 1,
        "status": "SUCCESSFUL",
        "waiting": "READY",
    }
