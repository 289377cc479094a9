"""Dependencies earn their place: pyproject's requirements against what the code imports.

- every runtime requirement is imported by the library (``src/atomcheck``);
- every package the library imports is the standard library, a runtime requirement, or in
  the extra of the feature that imports it (so an optional feature's import is declared);
- every package of a feature extra is imported by the library, and every package of a
  development extra (``test``, ``docs``) is used by the repository's tests,
  docs, claims or benchmarks (imported, or used as a tool: see ``TOOL_USES``).

Imports are read with ``ast`` (lazy imports inside functions count), never executed.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "src" / "atomcheck"

#: Distribution names whose import name is not the name with "-" → "_".
IMPORT_NAMES = {
    "scikit-learn": ("sklearn",),
    "import-linter": ("importlinter",),
    "pytest-benchmark": ("pytest_benchmark",),
    "pytest-xdist": ("xdist",),
}

#: Extras of development tools, used by the repository rather than imported by the library.
DEVELOPMENT_EXTRAS = ("test", "docs")

#: Development packages used as tools, not imported: (file under the root, text showing the
#: use). The file must contain the text, so a stale entry fails too.
TOOL_USES = {
    "pytest-xdist": ("README.md", " -n 2"),
    "import-linter": ("tests/unit/test_import_contracts.py", "lint-imports"),
    "setuptools": ("tests/integration/test_packaging.py", "--no-build-isolation"),
}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _import_names(req: Requirement) -> set[str]:
    """The top-level modules a requirement provides (``dask[distributed]``: both)."""
    name = req.name.lower()
    names = set(IMPORT_NAMES.get(name, (name.replace("-", "_"),)))
    return names | {extra.replace("-", "_") for extra in req.extras}


def _imports(paths: Iterable[Path]) -> dict[str, set[str]]:
    """Top-level module imported → files importing it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                found.setdefault(module.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def _python_files(*folders: str) -> list[Path]:
    return [p for folder in folders if (ROOT / folder).exists()
            for p in sorted((ROOT / folder).rglob("*.py"))]


@functools.cache
def _repository_imports() -> frozenset[str]:
    """Every top-level module imported anywhere in the repository's Python (read once; a
    line-start regex, not ``ast``: this scan only needs to find uses, and is 10x faster)."""
    found: set[str] = set()
    for path in _python_files("src", "tests", "claims", "benchmarks", "docs", "examples"):
        found.update(_IMPORT_LINE.findall(path.read_text(encoding="utf-8")))
    return frozenset(found)


_IMPORT_LINE = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)


LIBRARY_IMPORTS = _imports(sorted(LIBRARY.rglob("*.py")))
PROJECT = _pyproject()["project"]
RUNTIME = [Requirement(r) for r in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(r) for r in reqs]
          for name, reqs in PROJECT["optional-dependencies"].items()}
FEATURE_EXTRAS = sorted(set(EXTRAS) - set(DEVELOPMENT_EXTRAS))


def test_the_scan_sees_the_library() -> None:
    """A scan that found nothing would pass every check below vacuously."""
    assert {"numpy", "scipy", "torch", "pytest"} <= set(LIBRARY_IMPORTS)
    assert "matplotlib" in LIBRARY_IMPORTS  # a lazy import inside a function counts


@pytest.mark.parametrize("req", RUNTIME, ids=lambda r: r.name)
def test_runtime_dependency_is_imported_by_the_library(req: Requirement) -> None:
    names = _import_names(req)
    assert names & set(LIBRARY_IMPORTS), (
        f"pyproject lists {req} as a runtime dependency, but nothing under src/atomcheck "
        f"imports {sorted(names)}: drop it, or move it to the extra of the feature (or the "
        "tools) that use it.")


def test_every_library_import_is_declared() -> None:
    declared: dict[str, str] = {}
    for req in RUNTIME:
        declared |= {name: "runtime" for name in _import_names(req)}
    for extra in FEATURE_EXTRAS:
        for req in EXTRAS[extra]:
            declared |= {name: extra for name in _import_names(req) if name not in declared}
    undeclared = {name: sorted(files) for name, files in LIBRARY_IMPORTS.items()
                  if name != "atomcheck" and name not in sys.stdlib_module_names
                  and name not in declared}
    assert not undeclared, (
        f"the library imports packages pyproject does not declare: {undeclared}. Add each to "
        "[project] dependencies (imported on every path) or to the optional-dependencies "
        "extra of the feature that imports it (imported lazily, with a clear message when "
        "missing).")


@pytest.mark.parametrize("extra", FEATURE_EXTRAS)
def test_feature_extra_installs_only_what_the_library_imports(extra: str) -> None:
    unused = [str(req) for req in EXTRAS[extra] if not _import_names(req) & set(LIBRARY_IMPORTS)]
    assert not unused, (f"extra [{extra}] installs {unused}, which nothing under src/atomcheck "
                        "imports.")


@pytest.mark.parametrize("extra", [e for e in DEVELOPMENT_EXTRAS if e in EXTRAS])
def test_development_extra_packages_are_used(extra: str) -> None:
    used = _repository_imports()
    unused = []
    for req in EXTRAS[extra]:
        name = req.name.lower()
        if name in TOOL_USES:
            path, text = TOOL_USES[name]
            if text not in (ROOT / path).read_text(encoding="utf-8"):
                unused.append(f"{req} (expected {text!r} in {path})")
        elif not _import_names(req) & used:
            unused.append(str(req))
    assert not unused, (f"extra [{extra}] installs {unused}, which nothing in the repository "
                        "imports or runs; drop it, or record its use in TOOL_USES.")


def test_feature_extras_are_covered_by_the_test_extra() -> None:
    """CI installs ``.[test]`` only, so the optional features' tests must find their packages."""
    test = {req.name.lower() for req in EXTRAS["test"]}
    missing = {extra: [r.name for r in EXTRAS[extra] if r.name.lower() not in test]
               for extra in [*FEATURE_EXTRAS, "docs"]}
    # cloudpickle comes with dask[distributed], pandas with statsmodels.
    indirect = {"cloudpickle", "pandas"}
    missing = {k: [n for n in v if n.lower() not in indirect] for k, v in missing.items()}
    assert not any(missing.values()), f"add to the test extra: {missing}"
