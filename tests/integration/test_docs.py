"""The docs site builds with warnings as errors, and its reference pages are complete.

Sphinx comes with the ``test`` extra (and the ``docs`` extra); where it is not installed
the build test skips and says so.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import atomcheck
from atomcheck.claim import SCHEMA_FIELDS
from atomcheck.report.csv import CSV_COLUMNS
from atomcheck.verdict import Expectation

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

EXPECTATIONS = sorted(name for name in atomcheck.__all__
                      if isinstance(getattr(atomcheck, name), type)
                      and issubclass(getattr(atomcheck, name), Expectation)
                      and getattr(atomcheck, name) is not Expectation)


def _build(out: Path) -> None:
    """``sphinx-build -W --keep-going -b html docs OUT``."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
         str(DOCS), str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (f"sphinx-build -W failed (exit {proc.returncode}):\n"
                                  f"{proc.stdout}\n{proc.stderr}")


def _text(path: Path) -> str:
    """A built page as text (tags dropped, entities kept simple)."""
    html = path.read_text(encoding="utf-8")
    return re.sub(r"<[^>]+>", "", html).replace("&#39;", "'").replace("&quot;", '"')


def check_every_page_is_built(built: Path) -> None:
    sources = sorted(p.relative_to(DOCS).with_suffix(".html")
                     for p in DOCS.rglob("*.rst") if "_build" not in p.parts)
    missing = [str(s) for s in sources if not (built / s).exists()]
    assert not missing, f"pages not built: {missing}"


def check_the_screenshot_is_shipped(built: Path) -> None:
    assert any(p.name == "report.png" for p in (built / "_images").iterdir())


def check_api_reference_shows_every_expectation_with_its_signature(built: Path) -> None:
    assert len(EXPECTATIONS) >= 11, EXPECTATIONS  # Rises ... Saturates: the scan found them
    page = _text(built / "reference" / "api.html")
    for name in EXPECTATIONS:
        fields = [f.name for f in dataclasses.fields(getattr(atomcheck, name))]
        signature = re.search(rf"class atomcheck\.{name}\(([^)]*)\)", page)
        assert signature, f"{name} has no entry with a signature in reference/api.html"
        shown = re.findall(r"(\w+):", signature.group(1))
        assert shown == fields, f"{name}: the page shows {shown}, the class has {fields}"


def check_api_reference_covers_the_public_api(built: Path) -> None:
    page = (built / "reference" / "api.html").read_text(encoding="utf-8")
    undocumented = [name for name in atomcheck.__all__ if not name.startswith("_")
                    and name not in ("Expectation",) and f'id="atomcheck.{name}"' not in page]
    assert not undocumented, f"public names missing from reference/api.rst: {undocumented}"
    for name in ("models.module_task", "models.sklearn_task", "models.Task", "models.MLPSpec",
                 "data.Dataset"):
        assert f'id="atomcheck.{name}"' in page, name


def check_report_page_names_every_schema_field_and_csv_column(built: Path) -> None:
    page = _text(built / "reference" / "report.html")
    missing = [f for f in (*SCHEMA_FIELDS, *CSV_COLUMNS) if f not in page]
    assert not missing, f"reference/report.rst does not describe: {missing}"


def check_options_page_lists_every_plugin_option(built: Path) -> None:
    page = _text(built / "reference" / "options.html")
    plugin = (ROOT / "src" / "atomcheck" / "plugin.py").read_text(encoding="utf-8")
    options = sorted(set(re.findall(r'addoption\(\s*"(--atomcheck-[a-z-]+)"', plugin)))
    assert len(options) >= 10, options
    missing = [o for o in options if o not in page]
    assert not missing, f"options missing from reference/options.html: {missing}"
    for command in ("report", "compare", "list"):
        assert f"atomcheck {command} --help" in page


CHECKS = [check_every_page_is_built, check_the_screenshot_is_shipped,
          check_api_reference_shows_every_expectation_with_its_signature,
          check_api_reference_covers_the_public_api,
          check_report_page_names_every_schema_field_and_csv_column,
          check_options_page_lists_every_plugin_option]


def test_docs_build_with_warnings_as_errors_and_are_complete(tmp_path: Path) -> None:
    """One test, one build (a module fixture would build once per xdist worker); every
    check runs and every failure is reported."""
    pytest.importorskip("sphinx", reason="sphinx is not installed: pip install -e '.[docs]' "
                                         "(the test extra includes it) to build the docs")
    out = tmp_path / "html"
    _build(out)
    failures = []
    for check in CHECKS:
        try:
            check(out)
        except AssertionError as exc:
            failures.append(f"{check.__name__}: {exc}")
    assert not failures, "\n\n".join(failures)
