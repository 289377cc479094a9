"""The import contracts in pyproject.toml (``[tool.importlinter]``) hold.

They are STYLE.md §1's one-way layering (and the engine's own layers), "statistics import
no torch, sklearn or pytest" and "``import atomcheck`` loads no torch". Running them here
makes the README's test command (and CI) check them, not only ``tox -e lint``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _lint_imports() -> str | None:
    """The ``lint-imports`` next to this interpreter, else one on PATH."""
    here = Path(sys.executable).with_name("lint-imports")
    return str(here) if here.exists() else shutil.which("lint-imports")


def test_import_contracts_are_kept() -> None:
    exe = _lint_imports()
    assert exe is not None, "lint-imports is not installed: pip install -e '.[test]'"
    proc = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"lint-imports exited {proc.returncode}:\n{output}"
    assert "0 broken" in output, output
