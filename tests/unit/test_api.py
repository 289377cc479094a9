"""The public surface: one front door, and importing it never imports torch."""

from __future__ import annotations

import subprocess
import sys

import atomcheck


def test_all_lists_exactly_the_public_names() -> None:
    public = {n for n in vars(atomcheck) if not n.startswith("_")} | {"__version__"}
    modules = {n for n in public if type(getattr(atomcheck, n)).__name__ == "module"}
    assert set(atomcheck.__all__) == public - modules - {"annotations"}


def test_every_public_name_has_a_docstring() -> None:
    for name in atomcheck.__all__:
        obj = getattr(atomcheck, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name


def test_import_does_not_pull_in_torch() -> None:
    code = "import sys, atomcheck, atomcheck.plugin, atomcheck.data, atomcheck.models, " \
           "atomcheck.engine; " \
           "print('torch' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
