"""Sphinx configuration of tensorgrad's documentation site.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors). Pages are
MyST Markdown; a page whose front matter names a kernel is a notebook, executed at every build
(myst-nb). The API reference is generated from the package by ``_ext/tensorgrad_api.py``.
"""
import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# this tree's tensorgrad, for autodoc here and for the notebooks' kernels (a child process)
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import tensorgrad  # noqa: E402

project = "tensorgrad"
author = "the tensorgrad authors"
copyright = "the tensorgrad authors"
release = version = tensorgrad.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",      # MathJax served from the site itself: no CDN needed
    "numpydoc",
    "tensorgrad_api",
]

root_doc = "index"
exclude_patterns = ["_build", "_ext", "**.ipynb_checkpoints", "screenshots", "Thumbs.db", ".DS_Store"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}

# MyST: $...$ and $$...$$ math, ::: fences, heading anchors for links such as page.md#section
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# notebooks: executed at every build; a failing cell fails the build
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
# a tensorgrad Graph offers SVG and HTML; the page shows the SVG that dot drew
nb_mime_priority_overrides = [("html", "image/svg+xml", 5)]

# API reference: autodoc + numpydoc, pages written by tensorgrad_api at builder-inited
autosummary_generate = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"          # the numpydoc Parameters sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set = set()

html_theme = "pydata_sphinx_theme"
html_title = "tensorgrad"
html_static_path = ["_static"]
html_css_files = ["tensorgrad.css"]
html_theme_options = {
    "navigation_depth": 2,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": {"**": ["page-toc"], "index": []},
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "getting_started": [], "notebook_corrected": []}
html_show_sourcelink = False
