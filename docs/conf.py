"""Sphinx configuration of atomcheck's docs (``sphinx-build -W -b html docs docs/_build``)."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))  # the local extension that renders the option table

project = "atomcheck"
author = "The atomcheck developers"
copyright = "2026, The atomcheck developers"
try:
    release = metadata.version("atomcheck")
except metadata.PackageNotFoundError:  # building from a checkout that is not installed
    release = "0.1.0"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "atomcheck_docs",
]

# numpy-style docstrings only; "Examples" sections stay doctest blocks.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options: dict[str, object] = {}
autoclass_content = "class"

exclude_patterns = ["_build"]
templates_path: list[str] = []
html_theme = "alabaster"
html_title = f"atomcheck {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "Empirical claims about deep learning as statistical tests that pytest runs",
    "fixed_sidebar": True,
    "page_width": "1240px",  # code lines of up to 100 characters fit without scrolling
    "body_max_width": "none",
}
# Option names keep their "--" (no en dashes in help text quoted from the plugin).
smartquotes = False
