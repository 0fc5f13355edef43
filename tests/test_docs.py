"""The documentation site: every public name has a reference entry, and no internal link is
broken. Fast: the site is not built here (CI builds it with ``python -m sphinx -W``); the links
of a build in docs/_build/html are checked when one exists, the sources' links always."""
import importlib
import importlib.util
import re
import sys
import types
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import tensorgrad as tg

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
BUILD = DOCS / "_build" / "html"


def _load_api():
    spec = importlib.util.spec_from_file_location("tensorgrad_api", DOCS / "_ext" / "tensorgrad_api.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module            # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


api = _load_api()
PAGES = api.namespaces()
RENDERED = {page.module: api.render(page) for page in PAGES}
DIRECTIVE = re.compile(r"^\.\. auto(?:class|function|data):: (\S+)$", re.M)
DOCUMENTED = {name for text in RENDERED.values() for name in DIRECTIVE.findall(text)}

# the namespaces users import; the walk of the package must find each of them
NAMESPACES = ["tensorgrad", "tensorgrad.nn", "tensorgrad.nn.functional", "tensorgrad.nn.init",
              "tensorgrad.nn.utils", "tensorgrad.optim", "tensorgrad.data", "tensorgrad.special",
              "tensorgrad.testing", "tensorgrad.compare", "tensorgrad.reference"]


def _public_names(modname):
    module = api._resolve(modname)
    return [(name, getattr(module, name)) for name in module.__all__
            if not isinstance(getattr(module, name), types.ModuleType)]


def _entry(modname, name, obj):
    """The documented dotted name of ``modname.name``: itself, or the page's alias target."""
    if f"{modname}.{name}" in DOCUMENTED:
        return f"{modname}.{name}"
    for page in PAGES:
        if page.module == modname and name in page.aliases:
            return page.aliases[name]
    return None


@pytest.mark.parametrize("modname", sorted({*NAMESPACES, *(p.module for p in PAGES)}))
def test_every_public_name_has_a_reference_entry(modname):
    missing = []
    for name, obj in _public_names(modname):
        target = _entry(modname, name, obj)
        if target is None or target not in DOCUMENTED:
            missing.append(name)
            continue
        owner, _, attr = target.rpartition(".")
        assert getattr(api._resolve(owner), attr) is obj, (modname, name, target)
    assert not missing, f"{modname}: no reference entry for {missing}"


def test_the_top_level_names_are_documented_under_tensorgrad():
    assert {f"tensorgrad.{name}" for name in tg.__all__} <= DOCUMENTED


def test_a_name_is_documented_once():
    names = [name for text in RENDERED.values() for name in DIRECTIVE.findall(text)]
    assert len(names) == len(set(names))


def test_a_module_of_reexports_gets_no_page():
    assert "tensorgrad.ops.elementwise" not in RENDERED
    assert "tensorgrad.functional" not in RENDERED


@pytest.mark.parametrize("line, expected", [
    ("|x| < 1", r"\|x\| < 1"),
    ("max |a - b| over |b|", r"max \|a - b\| over \|b\|"),
    ("``a | b`` and |y|", r"``a | b`` and \|y\|"),
    ("| cell | cell |", "| cell | cell |"),
    ("x || y", "x || y"),
])
def test_absolute_values_in_docstrings_are_not_substitutions(line, expected):
    assert api.escape_bars(line) == expected


# ---- links ---------------------------------------------------------------------------------

def _sources():
    return [p for p in DOCS.rglob("*.md")
            if "_build" not in p.parts and "generated" not in p.parts]


MD_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
DOC_ROLE = re.compile(r"\{doc\}`(?:[^<`]*<)?([^>`]+)>?`")
TOCTREE = re.compile(r"```\{toctree\}\n(.*?)```", re.S)


def _docnames():
    return {str(p.relative_to(DOCS).with_suffix("")) for p in _sources()}


@pytest.mark.parametrize("page", _sources(), ids=lambda p: str(p.relative_to(DOCS)))
def test_the_sources_links_resolve(page):
    text = page.read_text()
    text = re.sub(r"```(?!\{).*?```", "", text, flags=re.S)       # not inside code blocks
    broken = []
    for match in MD_LINK.finditer(text):
        target = match.group(1) or match.group(2)
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#")[0]
        if not (page.parent / path).resolve().exists():
            broken.append(target)
    for target in DOC_ROLE.findall(text):
        base = page.parent.relative_to(DOCS)
        name = target.lstrip("/") if target.startswith("/") else str((base / target))
        name = name.removeprefix("./")
        if name not in _docnames() and not name.startswith("api/generated/"):
            broken.append(f"{{doc}}`{target}`")
    assert not broken, f"{page.name}: broken links {broken}"


def test_every_page_is_in_a_toctree():
    listed = set()
    for page in _sources():
        base = page.parent.relative_to(DOCS)
        for block in TOCTREE.findall(page.read_text()):
            for line in block.splitlines():
                line = line.strip()
                if line and not line.startswith(":"):
                    listed.add(str(base / line).removeprefix("./"))
    assert _docnames() - listed - {"index"} == set()


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])


@pytest.mark.skipif(not (BUILD / "index.html").exists(), reason="no built site in docs/_build/html")
def test_the_built_site_has_no_broken_internal_link():
    parsed = {}
    for path in BUILD.rglob("*.html"):
        if "_static" in path.relative_to(BUILD).parts:     # the theme's template fragments
            continue
        links = _Links()
        links.feed(path.read_text(encoding="utf-8"))
        parsed[path.resolve()] = links
    broken = []
    for path, links in parsed.items():
        for link in links.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if not target.exists():
                broken.append(f"{path.relative_to(BUILD.resolve())}: {link}")
            elif parts.fragment and target in parsed and parts.fragment not in parsed[target].ids:
                broken.append(f"{path.relative_to(BUILD.resolve())}: {link} (no such anchor)")
    assert not broken, "\n".join(broken[:30])
