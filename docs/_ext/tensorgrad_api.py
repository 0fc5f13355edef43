"""The API reference, generated from the package itself.

Every name a user can reach is documented once, under the shortest public path that reaches
it: first the names of ``tensorgrad.__all__``, then, for every module of the package whose
dotted path has no part starting with ``_``, the names of its ``__all__`` that were not already
documented (the same object reached twice is documented once). A module whose remaining list
is empty (``tensorgrad.ops.elementwise``, whose ops are all in ``tensorgrad``) gets no page.
So a new op, a new layer or a new namespace (``tensorgrad.linalg``, ...) with an ``__all__``
appears in the reference without any edit of the docs.

At ``builder-inited`` the extension writes one page per namespace into ``docs/api/generated/``
(``autosummary`` table, then ``autoclass``/``autofunction``/``autodata`` per name, grouped by
the module that defines them); ``docs/api/index.md`` includes that folder with a glob.
``tests/test_docs.py`` imports :func:`namespaces` to check that every public name has an entry.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import types
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "tensorgrad"
OUT = Path(__file__).resolve().parent.parent / "api" / "generated"


@dataclass
class Namespace:
    """One reference page: a module path and the names documented there, in order."""

    module: str
    names: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)   # name -> where it is documented


def _public(modname: str) -> bool:
    return not any(part.startswith("_") for part in modname.split("."))


_SCALARS = (int, float, complex, str, bytes, bool, type(None))


def _is_shared_object(obj) -> bool:
    """Whether identity says two names are one object: not for scalars, which Python may
    intern (two equal constants can be one object without being one name)."""
    return not isinstance(obj, _SCALARS)


def _modules() -> list[types.ModuleType]:
    """The package's public modules, the top level first, then by depth and name."""
    pkg = importlib.import_module(PACKAGE)
    modules = {PACKAGE: pkg}
    for info in pkgutil.walk_packages(pkg.__path__, PACKAGE + "."):
        if _public(info.name):
            modules[info.name] = importlib.import_module(info.name)
    for attr in dir(pkg):        # namespaces made at import time count too
        value = getattr(pkg, attr)
        if isinstance(value, types.ModuleType) and _public(value.__name__) \
                and value.__name__.startswith(PACKAGE + "."):
            modules.setdefault(value.__name__, value)
    return [modules[n] for n in sorted(modules, key=lambda n: (n.count("."), n))]


def namespaces() -> list[Namespace]:
    """The reference's pages: each public module with the names it is the first to export."""
    documented: dict[int, str] = {}          # id(object) -> its documented dotted name
    pages = []
    for mod in _modules():
        exported = getattr(mod, "__all__", None)
        if not exported:
            continue
        page = Namespace(mod.__name__)
        new: dict[int, str] = {}
        for name in exported:
            obj = getattr(mod, name)
            if isinstance(obj, types.ModuleType):
                continue                      # a submodule: its own page
            if _is_shared_object(obj) and id(obj) in documented:
                page.aliases[name] = documented[id(obj)]
                continue
            page.names.append(name)
            if _is_shared_object(obj):
                new.setdefault(id(obj), f"{mod.__name__}.{name}")
        documented.update(new)
        if page.names:                        # a module of re-exports only gets no page
            pages.append(page)
    return pages


def _resolve(modname: str) -> types.ModuleType:
    """A module by dotted name: imported, or reached as attributes of the package (a
    namespace made at import time has no file to import)."""
    try:
        return importlib.import_module(modname)
    except ImportError:
        obj = importlib.import_module(PACKAGE)
        for part in modname.split(".")[1:]:
            obj = getattr(obj, part)
        return obj


def _directive(obj) -> str:
    if inspect.isclass(obj):
        return "autoclass"
    if callable(obj):
        return "autofunction"
    return "autodata"


def _title_of(mod: types.ModuleType) -> str:
    """The first sentence of a module's docstring, or empty."""
    doc = inspect.getdoc(mod) or ""
    first = doc.split("\n\n")[0].replace("\n", " ").strip()
    return first


def _defining_module(obj, fallback: str) -> str:
    mod = getattr(obj, "__module__", None)
    if not isinstance(mod, str) or not mod.startswith(PACKAGE):
        return fallback
    return mod


def render(page: Namespace) -> str:
    """The reStructuredText of one namespace page."""
    mod = _resolve(page.module)
    lines = [page.module, "=" * len(page.module), ""]
    summary = _title_of(mod)
    if summary:
        lines += [summary, ""]
    lines += [f".. currentmodule:: {page.module}", "", ".. autosummary::", ""]
    lines += [f"   {name}" for name in page.names]
    lines.append("")
    if page.aliases:
        lines += ["Also here, documented where they are first exported:", ""]
        lines += [f"- ``{name}`` is :py:obj:`{target}`" for name, target in page.aliases.items()]
        lines.append("")
    groups: dict[str, list[str]] = {}
    for name in page.names:
        groups.setdefault(_defining_module(getattr(mod, name), page.module), []).append(name)
    many = len(groups) > 1
    for source, names in groups.items():
        if many:
            heading = f"From ``{source}``"
            lines += [heading, "-" * len(heading), ""]
            title = _title_of(_resolve(source))
            if title and source != page.module:
                lines += [title, ""]
        for name in names:
            obj = getattr(mod, name)
            directive = _directive(obj)
            lines.append(f".. {directive}:: {page.module}.{name}")
            if directive == "autoclass":
                lines += ["   :members:", "   :show-inheritance:"]
            elif directive == "autodata":
                lines.append("   :no-value:")
            lines.append("")
    return "\n".join(lines)


def write(out: Path = OUT) -> list[Path]:
    """Write every namespace page into ``out``; remove pages of namespaces that are gone."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for page in namespaces():
        path = out / f"{page.module}.rst"
        text = render(page)
        if not path.exists() or path.read_text() != text:   # unchanged pages keep their mtime
            path.write_text(text)
        written.append(path)
    for stale in set(out.glob("*.rst")) - set(written):
        stale.unlink()
    return written


# ---- docstrings as the package writes them, read by numpydoc -------------------------------

_ABS = re.compile(r"(?<![\\|\w])\|(?=[^\s|])([^|`]*?[^\s|\\])\|(?![\w|])")


def escape_bars(line: str) -> str:
    """``|x|`` (an absolute value in a formula) as text, not a reST substitution; inline
    literals (between double backquotes) are left alone."""
    parts = line.split("``")
    for i in range(0, len(parts), 2):
        parts[i] = _ABS.sub(lambda m: "\\|" + m.group(1) + "\\|", parts[i])
    return "``".join(parts)


def _on_docstring(app, what, name, obj, options, lines):
    lines[:] = [escape_bars(line) for line in lines]


def _teach_numpydoc_shapes():
    """The layers' docstrings have a ``Shapes`` section (PyTorch's "Shape:"); numpydoc knows
    no such section and would drop it. Parse it, and render it after Returns."""
    from numpydoc import docscrape, docscrape_sphinx

    docscrape.NumpyDocString.sections.setdefault("Shapes", [])
    render_returns = docscrape_sphinx.SphinxDocString._str_returns
    if getattr(render_returns, "_with_shapes", False):
        return

    def _str_returns(self, name="Returns"):
        out = render_returns(self, name)
        if name == "Returns" and self["Shapes"]:
            out += self._str_section("Shapes")
        return out

    _str_returns._with_shapes = True
    docscrape_sphinx.SphinxDocString._str_returns = _str_returns


def _on_builder_inited(app):
    write()


def setup(app):
    _teach_numpydoc_shapes()
    app.connect("builder-inited", _on_builder_inited)
    app.connect("autodoc-process-docstring", _on_docstring, priority=100)   # before numpydoc
    return {"parallel_read_safe": True, "parallel_write_safe": True}
