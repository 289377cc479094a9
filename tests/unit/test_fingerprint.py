"""Fingerprints change exactly when the code or data a result depends on changes."""

from __future__ import annotations

import functools
import importlib.util
import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest

from pathlib import Path

import atomcheck
from atomcheck.memo import Memo
from atomcheck.fingerprint import (
    ANALYSIS,
    Unfingerprintable,
    fingerprint,
    is_user_module,
    source_hash,
)


def _load(tmp_path, name: str, source: str):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


HELPER_CALLER = """
    import math

    SCALE = {scale}

    def helper(x):
        return x * SCALE

    def train(seed, lr):
        return {{"y": helper(lr) + math.sqrt(seed)}}
"""


def test_editing_a_helper_the_function_calls_changes_its_fingerprint(tmp_path):
    before = fingerprint(_load(tmp_path, "fp_mod_a", HELPER_CALLER.format(scale=2)).train)
    same = fingerprint(_load(tmp_path, "fp_mod_a", HELPER_CALLER.format(scale=2)).train)
    after = fingerprint(_load(tmp_path, "fp_mod_a", HELPER_CALLER.format(scale=3)).train)
    assert before == same
    assert before != after


def test_a_helper_in_another_user_module_is_followed(tmp_path):
    sys.path.insert(0, str(tmp_path))
    try:
        _load(tmp_path, "fp_helpers", "def f(x):\n    return x + 1\n")
        caller = _load(tmp_path, "fp_caller", """
            import fp_helpers

            def train(seed):
                return {"y": fp_helpers.f(seed)}
        """)
        first = fingerprint(caller.train)
        _load(tmp_path, "fp_helpers", "def f(x):\n    return x + 2\n")
        assert fingerprint(caller.train) != first
    finally:
        sys.path.remove(str(tmp_path))


def test_partial_closure_and_defaults_are_part_of_the_fingerprint():
    def train(seed, lr=0.1):
        return {"y": lr}

    assert fingerprint(functools.partial(train, lr=0.1)) != fingerprint(
        functools.partial(train, lr=0.2))

    def make(k):
        def inner(seed):
            return {"y": k}
        return inner

    assert fingerprint(make(1)) != fingerprint(make(2))
    assert fingerprint(make(1)) == fingerprint(make(1))


@dataclass(frozen=True)
class Spec:
    width: int
    lr: float


def test_data_by_value():
    assert fingerprint(Spec(8, 0.1)) == fingerprint(Spec(8, 0.1))
    assert fingerprint(Spec(8, 0.1)) != fingerprint(Spec(8, 0.2))
    a = np.arange(6.0)
    assert fingerprint(a) == fingerprint(a.copy())
    assert fingerprint(a) != fingerprint(a + 1e-12)
    assert fingerprint({"x": [1, 2]}) != fingerprint({"x": (1, 2)})
    assert fingerprint(float("nan")) == fingerprint(float("nan"))


def test_recursion_terminates():
    def fact(seed, n=3):
        return 1 if n <= 1 else n * fact(seed, n - 1)

    assert len(fingerprint(fact)) == 64


def test_library_code_is_named_not_read():
    assert fingerprint(np.mean) == fingerprint(np.mean)
    assert fingerprint(np.mean) != fingerprint(np.median)
    assert not is_user_module("numpy") and not is_user_module("atomcheck.sweep")
    assert is_user_module(__name__)


def test_an_object_without_a_reproducible_description_is_refused():
    class Opaque:
        __slots__ = ()

    with pytest.raises(Unfingerprintable, match="reproducible"):
        fingerprint(Opaque())


def test_an_object_may_say_what_identifies_it():
    class Runner:
        def __init__(self, lr):
            self.lr, self.seen = lr, []

        def __atomcheck_fingerprint__(self):
            return {"lr": self.lr}

    a, b = Runner(0.1), Runner(0.1)
    b.seen.append("trained")
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(Runner(0.2))


def test_a_memo_is_invisible_but_the_code_around_it_is_not():
    memo = Memo()

    def train(seed, _memo=memo):
        return _memo.setdefault(seed, seed + 1)

    def other(seed, _memo=memo):
        return _memo.setdefault(seed, seed + 2)

    before = fingerprint(train)
    train(1)
    assert memo and fingerprint(train) == before
    assert fingerprint(other) != before


def test_analysis_code_is_left_out_of_the_package_hash(tmp_path):
    package = Path(atomcheck.__file__).parent
    names = {p.name.removesuffix(".py") for p in package.iterdir()}
    assert ANALYSIS <= names, ANALYSIS - names  # every skipped name is a real module
    (tmp_path / "report").mkdir()
    (tmp_path / "engine.py").write_text("STEP = 1\n")
    (tmp_path / "report" / "html.py").write_text("TITLE = 'a'\n")
    before = source_hash(tmp_path)
    (tmp_path / "report" / "html.py").write_text("TITLE = 'b'\n")
    assert source_hash(tmp_path) == before
    (tmp_path / "engine.py").write_text("STEP = 2\n")
    assert source_hash(tmp_path) != before
