"""Sphinx configuration for huey's documentation.

Build with ``make docs`` (warnings are errors). The API reference is generated from
the docstrings in ``src/huey`` (Google style, read by napoleon).
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path

from docutils import nodes
from docutils.nodes import Element
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

_HERE = Path(__file__).resolve().parent
# Document the working tree, not whatever huey happens to be installed.
sys.path.insert(0, str(_HERE.parent / "src"))

import huey  # noqa: E402  (needs the path set up above)

project = "huey"
author = "huey contributors"
copyright = "huey contributors"
release = huey.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

# No network during builds: no intersphinx.
templates_path: list[str] = []
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
language = "en"

html_theme = "alabaster"
html_static_path: list[str] = []
html_title = f"huey {release}"

# --- autodoc / napoleon -------------------------------------------------------------

autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
autodoc_class_signature = "mixed"
autodoc_preserve_defaults = True
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
}

napoleon_google_docstring = True
napoleon_numpy_docstring = False
# ``Attributes:`` sections become ``:ivar:`` fields, so they do not clash with the
# attributes autodoc documents itself (dataclass fields) as duplicate objects.
napoleon_use_ivar = True
napoleon_use_rtype = False

# --- cross-references between the public paths ----------------------------------------

# Docstrings refer to public names by their shortest import path (``huey.Huey``,
# ``huey.Result``) while the reference documents them once, in the module that
# defines their public home (``huey.api.Huey``). These are the homes to try.
_HOMES = ("huey.api", "huey.exceptions", "huey.protocols", "huey.signals", "huey.storage")


def _resolve_alias(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: Element
) -> nodes.reference | None:
    """Resolve ``huey.X`` (or ``huey._private.X``) to wherever ``X`` is documented."""
    if node.get("refdomain") != "py":
        return None
    target = str(node.get("reftarget", ""))
    if not target.startswith("huey."):
        return None
    parts = target.split(".")
    # Keep ``Class.member`` together so ``huey.Result.get`` finds ``huey.api.Result.get``.
    tail = ".".join(parts[-2:]) if len(parts) > 2 and parts[-2][:1].isupper() else parts[-1]
    domain = env.get_domain("py")
    for home in _HOMES:
        candidate = f"{home}.{tail}"
        if candidate == target:
            continue
        found = domain.resolve_xref(
            env,
            node.get("refdoc", ""),
            app.builder,
            str(node.get("reftype", "obj")),
            candidate,
            node,
            contnode,
        )
        if isinstance(found, nodes.reference):
            return found
    return None


def _restore_inline_colon(
    app: Sphinx, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """Undo napoleon reading ``"Immediate mode: tasks run..."`` as ``type: text``.

    Google style lets a property's or attribute's docstring start with ``type: text``,
    and napoleon turns the part before the colon into a ``:type:`` field. huey takes
    types from annotations, so that colon is prose: put the text back where it was.
    """
    if what not in {"attribute", "property", "data"}:
        return
    for index, line in enumerate(lines):
        if line.startswith(":type: "):
            prefix = line.removeprefix(":type: ")
            del lines[index]
            if index > 0 and not lines[index - 1].strip():
                del lines[index - 1]
            break
    else:
        return
    for index, line in enumerate(lines):
        if line.strip():
            lines[index] = f"{prefix}: {line}"
            return
    lines.insert(0, prefix)


def _protocol_signature(
    app: Sphinx,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str, str | None] | None:
    """Drop the meaningless ``(*args, **kwargs)`` constructor of protocols and enums."""
    if what == "class" and (getattr(obj, "_is_protocol", False) or _is_enum(obj)):
        return "", return_annotation
    return None


def _is_enum(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, enum.Enum)


# --- the table of contents ---------------------------------------------------------------

# index.rst lists the fixed pages around a ``*`` glob, so that pages added by anyone appear
# without editing the index. A plain glob would also match ``api`` (listed last on
# purpose) and Sphinx would report it as a duplicate, so the ``*`` line is expanded
# here into every other page, alphabetically.
_FIXED_PAGES = frozenset({"index", "quickstart", "guide", "typed-usage", "architecture", "api"})
_GLOB_LINE = "   *\n"


def _expand_topics(app: Sphinx, docname: str, source: list[str]) -> None:
    """Replace the ``*`` entry of the index's toctree by the remaining pages."""
    if docname != "index":
        return
    topics = sorted(name for name in app.env.found_docs if name not in _FIXED_PAGES)
    lines = "".join(f"   {name}\n" for name in topics)
    source[0] = source[0].replace(_GLOB_LINE, lines, 1)


def setup(app: Sphinx) -> None:
    """Register the event handlers above."""
    app.connect("missing-reference", _resolve_alias)
    app.connect("source-read", _expand_topics)
    app.connect("autodoc-process-signature", _protocol_signature)
    # After napoleon (priority 500), which parses the docstring in the same event.
    app.connect("autodoc-process-docstring", _restore_inline_colon, priority=600)
