"""Every docstring example in the library runs and says what it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import atomcheck

MODULES = sorted(
    name for _, name, _ in pkgutil.walk_packages(atomcheck.__path__, prefix="atomcheck.")
    if name != "atomcheck.plugin"  # hooks and fixtures are exercised through pytester
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
