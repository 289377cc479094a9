"""Renderers for a run: terminal table, Markdown, CSV, HTML, JSON schema v1.

Each takes the run document (:func:`atomcheck.report.schema.build_run`) and returns text;
none touches the terminal. ``write_report(path, run)`` picks the format by suffix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from atomcheck.errors import InvalidClaim
from atomcheck.report.csv import render_csv
from atomcheck.report.html import render_html
from atomcheck.report.markdown import render_markdown
from atomcheck.report.schema import SCHEMA, build_run, render_json
from atomcheck.report.table import render_table

__all__ = ["SCHEMA", "build_run", "render_csv", "render_html", "render_json", "render_markdown",
           "render_table",
           "write_report", "REPORT_SUFFIXES"]

REPORT_SUFFIXES = {".json": render_json, ".md": render_markdown, ".csv": render_csv,
                   ".html": render_html}


def check_report_path(path: str) -> None:
    """Raise :class:`InvalidClaim` unless ``path`` has a known report suffix and can be
    written (checked before any training, so a long run never ends in a traceback)."""
    target = Path(path)
    if target.suffix.lower() not in REPORT_SUFFIXES:
        raise InvalidClaim(
            f"--atomcheck-report={path!r}: unknown suffix {target.suffix!r}; use one of "
            f"{sorted(REPORT_SUFFIXES)}, e.g. --atomcheck-report=report.md.")
    if target.is_dir():
        raise InvalidClaim(f"--atomcheck-report={path!r} is a directory; name a file in it, "
                           f"e.g. {str(target / 'report.md')!r}.")
    folder = target.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidClaim(f"--atomcheck-report={path!r}: cannot write into {str(existing)!r} "
                           "(not a writable folder). Choose another path.")
    if target.exists() and not os.access(target, os.W_OK):
        raise InvalidClaim(f"--atomcheck-report={path!r} exists and is not writable.")


def write_report(path: str | Path, run: dict[str, Any]) -> Path:
    """Render ``run`` by ``path``'s suffix and write it atomically."""
    path = Path(path)
    check_report_path(str(path))
    text = REPORT_SUFFIXES[path.suffix.lower()](run)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
