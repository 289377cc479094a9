"""The package builds as a wheel with complete metadata, the native kernel's C source, the
pytest11 entry point and a README that reads well on a package index.

The wheel is built from a copy of what a source distribution holds (pyproject.toml,
README.md, LICENSE, src/), so the build leaves nothing in the working tree, with
``pip wheel --no-deps --no-build-isolation`` (setuptools comes with the ``test`` extra).
"""

from __future__ import annotations

import email.parser
import email.policy
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "atomcheck"

pytestmark = pytest.mark.slow


def _setuptools_version() -> Version | None:
    try:
        import setuptools
    except ImportError:
        return None
    return Version(setuptools.__version__)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    version = _setuptools_version()
    if version is None or version < Version("77"):
        pytest.skip(f"setuptools>=77 is needed to build without isolation (found {version}); "
                    "pip install -e '.[test]' brings it")
    tree = tmp_path_factory.mktemp("sdist")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so"))
    dist = tree / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(dist), str(tree)],
        cwd=tree, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"pip wheel failed:\n{proc.stdout}\n{proc.stderr}"
    (built,) = dist.glob("atomcheck-*.whl")
    return zipfile.ZipFile(built)


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    pattern = rf"atomcheck-[^/]+\.dist-info/{name}"
    (path,) = [n for n in wheel.namelist() if re.fullmatch(pattern, n)]
    return wheel.read(path).decode("utf-8")


def _metadata(wheel: zipfile.ZipFile) -> email.message.EmailMessage:
    parser = email.parser.Parser(policy=email.policy.compat32)
    return parser.parsestr(_dist_info(wheel, "METADATA"))  # type: ignore[return-value]


def test_metadata_is_complete(wheel: zipfile.ZipFile) -> None:
    meta = _metadata(wheel)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["Name"] == "atomcheck"
    assert meta["Version"] == project["version"]
    assert meta["Summary"] == project["description"]
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["License-Expression"] == "MIT"
    assert meta["License-File"] == "LICENSE"
    assert meta["Author"] or meta["Author-email"]
    assert "pytest" in (meta["Keywords"] or "")
    classifiers = meta.get_all("Classifier") or []
    assert "Framework :: Pytest" in classifiers
    assert any(c.startswith("Programming Language :: Python :: 3.") for c in classifiers)
    assert meta["Description-Content-Type"] == "text/markdown"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert meta.get_payload().strip() == readme.strip()
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist") or []]
    runtime = {(r.name, str(r.specifier)) for r in requires if r.marker is None}
    for dependency in map(Requirement, project["dependencies"]):
        assert (dependency.name, str(dependency.specifier)) in runtime, (dependency, runtime)
    extras = set(meta.get_all("Provides-Extra") or [])
    assert set(project["optional-dependencies"]) <= extras


def test_license_file_is_mit_and_shipped(wheel: zipfile.ZipFile) -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert _dist_info(wheel, "licenses/LICENSE") == text


def test_entry_points(wheel: zipfile.ZipFile) -> None:
    points = _dist_info(wheel, "entry_points.txt")
    assert re.search(r"\[pytest11\]\s*\natomcheck = atomcheck\.plugin\b", points), points
    assert re.search(r"\[console_scripts\]\s*\natomcheck = atomcheck\.cli:main\b", points), points


def test_wheel_holds_every_module_and_the_native_kernel_source(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    expected = {str(p.relative_to(SOURCE.parent)).replace("\\", "/")
                for pattern in ("*.py", "*.c", "py.typed") for p in SOURCE.rglob(pattern)
                if "__pycache__" not in p.parts}
    assert any(n.startswith("atomcheck/engine/_native/") and n.endswith(".c") for n in expected)
    missing = sorted(expected - names)
    assert not missing, f"not in the wheel: {missing}"
    strays = sorted(n for n in names if not n.startswith(("atomcheck/", "atomcheck-")))
    assert not strays, f"the wheel installs more than the package: {strays}"


#: The one allowed exception: the README shows the HTML report's screenshot, and the project
#: has no public address to make its link absolute yet (on an index it shows its alt text).
SCREENSHOT = "docs/images/report.png"

_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)|(?:src|href)\s*=\s*[\"']([^\"']+)")


def test_readme_has_no_repository_only_links(wheel: zipfile.ZipFile) -> None:
    """On a package index a relative link or image points nowhere: every target is absolute."""
    description = _metadata(wheel).get_payload()
    targets = [a or b for a, b in _LINK.findall(description)]
    relative = [t for t in targets if not re.match(r"(https?://|mailto:|#)", t)
                and t != SCREENSHOT]
    assert not relative, (f"README.md links to {relative}, which a package index cannot show; "
                          "use absolute URLs (or name the docs page in plain text)")
